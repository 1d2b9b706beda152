// A client that resets its connection: the server's socket emits 'error'.
// node docs/node/ch3-error.js
const net = require('net');

const server = net.createServer((socket) => {
  socket.write('hello world：\n');
  // Without this listener, the 'error' below would end the whole process.
  socket.on('error', (err) => console.log(`socket: error ${err.message}`));
  socket.on('close', (hadError) => console.log(`socket: close, had_error ${hadError}`));
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const rude = net.connect(port, '127.0.0.1');
  rude.once('data', () => {
    rude.resetAndDestroy(); // RST instead of FIN
    const next = net.connect(port, '127.0.0.1');
    next.once('data', () => {
      console.log('the next client is greeted');
      next.end();
      server.close();
    });
  });
});
