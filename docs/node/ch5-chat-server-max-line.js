// B3, corrected, with a limit on the length of a line (chapter 5, the
// endless line): node docs/node/ch5-chat-server-max-line.js [PORT]
const net = require('net');

const MAX_LINE = 64 * 1024;

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
  let cutOff = false;
  socket.on('data', (data) => {
    if (cutOff) return; // after the error: read, and thrown away
    partial = Buffer.concat([partial, data]);
    const end = partial.lastIndexOf('\n') + 1;
    const lines = partial.subarray(0, end);
    partial = partial.subarray(end);
    if (lines.length > 0) {
      for (const other of sockets) {
        if (other !== socket) other.write(lines);
      }
    }
    // The unfinished line is too long: tell, end, and drain.
    if (partial.length > MAX_LINE) {
      cutOff = true;
      partial = Buffer.alloc(0);
      const index = sockets.indexOf(socket);
      if (index !== -1) sockets.splice(index, 1);
      socket.end(`error: line longer than ${MAX_LINE} bytes\n`);
      // A bound on the drain: after 5 s, reset whatever is still coming.
      setTimeout(() => socket.destroy(), 5000).unref();
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
