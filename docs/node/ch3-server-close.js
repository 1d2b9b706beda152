// server.close(): no new connections, 'close' after the last one.
// node docs/node/ch3-server-close.js
const net = require('net');

const server = net.createServer((socket) => {
  socket.on('data', (data) => socket.write(data)); // echo
});
server.on('close', () => console.log('server: close'));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const open = net.connect(port, '127.0.0.1', () => open.write('ping'));
  open.once('data', () => {
    // The server has this connection: close the server.
    server.close();
    console.log('server.close() returned');
    const late = net.connect(port, '127.0.0.1');
    late.on('error', (err) => {
      console.log(`a new connection: ${err.code}`);
      open.write('still here');
      open.once('data', (data) => {
        console.log(`the open one: ${data}`);
        open.end(); // the last connection ends: now the server's 'close'
      });
    });
  });
});
