// Two sockets, one connection: node docs/node/ch1-two-sockets.js
const net = require('net');

const server = net.createServer((socket) => {
  // The server's end of the connection.
  console.log(`server end: ${socket.localAddress}:${socket.localPort}` +
              ` <- ${socket.remoteAddress}:${socket.remotePort}`);
  socket.end('hello');
});
// Port 0 asks the kernel for any free port.
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1', () => {
    console.log(`client end: ${client.localAddress}:${client.localPort}` +
                ` -> ${client.remoteAddress}:${client.remotePort}`);
  });
  client.on('data', (data) => console.log(`client got: ${data}`));
  client.on('close', () => server.close());
});
