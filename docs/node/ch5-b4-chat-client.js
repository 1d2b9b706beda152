// B4, doc B's chat client, corrected: node docs/node/ch5-b4-chat-client.js [PORT]
const net = require('net');
const readline = require('readline');

// Not in the snippet: the server's port may be given, as the examples' --port.
const port = Number(process.argv[2] || 8080);

const client = net.connect({ port, host: '127.0.0.1' }, () => {
  console.log('input:');
  // Start reading stdin only now, so that nothing typed earlier is lost.
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    console.log('input：');
    client.write(`${line}\n`);
    if (line.trim() === 'close') input.close();
  });
  // After `close`, or at the end of stdin (Ctrl-D): our FIN.
  input.on('close', () => client.end());
});
client.setEncoding('utf8');
let partial = '';
client.on('data', (data) => {
  const lines = (partial + data).split('\n');
  partial = lines.pop(); // the unfinished last line, or ''
  for (const line of lines) {
    console.log("Other user's input", line.replace(/\r$/, ''));
  }
});
client.on('end', () => {
  console.log('Disconnected from server');
  process.exit();
});
