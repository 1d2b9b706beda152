// A4, doc A's UDP client, corrected: node docs/node/ch4-a4-udp-client.js [PORT]
const dgram = require('dgram');

// Not in the snippet: the server's port may be given, as the examples' --port.
const port = Number(process.argv[2] || 41234);

const message = Buffer.from('hello world');
const client = dgram.createSocket('udp4');
client.send(message, 0, message.length, port, 'localhost', (err, bytes) => {
  if (err) throw err;
  console.log(`sent ${bytes} bytes to localhost:${port}`);
  client.close();
});
