// server.maxConnections: one more is closed at once, and 'drop' says so.
// node docs/node/ch3-max-connections.js
const net = require('net');

const server = net.createServer((socket) => socket.write('hi\n'));
server.maxConnections = 1;
server.on('drop', (data) => {
  console.log(`server: drop ${data.remoteAddress}:${data.remotePort}`);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const first = net.connect(port, '127.0.0.1');
  first.once('data', () => {
    // The server holds the first connection: a second one is over the limit.
    const second = net.connect(port, '127.0.0.1');
    second.on('end', () => {
      console.log('second: end');
      first.destroy();
      server.close();
    });
  });
});
