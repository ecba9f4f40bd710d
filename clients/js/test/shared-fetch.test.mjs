// Tabs showing the same URL share one refetch (src/script/shared-fetch.js):
// the client cores of a fake browser's tabs, each refreshing through
// sharedFetch; the origin is a fake fetchPage that counts requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLivegate } from '../src/core/client.js';
import { tabsTransport } from '../src/core/transport-tabs.js';
import { PAGE_WAIT_MS, sharedFetch } from '../src/script/shared-fetch.js';
import { fakeBrowser, fakeEnv, fakeTransport, tabEnv, token } from './fake.mjs';

const T0 = 1_700_000_000_000;
const URL_A = 'https://app.example/todos';

function setup(n, { urls = [], fetchDelay = 50 } = {}) {
  const base = fakeEnv({ start: T0 });
  const b = fakeBrowser();
  const ws = fakeTransport();
  const origin = { requests: [], version: 1 };
  // The origin: answers with the version current when the request came.
  const fetchPage = (url) => {
    origin.requests.push(url);
    const html = `<p>${url} v${origin.version}</p>`;
    return new Promise((resolve) => base.setTimeout(() => resolve({
      status: 200, type: 'text/html', redirected: false, url, body: { text: async () => html },
    }), fetchDelay));
  };
  const tabs = [];
  for (let i = 0; i < n; i++) {
    const env = tabEnv(base, b, 'tab' + i);
    const open = tabsTransport(ws)(env);
    const get = sharedFetch(open.group, fetchPage, env);
    const t = { env, open, got: [], url: urls[i] || URL_A };
    t.lg = createLivegate({
      url: 'https://gate.example/',
      token: token({ channels: ['todos'], iat: T0 / 1000, exp: T0 / 1000 + 3600 }),
      env,
      transport: () => open,
      refresh: async (batch) => {
        const answer = await get(t.url, batch.count > 0);
        t.got.push(typeof answer.body === 'string' ? answer.body : await answer.body.text());
        return true;
      },
      log: () => {},
    });
    t.lg.connect();
    tabs.push(t);
  }
  return { base, b, ws, origin, tabs };
}

async function serve(x) {
  await x.base.advance(0);
  const c = x.ws.last();
  c.open();
  await x.base.advance(0);
  c.frame({ type: 'subscribed', channels: ['todos'] });
  await x.base.advance(0);
  return c;
}

test('five tabs of one URL, one publish: one request at the origin, every tab gets the page', async () => {
  const x = setup(5);
  const c = await serve(x);
  assert.equal(x.ws.conns.length, 1);
  x.origin.version = 2;
  c.frame({ type: 'invalidate', channel: 'todos', data: null });
  await x.base.advance(1000);
  assert.deepEqual(x.origin.requests, [URL_A]);
  for (const t of x.tabs) assert.deepEqual(t.got, [`<p>${URL_A} v2</p>`]);
});

test('tabs of different URLs get their own page, one request per URL', async () => {
  const other = 'https://app.example/todos?filter=done';
  const x = setup(4, { urls: [URL_A, other, URL_A, other] });
  const c = await serve(x);
  c.frame({ type: 'invalidate', channel: 'todos', data: null });
  await x.base.advance(1000);
  assert.deepEqual(x.origin.requests.sort(), [URL_A, other].sort());
  assert.deepEqual(x.tabs.map((t) => t.got[0]), [URL_A, other, URL_A, other].map((u) => `<p>${u} v1</p>`));
});

test('a fetch started before a later invalidation never answers it', async () => {
  const x = setup(2, { fetchDelay: 100 });
  const c = await serve(x);
  c.frame({ type: 'invalidate', channel: 'todos', data: 1 });
  await x.base.advance(10);
  x.origin.version = 2; // changed after the first fetch left
  c.frame({ type: 'invalidate', channel: 'todos', data: 2 });
  await x.base.advance(2000);
  assert.equal(x.origin.requests.length, 2, 'the trailing refresh fetches again, once for both tabs');
  for (const t of x.tabs) assert.equal(t.got.at(-1), `<p>${URL_A} v2</p>`);
});

test('a refresh the page asked for itself is never shared', async () => {
  const x = setup(2);
  await serve(x);
  const done = Promise.all(x.tabs.map((t) => t.lg.refresh()));
  await x.base.advance(1000);
  assert.deepEqual(await done, [true, true]);
  assert.equal(x.origin.requests.length, 2);
});

test('the leader goes while followers wait: they fetch for themselves', async () => {
  const x = setup(3, { fetchDelay: 500 });
  const c = await serve(x);
  c.frame({ type: 'invalidate', channel: 'todos', data: null });
  await x.base.advance(10);
  x.b.crash('tab0'); // the leader, with the shared fetch in flight
  await x.base.advance(2000);
  for (const t of x.tabs.slice(1)) assert.ok(t.got.length >= 1, 'answered');
  assert.ok(x.origin.requests.length >= 2, 'by fetching again');
});

test('a leader that does not answer: the follower fetches itself after PAGE_WAIT_MS', async () => {
  const x = setup(2);
  const c = await serve(x);
  const post = x.tabs[0].open.group.post; // the leader fetches but never hands the page out
  x.tabs[0].open.group.post = (m) => (m.t === 'page' ? undefined : post(m));
  c.frame({ type: 'invalidate', channel: 'todos', data: null });
  await x.base.advance(PAGE_WAIT_MS + 1000);
  assert.equal(x.tabs[1].got.length, 1);
});
