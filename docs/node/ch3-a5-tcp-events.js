// A5, doc A's two lists of events, made to happen: node docs/node/ch3-a5-tcp-events.js
const net = require('net');

const IDLE = 50;                            // ms of silence before 'timeout'
const BIG = Buffer.alloc(4 * 1024 * 1024, '.');

const server = net.createServer();
server.on('listening', () => {
  const { address, port } = server.address();
  console.log(`server: listening ${address}:${port}`);
  // The server's 'error': a second server on the same port.
  const second = net.createServer();
  second.on('error', (err) => {
    console.log(`server: error ${err.message}`);
    firstAct(port);
  });
  second.listen(port, '127.0.0.1');
});
server.on('connection', (socket) => {
  console.log(`server: connection from ${socket.remoteAddress}:${socket.remotePort}`);
  socket.write('hi');
  socket.on('data', (data) => {
    console.log(`socket: data ${data.length} bytes`);
    socket.setTimeout(IDLE);
  });
  socket.on('timeout', () => {
    console.log(`socket: timeout, nothing for ${IDLE} ms`);
    socket.setTimeout(0);
    // write() returns false: Node keeps what the kernel could not take yet.
    if (!socket.write(BIG)) {
      socket.once('drain', () => {
        console.log(`socket: drain, the kernel took all ${BIG.length} bytes`);
        socket.end();
      });
    } else {
      socket.end(); // the kernel took it all at once: no 'drain'
    }
  });
  socket.on('end', () => {
    console.log(`socket: end, ${socket.bytesRead} bytes read, ${socket.bytesWritten} written`);
  });
  socket.on('error', (err) => console.log(`socket: error ${err.message}`));
  socket.on('close', (hadError) => {
    console.log(`socket: close, had_error ${hadError}`);
    acts.shift()();
  });
});
server.on('close', () => console.log('server: close'));
server.listen(0, '127.0.0.1');

// The first client says hello, then keeps quiet until the server's timeout.
function firstAct(port) {
  const client = net.connect({ port, host: '127.0.0.1' }, () => {
    console.log('client: connect');
    client.write('hello!');
  });
  client.resume(); // read (and drop) everything the server sends
}

const acts = [
  // A connection's 'error': a client that resets the connection.
  () => {
    const peer = net.connect(server.address().port, '127.0.0.1');
    peer.once('data', () => peer.resetAndDestroy());
  },
  // server.close(): no new connections; 'close' when the last one is gone.
  () => server.close(),
];
