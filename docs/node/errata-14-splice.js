// Errata 14: splice(-1, 1) removes the last element: node docs/node/errata-14-splice.js
const sockets = ['alice', 'bob', 'carol'];
sockets.splice(sockets.indexOf('dave'), 1);
console.log(sockets);
