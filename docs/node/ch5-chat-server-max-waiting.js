// B3, corrected, with a bound on what Node keeps for a client that does not
// read (chapter 5, the reader that never reads):
// node docs/node/ch5-chat-server-max-waiting.js [PORT]
const net = require('net');

const MAX_WAITING = 1024 * 1024; // what Node may keep for one client

// Not in the snippet: the port may be given, as the examples' --port
// (0: any free port), and the server says on stderr where it listens.
const port = Number(process.argv[2] || 8080);

const server = net.createServer();
const sockets = [];
server.on('connection', (socket) => {
  console.log('Got a new connection');
  sockets.push(socket);
  // The start of a line whose '\n' has not arrived yet.
  let partial = Buffer.alloc(0);
  socket.on('data', (data) => {
    partial = Buffer.concat([partial, data]);
    const end = partial.lastIndexOf('\n') + 1; // just past the last '\n'
    if (end === 0) return; // no complete line yet
    const lines = partial.subarray(0, end);
    partial = partial.subarray(end);
    // Every complete line of this chunk, to every other client, in one write.
    for (const other of sockets) {
      if (other === socket) continue;
      other.write(lines);
      // A client this far behind is not reading: drop it.
      if (other.writableLength > MAX_WAITING) other.destroy();
    }
  });
  socket.on('error', (err) => {});
  socket.on('close', () => {
    console.log('A client connection closed');
    const index = sockets.indexOf(socket);
    if (index !== -1) sockets.splice(index, 1);
  });
});
server.on('error', (err) => {
  console.log('Server error :', err.message);
});
server.on('close', () => {
  console.log('Server closed');
});
server.listen(port, '127.0.0.1', () => {
  console.error(`listening on 127.0.0.1:${server.address().port}`);
});
