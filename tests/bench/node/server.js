'use strict';
// Reference fan-out server for the livegate benchmark: what a Node.js team
// would write with `ws` and `ioredis`. Every WebSocket client (any path) is
// subscribed to one Redis channel; each Redis message is wrapped once into
// the same frame body livegate sends and written to every client.
//
// usage: node server.js PORT REDIS_PORT CHANNEL
const http = require('http');
const { WebSocketServer } = require('ws');
const Redis = require('ioredis');

const [port, redisPort, channel] = process.argv.slice(2);
if (!port || !redisPort || !channel) {
  console.error('usage: node server.js PORT REDIS_PORT CHANNEL');
  process.exit(2);
}

const clients = new Set();
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  clients.add(ws);
  ws.on('close', () => clients.delete(ws));
  ws.on('error', () => clients.delete(ws));
});

const sub = new Redis({ port: Number(redisPort), host: '127.0.0.1', lazyConnect: false });
sub.subscribe(channel).catch((e) => { console.error('subscribe failed', e); process.exit(1); });
sub.on('message', (ch, msg) => {
  // One Buffer per message, shared by every send: no per-client formatting.
  const frame = Buffer.from(`{"type":"invalidate","channel":${JSON.stringify(ch)},"data":${msg}}`);
  for (const ws of clients) ws.send(frame, { binary: false });
});

server.listen({ port: Number(port), host: '127.0.0.1', backlog: 65535 });
process.on('SIGTERM', () => process.exit(0));
