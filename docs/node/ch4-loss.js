// No delivery promise: 1,000 datagrams at once: node docs/node/ch4-loss.js
const dgram = require('dgram');

const server = dgram.createSocket('udp4');
let received = 0;
server.on('message', () => { received += 1; });
server.bind(0, '127.0.0.1', () => {
  const client = dgram.createSocket('udp4');
  const datagram = Buffer.alloc(1000);
  let sent = 0;
  for (let i = 0; i < 1000; i++) {
    client.send(datagram, server.address().port, '127.0.0.1', (err) => {
      if (!err) sent += 1;
    });
  }
  setTimeout(() => {
    console.log(`sent ${sent}, received ${received}`);
    client.close();
    server.close();
  }, 500);
});
