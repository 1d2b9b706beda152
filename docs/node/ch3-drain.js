// A peer that does not read: write() returns false, 'drain' never comes.
// node docs/node/ch3-drain.js
const net = require('net');

const server = net.createServer((socket) => {
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  // Write until Node says "stop": write() returns false once its buffer holds
  // more than highWaterMark (16 KiB) that the kernel has not taken.
  while (socket.write(chunk)) written += chunk.length;
  console.log(`write returned false after ${written} bytes`);
  socket.once('drain', () => console.log('drain'));
  setTimeout(() => {
    console.log(`after 1 s: ${socket.writableLength} bytes wait in Node's buffer, no drain`);
    process.exit(0);
  }, 1000);
});
server.listen(0, '127.0.0.1', () => {
  net.connect(server.address().port, '127.0.0.1').pause(); // never reads
});
