// Exercise 3 in Node: a connected udp4 socket, and nobody on its port:
// node docs/node/ch4-connected-udp.js
const dgram = require('dgram');

const client = dgram.createSocket('udp4');
// Without this listener the 'error' below ends the process.
client.on('error', (err) => {
  console.log(`'error': ${err.message}`);
  client.close();
});
// A port where nothing listens: bind a socket to any port, then close it.
const probe = dgram.createSocket('udp4');
probe.bind(0, '127.0.0.1', () => {
  const { port } = probe.address();
  probe.close(() => {
    client.connect(port, '127.0.0.1', () => {
      client.send('hello', (err) => console.log(`send callback: ${err}`));
    });
  });
});
