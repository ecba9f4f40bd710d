// The stream transport (src/core/transport-stream.js) under the real client:
// POST /sse with the subscribe body, frames from the event stream, the
// close event and the HTTP refusals handled as the WebSocket's close codes
// (4002 renews, 4001 stops, 1012/1013 and a dead stream reconnect), the
// silence deadline, the bound. fetch is a fake answering with real
// Responses whose bodies the test writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLivegate } from '../src/core/client.js';
import { BACKOFF_BASE_MS } from '../src/core/backoff.js';
import { MAX_EVENT_CHARS } from '../src/core/sse-parser.js';
import { SILENCE_MS } from '../src/core/transport-stream.js';
import { fakeEnv, settle, token } from './fake.mjs';

const T0 = 1_700_000_000_000;
const tok = (channels, ttl = 3600) => token({ channels, iat: T0 / 1000, exp: T0 / 1000 + ttl });
const enc = (s) => new TextEncoder().encode(s);

// fetch's double: each call is a request the test answers.
function fakeFetch() {
  const requests = [];
  const fetch = (url, init) => new Promise((resolve, reject) => {
    const r = { url, init, body: JSON.parse(init.body), aborted: false, controller: null };
    init.signal.addEventListener('abort', () => {
      r.aborted = true;
      reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      try {
        r.controller && r.controller.error(new Error('aborted'));
      } catch (e) {
        // already closed
      }
    });
    r.stream = () => {
      const body = new ReadableStream({ start: (c) => { r.controller = c; } });
      resolve(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
    };
    r.refuse = (status, json, headers = {}) => resolve(new Response(JSON.stringify(json), { status, headers }));
    r.write = (s) => r.controller.enqueue(enc(s));
    r.event = (m) => r.write('data: ' + JSON.stringify(m) + '\n\n');
    r.end = () => r.controller.close();
    requests.push(r);
  });
  fetch.requests = requests;
  fetch.last = () => requests[requests.length - 1];
  return fetch;
}

function setup({ ttl, onRefresh } = {}) {
  const env = fakeEnv({ start: T0 });
  env.fetch = fakeFetch();
  env.AbortController = AbortController;
  const events = [];
  const errors = [];
  const refreshes = [];
  const lg = createLivegate({
    url: 'https://gate.example/lg/',
    token: tok(['todos'], ttl),
    env,
    transport: 'stream',
    refresh: async (batch) => {
      refreshes.push(batch);
      return onRefresh ? onRefresh(batch, lg) : true;
    },
    emit: (name, detail) => events.push({ name, detail }),
    log: (d) => errors.push(d),
  });
  return { env, fetch: env.fetch, events, errors, refreshes, lg };
}

const names = (t, name) => t.events.filter((e) => e.name === name).map((e) => e.detail);

// The stream r was dropped as dead (code) and a new one follows after the backoff.
async function replaced(t, r, code) {
  assert.equal(r.aborted, true);
  assert.equal(names(t, 'disconnected')[0].code, code);
  await t.env.advance(BACKOFF_BASE_MS);
  assert.equal(t.fetch.requests.length, 2);
}

async function live(t) {
  const r = t.fetch.last();
  r.stream();
  await settle();
  r.event({ type: 'subscribed', channels: ['todos'] });
  await t.env.advance(0);
  return r;
}

test('POST <base>/sse with the subscribe message as text/plain, no credentials; frames as over a WebSocket', async () => {
  const t = setup();
  t.lg.connect();
  const r = t.fetch.last();
  assert.equal(r.url, 'https://gate.example/lg/sse');
  assert.equal(r.init.method, 'POST');
  assert.deepEqual(r.init.headers, { 'Content-Type': 'text/plain' });
  assert.equal(r.init.credentials, 'omit');
  assert.deepEqual(r.body, { type: 'subscribe', token: t.lg.token });
  await live(t);
  assert.equal(t.lg.connected, true);
  assert.deepEqual(names(t, 'connected'), [{ channels: ['todos'], reconnect: false }]);
  r.write(': ping\n\n');
  r.write('data: {"type":"invalidate","channel":"todos",');
  r.write('"data":"x"}\n\n');
  await t.env.advance(0);
  assert.equal(t.refreshes.length, 1);
  assert.equal(t.refreshes[0].message.data, 'x');
  assert.equal(t.fetch.requests.length, 1, 'one request: the subscribe went in its body');
});

test('a close event 4002 renews as a WebSocket close 4002 does: refresh "expired", then the fresh token streams at once', async () => {
  const fresh = tok(['todos'], 7200);
  const t = setup({ onRefresh: (batch, lg) => { lg.setToken(fresh); return true; } });
  t.lg.connect();
  const r = await live(t);
  r.event({ type: 'close', code: 4002, reason: 'token expired' });
  await t.env.advance(0);
  assert.equal(r.aborted, true, 'the old stream is dropped');
  assert.deepEqual(names(t, 'disconnected')[0], { code: 4002, reason: 'token expired', reconnecting: true });
  assert.equal(t.refreshes.length, 1);
  assert.equal(t.refreshes[0].message.reason, 'expired');
  assert.equal(t.fetch.requests.length, 2);
  assert.deepEqual(t.fetch.last().body, { type: 'subscribe', token: fresh });
});

test('401 "expired" is a 4002 (renew); 401 for a bad token is a 4001 with livegate\'s reason (stop, say why)', async () => {
  const fresh = tok(['todos'], 7200);
  const t = setup({ onRefresh: (batch, lg) => { lg.setToken(fresh); return true; } });
  t.lg.connect();
  t.fetch.last().refuse(401, { error: 'expired', message: 'token expired: refetch the page for a new one' });
  await t.env.advance(0);
  assert.equal(t.refreshes[0].message.reason, 'expired');
  assert.deepEqual(t.fetch.last().body.token, fresh);

  t.fetch.last().refuse(401, { error: 'bad_signature', message: 'bad_signature' });
  await t.env.advance(60000);
  assert.equal(t.fetch.requests.length, 2, 'no retry after a refused token');
  assert.equal(names(t, 'disconnected')[1].code, 4001);
  assert.equal(t.errors[0].type, 'auth');
  assert.match(t.errors[0].message, /4001 bad_signature\): signed with another secret/);
});

test('503 reconnects no sooner than its Retry-After; 1012 close event and a stream ending without one reconnect', async () => {
  const t = setup();
  t.env.rand = 0; // the backoff alone would reconnect at once
  t.lg.connect();
  t.fetch.last().refuse(503, { error: 'over_capacity', message: 'over capacity' }, { 'Retry-After': '5' });
  await t.env.advance(0);
  assert.equal(names(t, 'disconnected')[0].code, 1013);
  await t.env.advance(4999);
  assert.equal(t.fetch.requests.length, 1, 'not before Retry-After');
  await t.env.advance(1);
  assert.equal(t.fetch.requests.length, 2);

  let r = await live(t);
  r.event({ type: 'close', code: 1012, reason: 'restarting' });
  await t.env.advance(BACKOFF_BASE_MS);
  assert.equal(names(t, 'disconnected')[1].code, 1012);
  assert.equal(t.fetch.requests.length, 3);

  r = await live(t);
  r.end();
  await t.env.advance(BACKOFF_BASE_MS * 4);
  assert.deepEqual(names(t, 'disconnected')[2], { code: 1006, reason: 'the stream ended without a close event',
    reconnecting: true });
  assert.equal(t.fetch.requests.length, 4);
  await live(t);
  assert.equal(t.refreshes.at(-1).message.reason, 'reconnect', 'a reconnect refetches for the gap, as on a WebSocket');
});

test('403 (origin refused) is a failed open, as a refused WebSocket upgrade; reported after 3', async () => {
  const t = setup();
  t.lg.connect();
  for (let i = 0; i < 3; i++) {
    t.fetch.last().refuse(403, { error: 'forbidden', message: 'origin not allowed' });
    await t.env.advance(60000);
  }
  assert.equal(names(t, 'disconnected')[0].code, 1006);
  assert.match(names(t, 'disconnected')[0].reason, /403/);
  assert.equal(t.errors[0].type, 'connect');
  assert.equal(t.errors[0].transport, 'stream');
  assert.match(t.errors[0].url, /\/sse$/, 'names the stream it could not open, not the WebSocket');
  assert.match(t.errors[0].message, /blocks or buffers the event stream/);
});

test('a stream silent for SILENCE_MS is dead and replaced; pings keep it alive', async () => {
  const t = setup();
  t.lg.connect();
  const r = await live(t);
  for (let i = 0; i < 4; i++) {
    await t.env.advance(25000);
    r.write(': ping\n\n');
    await settle();
  }
  assert.equal(t.fetch.requests.length, 1, 'alive while pinged');
  await t.env.advance(SILENCE_MS);
  await replaced(t, r, 1006);
});

test('an event over the bound ends the stream as a protocol error (1002) and reconnects', async () => {
  const t = setup();
  t.lg.connect();
  const r = await live(t);
  const chunk = 'data: ' + 'x'.repeat(8192) + '\n';
  for (let i = 0; i * 8192 <= MAX_EVENT_CHARS && !r.aborted; i++) {
    r.write(chunk);
    await settle();
  }
  await replaced(t, r, 1002);
});

test('a token for other channels opens a new stream with it and drops the old one', async () => {
  const t = setup();
  t.lg.connect();
  const r = await live(t);
  const other = tok(['todos', 'users']);
  t.lg.setToken(other);
  await settle();
  assert.equal(r.aborted, true);
  assert.deepEqual(t.fetch.last().body, { type: 'subscribe', token: other });
  t.fetch.last().stream();
  await settle();
  t.fetch.last().event({ type: 'invalidate', channel: 'users', data: null });
  await t.env.advance(0);
  assert.equal(t.refreshes.length, 1);
  assert.equal(names(t, 'disconnected').length, 0, 'no disconnect for the page');
});
