// The benchmark's Node UDP server (`bench udp --node`): not a program of the
// course, but doc A's UDP server (A3) with its bugs fixed, counting the
// datagrams instead of printing each one (printing would be the
// bottleneck); it prints `received N` every second. Chapter 4's corrected
// A3 is ch4-a3-udp-server.js.
// node docs/node/bench-udp-server.js [PORT]; PORT 0 picks a free port, and
// the server says on stderr where it listens.
const dgram = require('dgram');

const port = Number(process.argv[2] || 41234);
const server = dgram.createSocket('udp4');
let n = 0;
server.on('message', () => { n++; });
server.on('listening', () => {
  const a = server.address();
  console.log('server listening ' + a.address + ':' + a.port);
  console.error(`listening on ${a.address}:${a.port}`);
});
setInterval(() => console.log('received', n), 1000);
server.bind(port, '127.0.0.1');
