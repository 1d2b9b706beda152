// A cap per address: Node has none, so the 'connection' listener counts.
// node docs/node/ch3-per-address.js
const net = require('net');

const MAX_PER_ADDRESS = 2;
const open = new Map(); // address -> connections open now

const server = net.createServer((socket) => {
  const address = socket.remoteAddress;
  const held = open.get(address) ?? 0;
  if (held >= MAX_PER_ADDRESS) {
    console.log(`server: drop ${address}:${socket.remotePort} (too many connections from this address)`);
    socket.destroy();
    return;
  }
  open.set(address, held + 1);
  socket.on('close', () => {
    const left = open.get(address) - 1;
    if (left === 0) open.delete(address); else open.set(address, left);
  });
  socket.write('hi\n');
});
server.maxConnections = 8;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const clients = [];
  const connectOne = () => {
    const client = net.connect(port, '127.0.0.1');
    clients.push(client);
    return client;
  };
  // Two from 127.0.0.1 are served...
  connectOne().once('data', () => {
    connectOne().once('data', () => {
      // ...the third is not, though six seats are free.
      connectOne().on('end', () => {
        console.log('third: end');
        clients.forEach((client) => client.destroy());
        server.close();
      });
    });
  });
});
