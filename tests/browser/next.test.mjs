// End-to-end tests of livegate/next (issue 11) in headless Chromium, against
// the real livegate binary, a real redis-server and the BUILT example
// Next.js app (deploy/example-next under `next start`). The app counts the
// requests that reach it (GET /__stats, its proxy.js), so refreshes are
// counted at the origin: refreshes[path] are router.refresh() fetches,
// documents[path] page loads (an HTML refetch would count there too).
//
// Run: node tests/browser/run.mjs [path/to/livegate]   (or meson test browser-next)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createApi } from '../../clients/js/src/server.js';
import { countEvents, launch, openPage, waitForEvent } from './lib/browser.mjs';
import { checkBuilt, launchWithRealTabs, startNext } from './lib/next-app.mjs';
import { freePort, sleep, waitFor } from './lib/procs.mjs';
import { Stack, redisCli, repoRoot } from './lib/stack.mjs';

// Long enough for any refresh still owed (debounce 150 ms, an RSC round
// trip) to have reached the app; used before asserting that none more came.
const SETTLE_MS = 2000;

const artifacts = process.env.LIVEGATE_BROWSER_ARTIFACTS
  || path.join(process.env.MESON_BUILD_ROOT || path.join(repoRoot, 'build'), 'tests/browser/artifacts');

let stack;
let next;
let appUrl;
let browser;
let todoId = 9000;

before(async () => {
  checkBuilt();
  fs.mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;
  stack = new Stack({ artifacts: artifacts, demoCount: 0, originPorts: [port] });
  try {
    await stack.start();
    next = startNext({
      port,
      artifacts,
      env: {
        REDIS_URL: `redis://127.0.0.1:${stack.redisPort}`,
        LIVEGATE_SECRET: stack.secret,
        LIVEGATE_PUBLIC_URL: stack.publicUrl,
      },
    });
    next.start();
    await waitFor('next start to serve', async () => {
      if (!next.running) throw new Error(`next exited: ${next.tail(10)}`);
      const res = await fetch(`${appUrl}/__stats`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200;
    }, { timeout: 60000 });
    browser = await launch();
  } catch (e) {
    for (const p of [stack.redis, stack.livegate, next]) {
      if (p) console.log(`# ---- ${p.name} log tail:\n${p.tail(15).replace(/^/gm, '# ')}`);
    }
    throw e;
  }
});

after(async () => {
  if (browser) await browser.close();
  if (next) await next.stop();
  if (stack) await stack.stop();
});

async function stats() {
  const res = await fetch(`${appUrl}/__stats`, { signal: AbortSignal.timeout(5000) });
  return res.json();
}

// Requests of each kind to `p` since `base` (a stats() taken earlier).
async function delta(base, p) {
  const now = await stats();
  return {
    rsc: (now.refreshes[p] || 0) - (base.refreshes[p] || 0),
    html: (now.documents[p] || 0) - (base.documents[p] || 0),
  };
}

function putTodo(title) {
  const id = ++todoId;
  return redisCli(stack.redisPort, ['HSET', 'next:todos', String(id), JSON.stringify({ title })]).then(() => id);
}

const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));

// Records the page's WebSocket frames (both ways), console errors and
// warnings, and uncaught errors.
function watch(page) {
  page.frames_ = [];
  page.problems = [];
  page.warnings = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`${m.text()} (${m.location().url})`);
    if (m.type() === 'warning') page.warnings.push(m.text());
  });
  page.on('pageerror', (e) => page.problems.push(`uncaught: ${e.message}`));
  page.on('websocket', (ws) => {
    const rec = (dir) => (f) => {
      try {
        page.frames_.push({ dir, msg: JSON.parse(f.payload), at: Date.now() });
      } catch {
        // not JSON
      }
    };
    ws.on('framesent', rec('out'));
    ws.on('framereceived', rec('in'));
  });
  return page;
}

const sent = (page, type) => page.frames_.filter((f) => f.dir === 'out' && f.msg.type === type);
const received = (page, type) => page.frames_.filter((f) => f.dir === 'in' && f.msg.type === type);

async function waitSubscribed(page, count = 1) {
  await waitFor(`${count} 'subscribed' frame(s)`, () => received(page, 'subscribed').length >= count, { timeout: 20000 });
}

async function openNext(context, url) {
  const page = watch(await context.newPage());
  await page.goto(url);
  await waitSubscribed(page);
  return page;
}

async function withContext(fn) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  try {
    return await fn(context);
  } finally {
    await context.close();
  }
}

// Client state the tests set up and expect to survive refreshes.
async function makeClientState(page, clicks, text) {
  for (let i = 0; i < clicks; i++) await page.click('#counter');
  await page.click('#typed');
  await page.keyboard.type(text);
  assert.equal(await page.textContent('#counter'), `count: ${clicks}`);
}

async function clientState(page) {
  return page.evaluate(() => ({
    counter: document.getElementById('counter').textContent,
    typed: document.getElementById('typed').value,
    echo: document.getElementById('echo').textContent,
    focused: document.activeElement && document.activeElement.id,
    announcer: document.querySelectorAll('next-route-announcer').length,
  }));
}

function assertNoReactTrouble(page) {
  const bad = [...page.problems, ...page.warnings]
    .filter((m) => !m.startsWith('livegate: ') && /react|hydrat|#4\d\d|minified|did not match/i.test(m));
  assert.deepEqual(bad, [], 'no React error or hydration warning on the console');
  assert.deepEqual(page.problems, [], 'no console error at all');
}

test('a redis-cli PUBLISH re-renders the server components in place; client state survives', { timeout: 90000 }, async () => {
  await withContext(async (context) => {
    const page = await openNext(context, appUrl + '/');
    await page.evaluate(() => { window.__marker = 'same document'; });
    await makeClientState(page, 3, 'hello world');
    const base = await stats();
    await page.screenshot({ path: path.join(artifacts, 'next-publish-before.png') });

    const id = await putTodo('added behind the page\'s back');
    assert.match(await stack.publish('todos', JSON.stringify({ entity: 'todos', id: String(id), action: 'created' })), /^[1-9]/);
    await page.waitForSelector(`#todo-${id}`, { timeout: 15000 });
    await page.screenshot({ path: path.join(artifacts, 'next-publish-after.png') });

    assert.deepEqual(await clientState(page), {
      counter: 'count: 3', typed: 'hello world', echo: 'echo: hello world', focused: 'typed', announcer: 1,
    });
    assert.equal(await page.evaluate(() => window.__marker), 'same document', 'no reload');
    // React still owns its DOM: the next click counts on, derived text follows typing.
    await page.click('#counter');
    assert.equal(await page.textContent('#counter'), 'count: 4');
    await page.click('#typed');
    await page.keyboard.type('!');
    assert.equal(await page.textContent('#echo'), 'echo: hello world!');

    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, '/'), { rsc: 1, html: 0 }, 'one RSC refresh, no HTML refetch');
    assertNoReactTrouble(page);
  });
});

test('a burst of 20 publishes costs at most 2 RSC refreshes at the origin', { timeout: 90000 }, async () => {
  await withContext(async (context) => {
    const page = await openNext(context, appUrl + '/');
    await makeClientState(page, 2, 'typing');
    const base = await stats();
    const id = await putTodo('the burst\'s');
    await stack.pipe(Array.from({ length: 20 }, (_, i) => `PUBLISH todos burst-${i}`));
    await waitFor('all 20 invalidations to reach the page', () =>
      received(page, 'invalidate').filter((f) => String(f.msg.data).startsWith('burst-')).length === 20);
    await page.waitForSelector(`#todo-${id}`, { timeout: 15000 });
    await sleep(SETTLE_MS);
    const d = await delta(base, '/');
    const fetches = (s) => Object.values(s.fetches).reduce((a, b) => a + b, 0);
    const at = received(page, 'invalidate').map((f) => f.at);
    console.log(`# burst of 20 over ${Math.max(...at) - Math.min(...at)} ms: ${d.rsc} RSC refresh(es), ` +
      `${fetches(await stats()) - fetches(base)} prefetch(es)`);
    assert.ok(d.rsc >= 1 && d.rsc <= 2, `RSC refreshes: ${d.rsc}`);
    assert.equal(d.html, 0);
    const st = await clientState(page);
    assert.equal(st.counter, 'count: 2');
    assert.equal(st.typed, 'typing');
    assertNoReactTrouble(page);
  });
});

test('a hidden tab refreshes only when shown, once', { timeout: 120000 }, async () => {
  const real = await launchWithRealTabs(artifacts);
  try {
    const page = await openNext(real.context, appUrl + '/');
    await makeClientState(page, 1, 'hidden');
    const cover = await real.context.newPage(); // in front of the page, in its window
    await waitFor('the page to be hidden', () => page.evaluate(() => document.visibilityState === 'hidden'));
    const base = await stats();
    const id = await putTodo('published while hidden');
    for (let i = 0; i < 3; i++) {
      await stack.publish('todos', `hidden-${i}`);
      await sleep(400); // three separate invalidations, not one debounced burst
    }
    await waitFor('the three invalidations', () => received(page, 'invalidate').length >= 3);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, '/'), { rsc: 0, html: 0 }, 'hidden: no refresh');
    assert.equal(await page.$(`#todo-${id}`), null);

    await page.bringToFront();
    await waitFor('the page to be visible', () => page.evaluate(() => document.visibilityState === 'visible'));
    await page.waitForSelector(`#todo-${id}`, { timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, '/'), { rsc: 1, html: 0 }, 'shown: exactly one refresh');
    assert.equal((await clientState(page)).counter, 'count: 1');
    assertNoReactTrouble(page);
    await cover.close();
  } finally {
    await real.close();
  }
});

test('a short-lived token is renewed by one refresh (no HTML, no second refresh), client state intact', { timeout: 120000 }, async () => {
  await withContext(async (context) => {
    const page = await openNext(context, appUrl + '/?ttl=6');
    await makeClientState(page, 2, 'kept');
    const base = await stats();
    // livegate closes at exp (4002); the refreshed page's token reconnects.
    await waitSubscribed(page, 2);
    const subs = sent(page, 'subscribe');
    assert.ok(subs.length >= 2, `subscribe frames: ${subs.length}`);
    assert.notEqual(subs[1].msg.token, subs[0].msg.token, 'reconnected with the refreshed page\'s token');
    assert.ok(claims(subs[1].msg.token).iat > claims(subs[0].msg.token).iat);
    for (const s of subs) assert.ok(claims(s.msg.token).exp * 1000 > s.at, 'never subscribes with an expired token');
    const renewed = await stats();
    await sleep(SETTLE_MS); // the new token lives 5-6 s: no expiry within this
    assert.equal((await delta(renewed, '/')).rsc, 0, 'the reconnect after a renewal costs no second refresh');
    assert.deepEqual(await delta(base, '/'), { rsc: 1, html: 0 }, 'one RSC refresh renewed it');
    const st = await clientState(page);
    assert.deepEqual([st.counter, st.typed, st.echo], ['count: 2', 'kept', 'echo: kept']);

    const id = await putTodo('after a renewal');
    await stack.publish('todos', 'x');
    await page.waitForSelector(`#todo-${id}`, { timeout: 15000 });
    assertNoReactTrouble(page);
  });
});

test('client navigation to a route with other channels follows the new channels, not the old', { timeout: 90000 }, async () => {
  await withContext(async (context) => {
    await redisCli(stack.redisPort, ['SET', 'next:room:2', 'topic one']);
    const page = await openNext(context, appUrl + '/rooms/1');
    await page.evaluate(() => { window.__marker = 'no reload'; });
    assert.deepEqual(claims(sent(page, 'subscribe')[0].msg.token).channels, ['room:1']);
    await page.click('#to-other-room');
    await page.waitForFunction(() => document.getElementById('room-title').textContent === 'Room 2');
    assert.equal(await page.evaluate(() => window.__marker), 'no reload', 'a client-side navigation');
    await waitFor('a subscribe for room:2', () =>
      sent(page, 'subscribe').some((s) => claims(s.msg.token).channels.join() === 'room:2'));
    assert.equal(page.frames_.filter((f) => f.dir === 'out' && f.msg.type === 'subscribe').length, 2);
    // livegate follows the whole prefix with one pattern: its `subscribed`
    // answer naming room:2 alone is what says the socket follows room:2
    // and no longer room:1.
    await waitFor('a subscribed answer naming room:2 alone', () =>
      received(page, 'subscribed').some((f) => f.msg.channels.join() === 'room:2'));
    await makeClientState(page, 1, 'in room 2');

    const base = await stats();
    await stack.publish('room:1', 'old channel');
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, '/rooms/2'), { rsc: 0, html: 0 }, 'the old channel refreshes nothing');
    assert.equal(received(page, 'invalidate').length, 0);

    await redisCli(stack.redisPort, ['SET', 'next:room:2', 'topic two']);
    await stack.publish('room:2', 'new channel');
    await page.waitForFunction(() => document.getElementById('room-topic').textContent === 'topic two', null, { timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, '/rooms/2'), { rsc: 1, html: 0 });
    assert.equal((await clientState(page)).counter, 'count: 1');
    assertNoReactTrouble(page);
  });
});

test('the plain drop-in tag on a Next.js page does not morph it, and says what to use', { timeout: 90000 }, async () => {
  const page = await openPage(browser, appUrl + '/plain'); // waits for livegate:connected
  try {
    watch(page);
    await makeClientState(page, 2, 'mine');
    const summary = await page.textContent('#summary');
    const base = await stats();
    await putTodo('not shown on /plain');
    await stack.publish('todos', 'x');
    await waitForEvent(page, 'invalidate', 1);
    await stack.publish('todos', 'y');
    await waitForEvent(page, 'invalidate', 2);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, '/plain'), { rsc: 0, html: 0 }, 'no refetch of a page React owns');
    const st = await clientState(page);
    assert.deepEqual([st.counter, st.typed, st.echo, st.announcer], ['count: 2', 'mine', 'echo: mine', 1]);
    assert.equal(await page.textContent('#summary'), summary, 'left alone (stale, as documented)');
    const told = page.warnings.filter((m) => m.includes('livegate/next'));
    assert.equal(told.length, 1, `one warning naming livegate/next: ${JSON.stringify(page.warnings)}`);
    assert.equal(await countEvents(page, 'refreshed'), 0);
    await page.click('#counter');
    assert.equal(await page.textContent('#counter'), 'count: 3', 'React still owns its DOM');
    assertNoReactTrouble(page);
  } finally {
    await page.context().close();
  }
});

test('livegate/server: createToken and publish against the real private API', { timeout: 60000 }, async () => {
  const api = createApi({ url: stack.privateUrl, apiKey: stack.apiKey });
  const { token, expires_at: exp } = await api.createToken({ channels: ['todos'], ttl: 60, sub: 'u1' });
  assert.deepEqual(claims(token).channels, ['todos']);
  assert.equal(claims(token).sub, 'u1');
  assert.equal(claims(token).exp, exp);
  await assert.rejects(createApi({ url: stack.privateUrl, apiKey: 'wrong' }).publish('todos', 1), (e) => e.status === 401);

  await withContext(async (context) => {
    const page = await openNext(context, appUrl + '/');
    const base = await stats();
    const id = await putTodo('published through the API');
    assert.ok(await api.publish('todos', { via: 'api' }) >= 1, 'livegate is subscribed');
    await page.waitForSelector(`#todo-${id}`, { timeout: 15000 });
    assert.deepEqual(received(page, 'invalidate').map((f) => f.msg.data), [{ via: 'api' }]);
    await sleep(SETTLE_MS);
    assert.equal((await delta(base, '/')).rsc, 1);
  });
});
