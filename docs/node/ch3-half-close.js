// Half-close: the client ends its side, the server still answers.
// node docs/node/ch3-half-close.js
const net = require('net');

const server = net.createServer((socket) => {
  let request = 0;
  socket.on('data', (data) => { request += data.length; });
  // 'end': the request is complete; our side is still open.
  socket.on('end', () => socket.write(`got ${request} bytes;`));
  // Then Node ends our side too (allowHalfOpen is false).
});
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1');
  client.end('request'); // the request, then our FIN
  let reply = '';
  client.on('data', (data) => { reply += data; });
  client.on('end', () => {
    console.log(JSON.stringify(reply));
    server.close();
  });
});
