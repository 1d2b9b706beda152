// A2, doc A's TCP client, corrected: node docs/node/ch2-a2-tcp-client.js [PORT]
const net = require('net');

// Not in the snippet: the server's port may be given, as the examples' --port.
const port = Number(process.argv[2] || 8124);

const client = net.connect({ port, host: '127.0.0.1' }, () => {
  // 'connect'
  console.log('client connected');
  client.write('world!\r\n');
});
client.on('data', (data) => {
  console.log(data.toString());
  client.end();
});
client.on('end', () => {
  console.log('client disconnected');
});
