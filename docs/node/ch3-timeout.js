// 'timeout': end a connection that stays silent for 100 ms.
// node docs/node/ch3-timeout.js
const net = require('net');

const server = net.createServer((socket) => {
  socket.setTimeout(100);
  socket.on('timeout', () => {
    console.log('server: timeout');
    socket.end('bye: idle\n');
  });
});
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1');
  client.on('data', (data) => process.stdout.write(`client: ${data}`));
  client.on('end', () => {
    console.log('client: end');
    server.close();
  });
});
