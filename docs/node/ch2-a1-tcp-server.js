// A1, doc A's TCP server, corrected: node docs/node/ch2-a1-tcp-server.js [PORT]
const net = require('net');

// Not in the snippet: the port may be given, as the examples' --port
// (0: any free port), and the server says on stderr where it listens.
const port = Number(process.argv[2] || 8124);

const server = net.createServer();
server.on('connection', (socket) => {
  socket.on('data', (data) => {
    socket.write('你好');
  });
  socket.on('end', () => {
    console.log('连接断开');
  });
  // Without this listener a client's reset (ECONNRESET) kills the server.
  socket.on('error', (err) => {});
  socket.write('hello world：\n');
});
server.listen(port, '127.0.0.1', () => {
  console.log('server bound');
  console.error(`listening on 127.0.0.1:${server.address().port}`);
});
