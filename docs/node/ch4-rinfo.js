// rinfo: who sent a datagram, and where the answer goes: node docs/node/ch4-rinfo.js
const dgram = require('dgram');

const server = dgram.createSocket('udp4');
server.on('message', (msg, rinfo) => {
  console.log('server: rinfo', rinfo);
  // The answer goes back to the sender's port and address.
  server.send(`got ${rinfo.size} bytes`, rinfo.port, rinfo.address);
});
server.bind(0, '127.0.0.1', () => {
  // One socket that sends, then receives: a client and a server at once.
  const client = dgram.createSocket('udp4');
  client.on('message', (msg, rinfo) => {
    console.log(`client: ${msg}, from port ${rinfo.port}`);
    client.close();
    server.close();
  });
  client.send('hello world', server.address().port, '127.0.0.1');
});
