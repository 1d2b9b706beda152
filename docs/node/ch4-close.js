// close() returns at once, and 'close' follows: node docs/node/ch4-close.js
const dgram = require('dgram');

const server = dgram.createSocket('udp4');
server.on('close', () => console.log("'close'"));
server.bind(0, '127.0.0.1', () => {
  server.close();
  console.log('close() returned');
});
