// Three sends, three 'message' events: node docs/node/ch4-boundaries.js
const dgram = require('dgram');

const server = dgram.createSocket('udp4');
let count = 0;
server.on('message', (msg, rinfo) => {
  count += 1;
  console.log(`'message' ${count}: ${msg} (${rinfo.size} bytes)`);
  if (count === 3) server.close();
});
server.bind(0, '127.0.0.1', () => {
  const { port } = server.address();
  const client = dgram.createSocket('udp4');
  client.send('one', port, '127.0.0.1');
  client.send('two', port, '127.0.0.1');
  client.send('three', port, '127.0.0.1', () => client.close());
});
