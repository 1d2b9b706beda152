// A client that never reads, in a Node room: node docs/node/ch5-stuck.js
const net = require('net');

const sockets = [];
const server = net.createServer((socket) => {
  sockets.push(socket);
  socket.on('data', (data) => {
    for (const other of sockets) {
      if (other !== socket) other.write(data);
    }
  });
  socket.on('error', (err) => {});
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const stuck = net.connect(port, '127.0.0.1');
  stuck.pause(); // connected, and never reads
  const talker = net.connect(port, '127.0.0.1', () => {
    const line = Buffer.from(`${'x'.repeat(999)}\n`);
    let sent = 0;
    const send = () => {
      for (let i = 0; i < 10000; i++) talker.write(line);
      sent += 10000 * line.length;
      if (sent < 100e6) setImmediate(send);
      else talker.end(() => setTimeout(report, 500));
    };
    send();
  });
  const report = () => {
    // sockets[0] is the stuck client's connection on the server.
    console.log(`100 MB sent; Node holds ${sockets[0].writableLength} bytes for the stuck client`);
    process.exit(0);
  };
});
