// B1, doc B's server.js, corrected: node docs/node/ch2-b1-net-server.js [PORT]
const net = require('net');

// Not in the snippet: the port may be given, as the examples' --port
// (0: any free port), and the server says on stderr where it listens.
const port = Number(process.argv[2] || 8080);

const server = net.createServer((socket) => {
  console.log('客户端链接');
  socket.on('data', (data) => {
    console.log('监听客户端的数据: ', data.toString());
  });
  socket.on('end', () => {
    console.log('客户端断开链接');
  });
  socket.on('error', (err) => {});
  socket.write('哈哈哈我是一个测试');
});
server.listen(port, '127.0.0.1', () => {
  console.log('服务创建');
  console.error(`listening on 127.0.0.1:${server.address().port}`);
});
