// One connection per browser (src/core/transport-tabs.js): tabs of a fake
// browser (Web Locks, BroadcastChannel) on one manual clock, each a real
// client core; the fake transport plays livegate and counts connections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLivegate } from '../src/core/client.js';
import { HELLO_TIMEOUT_MS, tabsTransport } from '../src/core/transport-tabs.js';
import { fakeBrowser, fakeEnv, fakeTransport, settle, tabEnv, token } from './fake.mjs';

const T0 = 1_700_000_000_000;
const tok = (channels, iat = T0) => token({ channels, iat: iat / 1000, exp: Math.floor(iat / 1000) + 3600 });

function browser() {
  const base = fakeEnv({ start: T0 });
  const b = fakeBrowser();
  const ws = fakeTransport(); // every real connection, whichever tab made it
  const tabs = [];
  function open(name, channels = ['todos']) {
    const env = tabEnv(base, b, name);
    const t = { name, env, events: [], refreshes: [], errors: [] };
    t.lg = createLivegate({
      url: 'https://gate.example/',
      token: tok(channels),
      env,
      transport: tabsTransport(ws),
      refresh: async (batch) => {
        t.refreshes.push({ ...batch, at: env.now() });
        return true;
      },
      emit: (n, d) => t.events.push({ name: n, detail: d, at: env.now() }),
      log: (d) => t.errors.push(d),
    });
    t.lg.connect();
    tabs.push(t);
    return t;
  }
  return { base, b, ws, tabs, open };
}

// Lets messages, locks and timers due now run.
const tick = (x) => x.base.advance(0);

// livegate accepts the newest real connection and confirms its subscription.
async function serve(x, channels = ['todos']) {
  const c = x.ws.last();
  c.open();
  await tick(x);
  c.frame({ type: 'subscribed', channels });
  await tick(x);
  return c;
}

const count = (t, name) => t.events.filter((e) => e.name === name).length;

test('five tabs of one page: one connection; each is live and refreshes once per invalidation', async () => {
  const x = browser();
  for (let i = 0; i < 5; i++) x.open('tab' + i);
  await tick(x);
  assert.equal(x.ws.conns.length, 1, 'the first tab leads and connects; the others follow');
  const c = await serve(x);
  for (const t of x.tabs) assert.equal(count(t, 'connected'), 1, t.name);
  c.frame({ type: 'invalidate', channel: 'todos', data: { id: 1 } });
  await tick(x);
  for (const t of x.tabs) {
    assert.equal(t.refreshes.length, 1, t.name);
    assert.deepEqual(t.refreshes[0].message.data, { id: 1 });
  }
  assert.deepEqual(c.sent.filter((m) => m.type === 'subscribe').length, 1, 'one subscription');
  await x.base.advance(30000);
  assert.ok(c.sent.some((m) => m.type === 'ping'), 'the leader keeps the heartbeat');
});

test('a tab that opens after the leader subscribed is live at once', async () => {
  const x = browser();
  x.open('a');
  await tick(x);
  await serve(x);
  const b = x.open('b');
  await tick(x);
  assert.equal(x.ws.conns.length, 1);
  assert.equal(count(b, 'connected'), 1);
});

test('tabs following other channels have their own connection', async () => {
  const x = browser();
  x.open('a', ['todos']);
  x.open('b', ['room:1']);
  x.open('c', ['todos']);
  await tick(x);
  assert.equal(x.ws.conns.length, 2);
});

for (const how of ['closes (pagehide)', 'crashes', 'stops (disconnect())']) {
  test(`the leader ${how} mid-burst: another tab connects, every tab refreshes after it and stays live`, async () => {
    const x = browser();
    const [a, b, c] = [x.open('a'), x.open('b'), x.open('c')];
    await tick(x);
    const first = await serve(x);
    first.frame({ type: 'invalidate', channel: 'todos', data: 1 });
    await x.base.advance(20);
    first.frame({ type: 'invalidate', channel: 'todos', data: 2 }); // its refresh is due at the window's end
    await x.base.advance(20);
    if (how.startsWith('closes')) a.env.pageHide();
    else if (how.startsWith('crashes')) x.b.crash('a');
    else a.lg.disconnect();
    await x.base.advance(20);
    assert.equal(x.ws.conns.length, 2, 'one tab took over and connected');
    if (!how.startsWith('crashes')) assert.equal(first.closedByClient, true, 'the old connection is closed');
    const second = await serve(x);
    await x.base.advance(1000);
    for (const t of [b, c]) {
      const back = t.events.filter((e) => e.name === 'connected');
      assert.equal(back.length, 2, t.name);
      assert.equal(back[1].detail.reconnect, true);
      assert.ok(t.refreshes.some((r) => r.at >= back[1].at), `${t.name} refreshed after the new subscription`);
      assert.ok(t.refreshes.at(-1).messages.some((m) => m.data === 2), `${t.name}: the burst's last is answered`);
    }
    const before = b.refreshes.length + c.refreshes.length;
    second.frame({ type: 'invalidate', channel: 'todos', data: 3 });
    await x.base.advance(1000);
    assert.equal(b.refreshes.length + c.refreshes.length, before + 2, 'both still follow');
    assert.equal(x.ws.conns.length, 2);
  });
}

test('the leader\'s connection drops: followers see the gap and refresh once it is back', async () => {
  const x = browser();
  const [, b] = [x.open('a'), x.open('b')];
  await tick(x);
  const c1 = await serve(x);
  c1.drop(1006);
  await tick(x);
  assert.equal(b.events.at(-1).name, 'disconnected');
  await x.base.advance(1000); // the leader's backoff
  assert.equal(x.ws.conns.length, 2, 'the leader reconnects; the follower does not');
  await serve(x);
  await x.base.advance(200);
  assert.equal(count(b, 'connected'), 2);
  assert.equal(b.refreshes.length, 1);
  assert.equal(b.refreshes[0].message.reason, 'reconnect');
});

test('a degraded leader: followers hear livegate\'s status too', async () => {
  const x = browser();
  const [, b] = [x.open('a'), x.open('b')];
  await tick(x);
  const c = await serve(x);
  c.frame({ type: 'status', redis: 'down' });
  await x.base.advance(5000);
  assert.equal(count(b, 'degraded'), 1);
  c.frame({ type: 'status', redis: 'up' });
  await tick(x);
  assert.equal(count(b, 'restored'), 1);
});

test('a leader whose page follows other channels keeps its connection when it leads them too', async () => {
  const x = browser();
  const a = x.open('a');
  await tick(x);
  const c = await serve(x);
  a.lg.setToken(tok(['todos', 'room:2'], T0 + 1));
  await tick(x);
  assert.equal(x.ws.conns.length, 1, 'the same connection');
  assert.equal(c.sent.filter((m) => m.type === 'subscribe').length, 2, 're-subscribed on it');
  assert.equal(count(a, 'connected'), 1);
  const b = x.open('b', ['todos', 'room:2']);
  await tick(x);
  c.frame({ type: 'subscribed', channels: ['todos', 'room:2'] });
  await tick(x);
  assert.equal(x.ws.conns.length, 1, 'a tab of the new channels follows it');
  c.frame({ type: 'invalidate', channel: 'room:2', data: null });
  await tick(x);
  assert.equal(b.refreshes.length, 1);
});

test('a follower whose page follows other channels joins their group', async () => {
  const x = browser();
  const [, b] = [x.open('a'), x.open('b')];
  await tick(x);
  await serve(x);
  b.lg.setToken(tok(['room:3'], T0 + 1));
  await tick(x);
  assert.equal(x.ws.conns.length, 2, 'b leads room:3 and connects');
  const c = await serve(x, ['room:3']);
  assert.equal(c.subscribes()[0], b.lg.token);
  c.frame({ type: 'invalidate', channel: 'room:3', data: null });
  await tick(x);
  assert.equal(b.refreshes.length, 1, 'b follows room:3');
  assert.equal(x.tabs[0].refreshes.length, 0, 'a does not');
});

test('a lock holder that does not answer: the tab connects by itself', async () => {
  const x = browser();
  const view = x.b.tab('zombie');
  let name = '';
  await new Promise((resolve) => {
    view.locks.request('livegate-tabs/1 wss://gate.example/ws todos', { ifAvailable: true }, (lock) => {
      name = lock.name;
      resolve();
      return new Promise(() => {}); // held forever, never answers hello
    });
  });
  assert.ok(name);
  x.open('a');
  await tick(x);
  assert.equal(x.ws.conns.length, 0);
  await x.base.advance(HELLO_TIMEOUT_MS);
  assert.equal(x.ws.conns.length, 1);
  await serve(x);
  assert.equal(count(x.tabs[0], 'connected'), 1);
});

test('without Web Locks every tab connects by itself, as before', async () => {
  const base = fakeEnv({ start: T0 });
  const ws = fakeTransport();
  for (let i = 0; i < 3; i++) {
    createLivegate({ url: 'https://gate.example/', token: tok(['todos']), env: base, transport: tabsTransport(ws),
      refresh: () => true, log: () => {} }).connect();
  }
  await settle();
  assert.equal(ws.conns.length, 3);
});

test('a follower\'s health is the leader\'s connection: not reachable, then Redis down for a tab that joins late', async () => {
  const x = browser();
  const [a, b] = [x.open('a'), x.open('b')];
  await tick(x);
  x.ws.last().drop(1006); // the leader cannot reach livegate
  await x.base.advance(4000);
  assert.equal(b.events.find((e) => e.name === 'degraded').detail.reason, 'connection');
  const c = x.ws.last(); // the leader's next try opens, but Redis is down: no subscription
  c.open();
  await tick(x);
  c.frame({ type: 'status', redis: 'down' });
  const late = x.open('c');
  await x.base.advance(4000);
  assert.equal(late.events.find((e) => e.name === 'degraded').detail.reason, 'redis');
  c.frame({ type: 'subscribed', channels: ['todos'] });
  await tick(x);
  for (const t of [a, b, late]) assert.equal(count(t, 'restored'), 1, t.name);
});
