// The largest IPv4 datagram, and one byte more: node docs/node/ch4-size.js
const dgram = require('dgram');

const server = dgram.createSocket('udp4');
server.on('message', (msg) => {
  console.log(`server: got ${msg.length} bytes`);
  server.close();
});
server.bind(0, '127.0.0.1', () => {
  const { port } = server.address();
  const client = dgram.createSocket('udp4');
  client.send(Buffer.alloc(65507), port, '127.0.0.1', (err, bytes) => {
    console.log(`65,507: ${err ? err.message : `sent ${bytes} bytes`}`);
    client.send(Buffer.alloc(65508), port, '127.0.0.1', (err, bytes) => {
      console.log(`65,508: ${err ? err.message : `sent ${bytes} bytes`}`);
      client.close();
    });
  });
});
