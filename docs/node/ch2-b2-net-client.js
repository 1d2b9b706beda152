// B2, doc B's client.js, corrected: node docs/node/ch2-b2-net-client.js [PORT]
const net = require('net');

// Not in the snippet: the server's port may be given, as the examples' --port.
const port = Number(process.argv[2] || 8080);

const client = net.connect({ port, host: '127.0.0.1' }, () => {
  console.log('连接服务器');
  client.write('http://xingxin.me \r\n');
});
client.on('data', (data) => {
  console.log('接收服务端的数据: ', data.toString());
  client.end();
});
client.on('end', () => {
  console.log('断开连接');
});
