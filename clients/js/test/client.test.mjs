// The client core (src/core/client.js, connection.js): subscribe, dispatch,
// reconnect, heartbeat, token renewal, following a new token. A fake
// transport plays livegate; the clock is manual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RENEW_GRACE_MS, createLivegate } from '../src/core/client.js';
import { HEARTBEAT_MS, PONG_MS } from '../src/core/connection.js';
import { fakeEnv, fakeTransport, token } from './fake.mjs';

const T0 = 1_700_000_000_000;
const tok = (channels, { iat = T0, ttl = 3600 } = {}) =>
  token({ channels, iat: iat / 1000, exp: Math.floor(iat / 1000) + ttl });

// A client with recorders. refresh() runs `onRefresh` (may give a token).
function setup({ channels = ['todos'], hidden = false, onRefresh, dispatch, ttl } = {}) {
  const env = fakeEnv({ hidden, start: T0 });
  const transport = fakeTransport();
  const events = [];
  const errors = [];
  const refreshes = [];
  const dispatched = [];
  const lg = createLivegate({
    url: 'https://gate.example/lg/',
    token: tok(channels, { ttl }),
    env,
    transport,
    refresh: async (batch) => {
      refreshes.push(batch);
      return onRefresh ? onRefresh(batch, lg, env) : true;
    },
    dispatch: (m) => {
      dispatched.push(m);
      return dispatch ? dispatch(m) : true;
    },
    emit: (name, detail) => events.push({ name, detail }),
    log: (d) => errors.push(d),
  });
  return { env, transport, events, errors, refreshes, dispatched, lg };
}

// Opens the newest connection and answers its subscribe.
async function accept(t, env, channels = ['todos']) {
  const c = t.transport.last();
  c.open();
  c.frame({ type: 'subscribed', channels });
  await env.advance(0);
  return c;
}

test('connects to <base>/ws, subscribes with the token, reports connected', async () => {
  const t = setup();
  t.lg.connect();
  const c = t.transport.last();
  assert.equal(c.ep.ws, 'wss://gate.example/lg/ws');
  assert.equal(c.ep.stream, 'https://gate.example/lg/sse');
  c.open();
  assert.deepEqual(c.subscribes(), [t.lg.token]);
  c.frame({ type: 'subscribed', channels: ['todos'] });
  assert.deepEqual(t.events.map((e) => e.name), ['connected']);
  assert.deepEqual(t.events[0].detail, { channels: ['todos'], reconnect: false });
  assert.equal(t.lg.connected, true);
});

test('an invalidation is dispatched, then refreshed once per burst; a refused dispatch refreshes nothing', async () => {
  let take = true;
  const t = setup({ dispatch: () => take });
  t.lg.connect();
  const c = await accept(t, t.env);
  for (let i = 0; i < 20; i++) c.frame({ type: 'invalidate', channel: 'todos', data: i });
  await t.env.advance(150);
  assert.equal(t.dispatched.length, 20, 'every frame is offered to the page');
  assert.equal(t.refreshes.length, 1);
  take = false;
  c.frame({ type: 'invalidate', channel: 'todos', data: 'handled' });
  await t.env.advance(1000);
  assert.equal(t.refreshes.length, 1, 'a handler took it over');
});

test('a frame\'s spread hint delays the refresh by random() * spread', async () => {
  const t = setup();
  t.lg.connect();
  const c = await accept(t, t.env);
  t.env.rand = 1;
  c.frame({ type: 'invalidate', channel: 'todos', data: null, spread: 1000 });
  await t.env.advance(1149);
  assert.equal(t.refreshes.length, 0);
  await t.env.advance(1);
  assert.equal(t.refreshes.length, 1);
});

test('a dropped connection reconnects after the backoff and refreshes once for the gap', async () => {
  const t = setup();
  t.lg.connect();
  const c1 = await accept(t, t.env);
  c1.drop(1006);
  assert.deepEqual(t.events[1], { name: 'disconnected', detail: { code: 1006, reason: '', reconnecting: true } });
  await t.env.advance(499); // rand 0.5 * 1 s
  assert.equal(t.transport.conns.length, 1);
  await t.env.advance(1);
  assert.equal(t.transport.conns.length, 2);
  await accept(t, t.env);
  assert.deepEqual(t.events[2].detail, { channels: ['todos'], reconnect: true });
  assert.equal(t.dispatched.at(-1).reason, 'reconnect');
  await t.env.advance(150);
  assert.equal(t.refreshes.length, 1);
});

test('the tab shown or the network back reconnects without waiting for the backoff', async () => {
  const t = setup();
  t.lg.connect();
  const c1 = await accept(t, t.env);
  t.env.rand = 1;
  c1.drop(1006);
  t.env.show();
  assert.equal(t.transport.conns.length, 2);
  t.transport.last().drop(1006);
  t.env.online();
  assert.equal(t.transport.conns.length, 3);
});

test('heartbeat: a ping every 25 s; no pong within 10 s replaces the connection', async () => {
  const t = setup();
  t.lg.connect();
  const c = await accept(t, t.env);
  await t.env.advance(HEARTBEAT_MS);
  assert.deepEqual(c.sent.at(-1), { type: 'ping' });
  c.frame({ type: 'pong' });
  await t.env.advance(PONG_MS);
  assert.equal(c.closedByClient, false, 'answered: kept');
  await t.env.advance(HEARTBEAT_MS - PONG_MS);
  assert.equal(c.sent.filter((m) => m.type === 'ping').length, 2);
  await t.env.advance(PONG_MS);
  assert.equal(c.closedByClient, true);
  const gone = t.events.find((e) => e.name === 'disconnected');
  assert.deepEqual(gone.detail, { code: 1006, reason: 'no pong', reconnecting: true });
});

test('a new token naming other channels re-subscribes the open connection; the same channels do not', async () => {
  const t = setup({ channels: ['a', 'b'] });
  t.lg.connect();
  const c = await accept(t, t.env, ['a', 'b']);
  t.lg.setToken(tok(['b', 'a'], { iat: T0 + 1000 }));
  assert.equal(c.subscribes().length, 1, 'same channels in another order: nothing to send');
  const next = tok(['c'], { iat: T0 + 2000 });
  t.lg.setToken(next);
  assert.deepEqual(c.subscribes(), [c.subscribes()[0], next]);
  c.frame({ type: 'subscribed', channels: ['c'] });
  assert.equal(t.events.filter((e) => e.name === 'connected').length, 1, 'no new connection, no reconnect refresh');
  assert.equal(t.transport.conns.length, 1);
});

test('expiry (4002): one refresh, then at once a connection with the refreshed token, and no second refresh', async () => {
  const fresh = tok(['todos'], { iat: T0 + 3000, ttl: 3 });
  const t = setup({ ttl: 3, onRefresh: (b, lg) => lg.setToken(fresh) });
  t.lg.connect();
  const c1 = await accept(t, t.env);
  await t.env.advance(3000);
  c1.drop(4002, 'token expired');
  assert.deepEqual(t.events.at(-1).detail, { code: 4002, reason: 'token expired', reconnecting: true });
  assert.equal(t.dispatched.at(-1).reason, 'expired', 'the renewal is offered to the page like any refresh');
  await t.env.advance(150);
  assert.equal(t.refreshes.length, 1);
  assert.equal(t.transport.conns.length, 2, 'reconnected without a backoff wait');
  const c2 = await accept(t, t.env);
  assert.deepEqual(c2.subscribes(), [fresh]);
  await t.env.advance(5000);
  assert.equal(t.refreshes.length, 1, 'the reconnect after a renewal costs no second refresh');
  assert.deepEqual(t.errors, []);
});

test('expiry in a hidden tab renews only when the tab is shown', async () => {
  const fresh = tok(['todos'], { iat: T0 + 9000 });
  const t = setup({ onRefresh: (b, lg) => lg.setToken(fresh) });
  t.lg.connect();
  const c1 = await accept(t, t.env);
  t.env.hide();
  c1.drop(4002);
  await t.env.advance(60000);
  assert.equal(t.refreshes.length, 0);
  assert.equal(t.transport.conns.length, 1, 'no reconnect with the expired token');
  t.env.show();
  await t.env.advance(150);
  assert.equal(t.refreshes.length, 1);
  assert.equal(t.transport.conns.length, 2);
  assert.deepEqual((await accept(t, t.env)).subscribes(), [fresh]);
});

test('a refresh that brings no fresh token stops with an error instead of looping', async () => {
  const t = setup();
  t.lg.connect();
  const c1 = await accept(t, t.env);
  c1.drop(4002);
  await t.env.advance(150 + RENEW_GRACE_MS);
  assert.equal(t.refreshes.length, 1);
  assert.equal(t.transport.conns.length, 1, 'never reconnects with the expired token');
  assert.equal(t.errors.length, 1);
  assert.match(t.errors[0].message, /brought no fresh one: mint a token on every render/);
  await t.env.advance(120000);
  assert.equal(t.refreshes.length, 1);
  const late = tok(['todos'], { iat: T0 + 200000 });
  t.lg.setToken(late);
  assert.equal(t.transport.conns.length, 2, 'a token given later still revives it');
});

test('a fresh token that is expired on arrival again stops instead of looping', async () => {
  let n = 0;
  const t = setup({ onRefresh: (b, lg) => lg.setToken(tok(['todos'], { iat: T0 + ++n })) });
  t.lg.connect();
  const c1 = await accept(t, t.env);
  c1.drop(4002);
  await t.env.advance(150);
  assert.equal(t.transport.conns.length, 2);
  const c2 = t.transport.last();
  c2.open();
  c2.drop(4002); // before 'subscribed': expired on arrival
  await t.env.advance(60000);
  assert.equal(t.transport.conns.length, 2);
  assert.equal(t.refreshes.length, 1);
  assert.equal(t.events.filter((e) => e.name === 'disconnected').at(-1).detail.reconnecting, false);
  assert.match(t.errors.at(-1).message, /expired on arrival/);
});

test('a failed renewal refresh is tried again with backoff', async () => {
  let fail = true;
  const fresh = tok(['todos'], { iat: T0 + 5 });
  const t = setup({ onRefresh: (b, lg) => (fail ? false : lg.setToken(fresh)) });
  t.lg.connect();
  (await accept(t, t.env)).drop(4002);
  await t.env.advance(150);
  assert.equal(t.refreshes.length, 1);
  fail = false;
  await t.env.advance(500 + 150); // rand 0.5 * 1 s, then the debounce
  assert.equal(t.refreshes.length, 2);
  assert.equal(t.transport.conns.length, 2);
});

test('a handler that takes over an expiry supplies the token itself', async () => {
  const t = setup({ dispatch: (m) => m.reason !== 'expired' });
  t.lg.connect();
  (await accept(t, t.env)).drop(4002);
  await t.env.advance(60000);
  assert.equal(t.refreshes.length, 0);
  assert.equal(t.transport.conns.length, 1);
  assert.deepEqual(t.errors, [], 'not the client\'s failure');
  t.lg.setToken(tok(['todos'], { iat: T0 + 60000 }));
  assert.equal(t.transport.conns.length, 2);
});

test('4002 when a fresher token already came: reconnect with it at once, no renewal refresh', async () => {
  const t = setup();
  t.lg.connect();
  const c1 = await accept(t, t.env);
  const newer = tok(['todos'], { iat: T0 + 1000 });
  t.lg.setToken(newer);
  c1.drop(4002);
  assert.equal(t.transport.conns.length, 2);
  assert.equal(t.dispatched.length, 0);
  assert.deepEqual((await accept(t, t.env)).subscribes(), [newer]);
});

test('4001 stops and reports; a new token starts again; a 4001 for an expired token is a 4002', async () => {
  const t = setup({ ttl: 10 });
  t.lg.connect();
  (await accept(t, t.env)).drop(4001, 'bad_signature');
  const lastGone = () => t.events.filter((e) => e.name === 'disconnected').at(-1);
  assert.deepEqual(lastGone().detail, { code: 4001, reason: 'bad_signature', reconnecting: false });
  assert.match(t.errors[0].message, /token refused \(4001 bad_signature\)/);
  await t.env.advance(60000);
  assert.equal(t.transport.conns.length, 1);
  t.lg.setToken(tok(['todos'], { iat: T0 + 60000, ttl: 10 }));
  assert.equal(t.transport.conns.length, 2);
  const c2 = await accept(t, t.env);
  await t.env.advance(11000);
  c2.drop(4001, 'bad_claims: exp');
  assert.equal(lastGone().detail.code, 4002);
  assert.equal(t.dispatched.at(-1).reason, 'expired');
});

test('disconnect() stops; connect() resumes with one refresh for the gap; close() ends everything', async () => {
  const t = setup();
  t.lg.connect();
  const c1 = await accept(t, t.env);
  t.lg.disconnect();
  assert.equal(c1.closedByClient, true);
  assert.deepEqual(t.events.at(-1).detail, { code: 1000, reason: 'disconnect()', reconnecting: false });
  await t.env.advance(60000);
  assert.equal(t.transport.conns.length, 1);
  t.lg.connect();
  await accept(t, t.env);
  await t.env.advance(150);
  assert.equal(t.refreshes.length, 1);
  t.lg.close();
  assert.equal(t.transport.last().closedByClient, true);
  assert.equal(t.env.listeners(), 0, 'visibility and online listeners removed');
  assert.equal(t.env.pendingTimers(), 0);
  t.lg.setToken(tok(['x'], { iat: T0 + 1 }));
  t.lg.connect();
  assert.equal(t.transport.conns.length, 2, 'closed for good');
});

test('a client with no token yet connects when it gets one', async () => {
  const env = fakeEnv({ start: T0 });
  const transport = fakeTransport();
  const lg = createLivegate({ url: 'http://gate.example', env, transport, refresh: () => true, log: () => {} });
  lg.connect();
  assert.equal(transport.conns.length, 0);
  lg.setToken(tok(['todos']));
  assert.equal(transport.conns.length, 1);
  assert.equal(transport.last().ep.ws, 'ws://gate.example/ws');
});
