// Choosing the transport (src/core/transport-auto.js) under the real client:
// the switch to the stream after 2 WebSockets that never got subscribed
// (and not otherwise), the choice kept for the tab session, the probe back
// to the WebSocket, the overrides. Two fake transports play the WebSocket
// and the stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLivegate } from '../src/core/client.js';
import { HEARTBEAT_MS } from '../src/core/connection.js';
import { PROBE_FIRST_MS, PROBE_MAX_MS, PROBE_TIMEOUT_MS, autoTransport } from '../src/core/transport-auto.js';
import { fakeEnv, fakeTransport, token } from './fake.mjs';

const T0 = 1_700_000_000_000;
const KEY = 'livegate:transport wss://gate.example/lg/ws';

function fakeStorage() {
  const m = new Map();
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

function setup({ mode, storage = fakeStorage(), probeMs } = {}) {
  const env = fakeEnv({ start: T0 });
  env.sessionStorage = storage;
  const ws = fakeTransport();
  const stream = fakeTransport();
  // The stream sends no pings (livegate's ": ping" comments keep it alive).
  const quiet = (e) => (...a) => Object.assign(stream(e)(...a), { pings: false });
  const events = [];
  const refreshes = [];
  const lg = createLivegate({
    url: 'https://gate.example/lg/',
    token: token({ channels: ['todos'], iat: T0 / 1000, exp: T0 / 1000 + 3600 }),
    env,
    transport: (e) => autoTransport({ mode, ws, stream: quiet, probeMs, emit: (n, d) => events.push({ name: n, detail: d }) })(e),
    refresh: async (batch) => {
      refreshes.push(batch);
      return true;
    },
    emit: (name, detail) => events.push({ name, detail }),
    log: () => {},
  });
  const switches = () => events.filter((e) => e.name === 'transport').map((e) => e.detail);
  return { env, ws, stream, storage, lg, events, refreshes, switches };
}

// Waits out any backoff: the next connection is made.
const next = (t) => t.env.advance(60000);

// A tab session that streamed before: the client connects over the stream.
function streaming(opts = {}) {
  const storage = fakeStorage();
  storage.setItem(KEY, 'stream');
  const t = setup({ storage, ...opts });
  t.lg.connect();
  return t;
}

async function subscribe(t, c) {
  c.open();
  c.frame({ type: 'subscribed', channels: ['todos'] });
  await t.env.advance(0);
}

test('two WebSockets that never open: the third connection is a stream; the choice is kept for the tab session', async () => {
  const t = setup();
  t.lg.connect();
  t.ws.last().drop(1006);
  await next(t);
  assert.equal(t.stream.conns.length, 0, 'one failure is not enough');
  t.ws.last().drop(1006);
  await t.env.advance(0);
  assert.equal(t.ws.conns.length, 2);
  assert.equal(t.stream.conns.length, 1, 'the stream at once: no backoff wait');
  assert.match(t.events.filter((e) => e.name === 'disconnected').at(-1).detail.reason,
    /^switching to the stream: the websocket failed 2 times in a row \(last close 1006\)/);
  assert.deepEqual(t.switches(), [{ transport: 'stream', reason: 'websocket-failed' }]);
  assert.equal(t.storage.getItem(KEY), 'stream');
  await subscribe(t, t.stream.last());
  assert.equal(t.lg.connected, true);
});

test('two WebSockets closed after opening but before subscribed switch too', async () => {
  const t = setup();
  t.lg.connect();
  for (let i = 0; i < 2; i++) {
    t.ws.last().open();
    t.ws.last().drop(1006);
    await next(t);
  }
  assert.equal(t.stream.conns.length, 1);
});

test('no switch for a close after subscribed, nor for closes livegate sent (full, restarting)', async () => {
  const t = setup();
  t.lg.connect();
  await subscribe(t, t.ws.last());
  t.ws.last().drop(1006); // the network blinked
  await next(t);
  t.ws.last().drop(1006); // one failure to reopen
  await next(t);
  await subscribe(t, t.ws.last());
  t.ws.last().drop(1006);
  await next(t);
  for (const code of [1013, 1012, 1013]) {
    t.ws.last().open();
    t.ws.last().drop(code);
    await next(t);
  }
  t.ws.last().drop(1006);
  await next(t);
  assert.equal(t.stream.conns.length, 0);
  assert.deepEqual(t.switches(), []);
  t.ws.last().drop(1006); // the second in a row
  await next(t);
  assert.equal(t.stream.conns.length, 1);
});

test('a reload in the same tab session goes straight to the stream; another livegate URL does not', async () => {
  const t = streaming();
  assert.equal(t.ws.conns.length, 0);
  assert.equal(t.stream.conns.length, 1);
  assert.deepEqual(t.switches(), [{ transport: 'stream', reason: 'remembered' }]);

  const other = fakeStorage();
  other.setItem('livegate:transport wss://elsewhere.example/ws', 'stream');
  const u = setup({ storage: other });
  u.lg.connect();
  assert.equal(u.ws.conns.length, 1);
});

test('the probe: a WebSocket beside the stream takes over once subscribed, and only then is the stream closed', async () => {
  const t = streaming();
  const s = t.stream.last();
  await subscribe(t, s);
  await t.env.advance(PROBE_FIRST_MS - 1);
  assert.equal(t.ws.conns.length, 0);
  await t.env.advance(1);
  const p = t.ws.last();
  assert.ok(p, 'probed after PROBE_FIRST_MS');
  p.open();
  assert.deepEqual(p.subscribes(), [t.lg.token]);
  p.frame({ type: 'invalidate', channel: 'todos', data: 'on the probe' });
  s.frame({ type: 'invalidate', channel: 'todos', data: 'on the stream' });
  await t.env.advance(0);
  assert.deepEqual(t.refreshes.map((b) => b.message.data), ['on the stream'], 'the probe\'s frames are not the page\'s yet');
  assert.equal(s.closedByClient, false);
  p.frame({ type: 'subscribed', channels: ['todos'] });
  await t.env.advance(200);
  assert.equal(s.closedByClient, true, 'the stream goes once the WebSocket is subscribed');
  assert.deepEqual(t.switches().at(-1), { transport: 'websocket', reason: 'probe' });
  assert.equal(t.storage.getItem(KEY), null, 'the sticky choice is cleared');
  p.frame({ type: 'invalidate', channel: 'todos', data: 'on the websocket' });
  await t.env.advance(200);
  assert.equal(t.refreshes.at(-1).message.data, 'on the websocket');
  assert.equal(t.events.filter((e) => e.name === 'disconnected').length, 0, 'the page saw no gap');
  await t.env.advance(HEARTBEAT_MS);
  assert.ok(p.sent.some((m) => m.type === 'ping'), 'the heartbeat runs on the WebSocket');
  p.drop(1006); // and a later close is the connection's, on the WebSocket again
  await next(t);
  assert.equal(t.ws.conns.length, 2);
});

test('a failed probe leaves the stream alone and waits twice as long each time, up to PROBE_MAX_MS', async () => {
  const t = streaming();
  const s = t.stream.last();
  await subscribe(t, s);
  // From the subscription, then from each failure, to the next probe.
  const waits = [];
  for (let i = 0; i < 6; i++) {
    const before = t.ws.conns.length;
    const from = t.env.now();
    while (t.ws.conns.length === before) await t.env.advance(1000);
    waits.push(t.env.now() - from);
    const p = t.ws.last();
    if (i % 2) {
      p.drop(1006); // refused
    } else {
      p.open(); // opens but is never subscribed
      await t.env.advance(PROBE_TIMEOUT_MS);
      assert.equal(p.closedByClient, true, 'a probe not subscribed within PROBE_TIMEOUT_MS is dropped');
    }
  }
  assert.deepEqual(waits, [1, 2, 4, 8, 10, 10].map((m) => Math.min(PROBE_FIRST_MS * m, PROBE_MAX_MS)));
  assert.equal(s.closedByClient, false);
  assert.equal(t.stream.conns.length, 1);
  assert.deepEqual(t.switches(), [{ transport: 'stream', reason: 'remembered' }]);
});

test('two streams that fail in a row go back to the WebSocket', async () => {
  const t = streaming();
  t.stream.last().drop(1006);
  await next(t);
  t.stream.last().drop(1006);
  await next(t);
  assert.equal(t.ws.conns.length, 1);
  assert.deepEqual(t.switches().at(-1), { transport: 'websocket', reason: 'stream-failed' });
  assert.equal(t.storage.getItem(KEY), null);
});

test('transport "websocket" never streams; "stream" never tries a WebSocket, nor probes one', async () => {
  const t = setup({ mode: 'websocket' });
  t.lg.connect();
  for (let i = 0; i < 5; i++) {
    t.ws.last().drop(1006);
    await next(t);
  }
  assert.equal(t.stream.conns.length, 0);

  const u = setup({ mode: 'stream' });
  u.lg.connect();
  await subscribe(u, u.stream.last());
  await u.env.advance(PROBE_MAX_MS * 2);
  assert.equal(u.ws.conns.length, 0);
  assert.equal(u.storage.getItem(KEY), null);
});

test('probeInterval sets the first probe\'s wait', async () => {
  const t = streaming({ probeMs: 2000 });
  await subscribe(t, t.stream.last());
  await t.env.advance(2000);
  assert.equal(t.ws.conns.length, 1);
});
