// The benchmark's Node chat server (`bench chat --node`, `bench conns --node`):
// not a program of the course, but doc B's chat server (B3) with its bugs
// fixed and nothing else changed, so that it relays raw chunks as the
// document does, and prints nothing per connection. Chapter 5's corrected
// B3 (ch5-b3-chat-server.js) relays whole lines instead.
// node docs/node/bench-chat-server.js [PORT]; PORT 0 picks a free port, and
// the server says on stderr where it listens.
const net = require('net');

const port = Number(process.argv[2] || 8080);
const sockets = [];
const server = net.createServer((socket) => {
  sockets.push(socket);
  socket.on('data', (data) => {
    for (const other of sockets) if (other !== socket) other.write(data);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    const i = sockets.indexOf(socket);
    if (i >= 0) sockets.splice(i, 1);
  });
});
server.on('error', (err) => console.log('Server error :', err.message));
server.listen(port, '127.0.0.1', () => {
  console.error(`listening on 127.0.0.1:${server.address().port}`);
});
