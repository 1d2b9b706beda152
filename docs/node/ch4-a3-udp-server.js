// A3, doc A's UDP server, corrected: node docs/node/ch4-a3-udp-server.js [PORT]
const dgram = require('dgram');

// Not in the snippet: the port may be given, as the examples' --port
// (0: any free port), and the server says on stderr where it listens.
const port = Number(process.argv[2] || 41234);

const server = dgram.createSocket('udp4');
server.on('message', (msg, rinfo) => {
  console.log(`server got: ${msg} from ${rinfo.address}:${rinfo.port}`);
});
server.on('listening', () => {
  const address = server.address();
  console.log(`server listening ${address.address}:${address.port}`);
  console.error(`listening on ${address.address}:${address.port}`);
});
server.bind(port, '127.0.0.1');
