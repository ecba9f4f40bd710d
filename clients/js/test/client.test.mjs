// The client core (src/core/client.js, connection.js): subscribe, dispatch,
// reconnect, heartbeat, token renewal, following a new token. A fake
// transport plays livegate; the clock is manual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RENEW_GRACE_MS, createLivegate } from '../src/core/client.js';
import { HEARTBEAT_MS, PONG_MS } from '../src/core/connection.js';
import { DEGRADED_GRACE_MS } from '../src/core/health.js';
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

test('an invalidation is dispatched and refreshed at once; the rest of its burst costs one more; a refused dispatch refreshes nothing', async () => {
  let take = true;
  const t = setup({ dispatch: () => take });
  t.lg.connect();
  const c = await accept(t, t.env);
  for (let i = 0; i < 20; i++) c.frame({ type: 'invalidate', channel: 'todos', data: i });
  assert.equal(t.refreshes.length, 1, 'the first at once');
  await t.env.advance(150);
  assert.equal(t.dispatched.length, 20, 'every frame is offered to the page');
  assert.equal(t.refreshes.length, 2, 'one trailing refresh for the other 19');
  assert.equal(t.refreshes[1].count, 19);
  take = false;
  c.frame({ type: 'invalidate', channel: 'todos', data: 'handled' });
  await t.env.advance(1000);
  assert.equal(t.refreshes.length, 2, 'a handler took it over');
});

test('a frame\'s spread hint delays the refresh by random() * spread', async () => {
  const t = setup();
  t.lg.connect();
  const c = await accept(t, t.env);
  t.env.rand = 1;
  c.frame({ type: 'invalidate', channel: 'todos', data: null, spread: 1000 });
  await t.env.advance(999);
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

test('a catch-up after a reconnect costs no second refresh, before or after the reconnect refresh started; on a first connection it refreshes', async () => {
  const missed = { type: 'invalidate', channel: 'todos', data: null, reason: 'missed' };
  for (const late of [false, true]) {
    const t = setup();
    t.lg.connect();
    const c1 = await accept(t, t.env);
    c1.drop(1006);
    await t.env.advance(500);
    const c2 = await accept(t, t.env);
    if (late) await t.env.advance(150); // the reconnect refresh has started
    c2.frame(missed);
    await t.env.advance(5000);
    assert.equal(t.refreshes.length, 1, `one refresh for the gap (missed ${late ? 'after' : 'before'} it started)`);
  }
  const first = setup();
  first.lg.connect();
  const c = await accept(first, first.env);
  c.frame(missed);
  await first.env.advance(5000);
  assert.equal(first.refreshes.length, 1, 'the first connection\'s catch-up refreshes');
  // After a renewal the refresh that brought the token ran before this
  // subscription: what was published in between is the catch-up's to tell.
  const fresh = tok(['todos'], { iat: T0 + 3000, ttl: 3 });
  const r = setup({ ttl: 3, onRefresh: (b, lg) => lg.setToken(fresh) });
  r.lg.connect();
  const r1 = await accept(r, r.env);
  await r.env.advance(3000);
  r1.drop(4002, 'token expired');
  await r.env.advance(150);
  const r2 = await accept(r, r.env);
  r2.frame(missed);
  await r.env.advance(5000);
  assert.equal(r.refreshes.length, 2, 'the renewal, then the catch-up');
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
  assert.match(t.errors[0].message, /brought no fresh one: the backend must mint a token for every render/);
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

test('maxRate reaches the scheduler: refreshes at most that often', async () => {
  const env = fakeEnv({ start: T0 });
  const transport = fakeTransport();
  const starts = [];
  const lg = createLivegate({ url: 'http://gate.example', token: tok(['todos']), env, transport, maxRate: 1,
    refresh: async () => { starts.push(env.now() - T0); return true; }, log: () => {} });
  lg.connect();
  transport.last().open();
  transport.last().frame({ type: 'subscribed', channels: ['todos'] });
  await env.advance(10);
  for (let i = 0; i < 30; i++) {
    transport.last().frame({ type: 'invalidate', channel: 'todos', data: i });
    await env.advance(100);
  }
  await env.advance(5000);
  assert.deepEqual(starts, [10, 1010, 2010, 3010]);
});

test('close 4001 stops and explains livegate\'s reason', async () => {
  for (const [reason, hint] of [
    ['bad_signature', /another secret than livegate's/],
    ['exp_too_far', /milliseconds instead of seconds/],
    ['unknown_kid', /LIVEGATE_SECRETS/],
    ['bad_claims: exp', /a claim is missing or wrong/],
    ['malformed', /not a JWT/],
    ['something_new', /^token refused \(4001 something_new\), live updates stopped$/],
  ]) {
    const t = setup();
    t.lg.connect();
    const c = t.transport.last();
    c.open();
    c.drop(4001, reason);
    assert.equal(t.errors.length, 1, reason);
    const e = t.errors[0];
    assert.equal(e.type, 'auth');
    assert.equal(e.code, 4001);
    assert.equal(e.reason, reason);
    assert.match(e.message, hint);
    assert.ok(e.message.includes(reason));
    assert.ok(!e.message.includes(t.lg.token), 'never the token');
    await t.env.advance(120000);
    assert.equal(t.transport.conns.length, 1, 'no retry');
    assert.equal(t.events.filter((x) => x.name === 'degraded').length, 0, 'stopped, not degraded');
  }
});

test('a WebSocket that never opens is reported once after 3 tries, naming the usual causes', async () => {
  const t = setup();
  t.lg.connect();
  for (let i = 0; i < 6; i++) {
    t.transport.last().drop(1006);
    await t.env.advance(60000);
  }
  const connect = t.errors.filter((e) => e.type === 'connect');
  assert.equal(connect.length, 1);
  assert.equal(connect[0].attempts, 3);
  assert.equal(connect[0].url, 'wss://gate.example/lg/ws');
  assert.match(connect[0].message, /LIVEGATE_ALLOWED_ORIGINS/);
  assert.match(connect[0].message, /URL is wrong/);
  assert.match(connect[0].message, /WebSocket upgrades/);
  assert.equal(connect[0].transport, 'websocket');
  assert.equal(t.events.filter((e) => e.name === 'error').length, 1);
  assert.ok(t.transport.conns.length >= 7, 'still trying');
  await accept(t, t.env); // it opens at last
  for (let i = 0; i < 3; i++) {
    t.transport.last().drop(1006);
    await t.env.advance(60000);
  }
  assert.equal(t.errors.filter((e) => e.type === 'connect').length, 1, 'a streak after opening starts the count over');
  t.transport.last().drop(1006);
  assert.equal(t.errors.filter((e) => e.type === 'connect').length, 2);
});

const named = (t, name) => t.events.filter((e) => e.name === name);

test('degraded after the grace period when livegate reports Redis down; restored when it is up', async () => {
  const t = setup();
  t.lg.connect();
  const c = await accept(t, t.env);
  c.frame({ type: 'status', redis: 'down' });
  await t.env.advance(DEGRADED_GRACE_MS - 1);
  assert.equal(named(t, 'degraded').length, 0, 'a blip is not reported');
  await t.env.advance(1);
  assert.equal(named(t, 'degraded').length, 1);
  assert.equal(named(t, 'degraded')[0].detail.reason, 'redis');
  assert.match(named(t, 'degraded')[0].detail.message, /Redis/);
  await t.env.advance(10000);
  assert.equal(named(t, 'degraded').length, 1, 'once');
  c.frame({ type: 'status', redis: 'up' });
  assert.equal(named(t, 'restored').length, 1);
  assert.equal(named(t, 'restored')[0].detail.after, DEGRADED_GRACE_MS + 10000);
  c.frame({ type: 'invalidate', channel: 'todos', data: null, reason: 'resync' });
  assert.equal(t.refreshes.length, 1, 'the resync that follows refreshes');

  c.frame({ type: 'status', redis: 'down' });
  await t.env.advance(1000);
  c.frame({ type: 'status', redis: 'up' });
  await t.env.advance(DEGRADED_GRACE_MS * 2);
  assert.equal(named(t, 'degraded').length, 1, 'a short outage is not reported');
});

test('degraded when a subscription is not confirmed in time (Redis down at subscribe), restored once it is', async () => {
  const t = setup();
  t.lg.connect();
  const c = t.transport.last();
  c.open();
  await t.env.advance(DEGRADED_GRACE_MS);
  assert.equal(named(t, 'degraded').length, 1);
  assert.equal(named(t, 'degraded')[0].detail.reason, 'subscribe');
  c.frame({ type: 'subscribed', channels: ['todos'] });
  assert.equal(named(t, 'restored').length, 1);
});

test('a server that says Redis is down in place of confirming: reason redis; the subscription later restores', async () => {
  const t = setup();
  t.lg.connect();
  const c = t.transport.last();
  c.open();
  c.frame({ type: 'status', redis: 'down' });
  await t.env.advance(DEGRADED_GRACE_MS);
  assert.equal(named(t, 'degraded')[0].detail.reason, 'redis');
  c.frame({ type: 'status', redis: 'up' });
  assert.equal(named(t, 'restored').length, 0, 'not live before the subscription is confirmed');
  c.frame({ type: 'subscribed', channels: ['todos'] });
  assert.equal(named(t, 'restored').length, 1);
});

test('degraded while livegate cannot be reached; never after disconnect()', async () => {
  const t = setup();
  t.lg.connect();
  const c = await accept(t, t.env);
  c.drop(1006);
  await t.env.advance(DEGRADED_GRACE_MS);
  assert.equal(named(t, 'degraded').length, 1);
  assert.equal(named(t, 'degraded')[0].detail.reason, 'connection');
  await accept(t, t.env);
  assert.equal(named(t, 'restored').length, 1);
  t.lg.disconnect();
  await t.env.advance(60000);
  assert.equal(named(t, 'degraded').length, 1);
});
