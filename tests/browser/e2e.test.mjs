// End-to-end tests of the drop-in script (issue 3) in headless Chromium,
// against the real livegate binary, a real redis-server and the demo app.
//
// Run: node tests/browser/run.mjs [path/to/livegate]   (or meson test browser)
// Each test opens its own page(s) and closes them, so the demo's request
// counters (GET /__stats) only count that test's refetches.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { countEvents, events, openPage, waitForEvent } from './lib/browser.mjs';
import { sleep, waitFor } from './lib/procs.mjs';
import { redisCli } from './lib/stack.mjs';
import * as suite from './lib/suite.mjs';

const { SETTLE_MS } = suite;

let stack;
let browser;
let artifacts;
// demo0: default token lifetime; demo1: 3 s tokens for the expiry test.
suite.useStack('e2e', { demoCount: 2, demoEnv: [{}, { TOKEN_TTL: '3' }] }, (s) => {
  ({ stack, browser, artifacts } = s);
});

const demo = () => stack.demoUrls[0];
const putTodo = (id, title) => suite.putTodo(stack, id, title);
const delta = (base, i = 0) => suite.delta(stack, base, { i });
const withPagesOpts = (url, opts, fn) => suite.withPage(browser, url, fn, opts);

async function withPages(n, url, fn) {
  const pages = [];
  try {
    for (let i = 0; i < n; i++) pages.push(await openPage(browser, url));
    return await fn(...pages);
  } finally {
    for (const p of pages) await p.context().close();
  }
}

test('a publish through redis-cli updates the page without a reload', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    assert.equal(await page.evaluate(() => typeof window.Idiomorph), 'undefined', 'the morph library leaks no global');
    assert.deepEqual(await page.evaluate(() => Object.keys(window.livegate).sort()), ['connect', 'disconnect', 'refresh', 'setToken']);
    await page.evaluate(() => { window.__marker = 'still here'; });
    assert.equal(await page.isVisible('#dialog'), false, 'the closed <dialog> is not drawn');
    await page.click('#open-dialog');
    assert.equal(await page.isVisible('#dialog'), true);
    const titleBefore = await page.title();
    const dialogBefore = await page.textContent('#dialog-body');
    const base = await stack.stats();
    await page.screenshot({ path: path.join(artifacts, 'publish-before.png') });

    await putTodo(1001, 'added behind the page\'s back');
    assert.match(await stack.publish('todos', 'x'), /^[1-9]/, 'livegate is subscribed in Redis');
    await page.waitForSelector('#todo-1001', { timeout: 10000 });
    await page.screenshot({ path: path.join(artifacts, 'publish-after.png') });

    assert.equal(await page.evaluate(() => window.__marker), 'still here', 'no reload: window state survives');
    assert.notEqual(await page.title(), titleBefore, '<title> follows the new document');
    assert.equal(await page.evaluate(() => document.getElementById('dialog').open), true, 'the modal <dialog> stays open');
    assert.notEqual(await page.textContent('#dialog-body'), dialogBefore, 'and shows the new content');
    assert.equal(await page.evaluate(() => document.querySelectorAll('script[src$="/livegate.js"]').length), 1,
      'the refetched page\'s script tag is not added (no code runs twice)');
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 });
    assert.equal(await countEvents(page, 'refreshed'), 1);
  });
});

test('typed text, focus, selection, scroll, open <details> and permanent elements survive a refresh', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    await page.fill('#draft', 'a draft in a textarea');
    await page.click('#editable');
    await page.keyboard.press('End');
    await page.keyboard.type(' plus mine');
    await page.click('#more summary');
    await page.click('#note');
    await page.keyboard.type('hello world');
    await page.evaluate(() => {
      document.getElementById('note').setSelectionRange(2, 7);
      window.scrollTo(0, 400);
    });
    const before = await page.evaluate(() => {
      // What the user is looking at: the element at the top of the viewport.
      window.__seen = document.elementFromPoint(450, 5);
      return { y: window.scrollY, top: window.__seen.getBoundingClientRect().top,
        summary: document.querySelector('#more summary').textContent };
    });
    assert.equal(before.y, 400, 'the page is tall enough to scroll');

    await putTodo(1002, 'arrives while the user types');
    await stack.publish('todos', JSON.stringify({ entity: 'todos', id: '1002', action: 'created' }));
    await waitForEvent(page, 'refreshed', 1);
    assert.ok(await page.$('#todo-1002'));

    const after = await page.evaluate(() => {
      const note = document.getElementById('note');
      return {
        note: note.value,
        focused: document.activeElement && document.activeElement.id,
        selection: [note.selectionStart, note.selectionEnd],
        draft: document.getElementById('draft').value,
        editable: document.getElementById('editable').textContent,
        detailsOpen: document.getElementById('more').open,
        summary: document.querySelector('#more summary').textContent,
        y: window.scrollY,
        top: window.__seen.isConnected ? window.__seen.getBoundingClientRect().top : NaN,
        status: document.getElementById('status').textContent,
      };
    });
    assert.equal(after.note, 'hello world');
    assert.equal(after.focused, 'note');
    assert.deepEqual(after.selection, [2, 7]);
    assert.equal(after.draft, 'a draft in a textarea');
    assert.equal(after.editable, 'Edit this text. plus mine');
    assert.equal(after.detailsOpen, true);
    assert.notEqual(after.summary, before.summary, 'the open <details> itself was updated');
    assert.ok(after.y > 400, 'a todo was added above the viewport: the page scrolled down with it');
    assert.ok(Math.abs(after.top - before.top) <= 1, `what the user looked at stayed (${before.top} -> ${after.top})`);
    assert.equal(after.status, 'live', 'data-livegate-permanent content is the page\'s, not the server\'s');
    await page.screenshot({ path: path.join(artifacts, 'preserve-after.png') });
  });
});

test('a livegate:invalidate handler that calls preventDefault gets the message and no refetch happens', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    await page.evaluate(() => {
      window.__handled = [];
      document.addEventListener('livegate:invalidate', (e) => {
        window.__handled.push(e.detail);
        e.preventDefault();
      });
    });
    const base = await stack.stats();
    const data = { entity: 'todos', id: '7', action: 'updated' };
    await stack.publish('todos', JSON.stringify(data));
    const handled = await waitFor('the handler to run', () => page.evaluate(() => window.__handled.length && window.__handled));
    assert.equal(handled.length, 1);
    assert.equal(handled[0].type, 'invalidate');
    assert.equal(handled[0].channel, 'todos');
    assert.deepEqual(handled[0].data, data);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 0, pageLoads: 0 });
    assert.equal(await countEvents(page, 'refreshed'), 0);
  });
});

test('a refetch answering 503 keeps the page and reports livegate:error', { timeout: 60000 }, async () => {
  await withPages(1, demo() + '/?refetch_status=503', async (page) => {
    await page.evaluate(() => { window.__marker = 'kept'; });
    const base = await stack.stats();
    await stack.publish('todos', 'x');
    const [err] = await waitForEvent(page, 'error', 1);
    assert.equal(err.detail.type, 'refresh');
    assert.equal(err.detail.status, 503);
    assert.ok(page.consoleErrors.some((m) => m.startsWith('livegate: refetch answered 503')), 'reported on the console');
    await sleep(SETTLE_MS);
    assert.equal(await page.evaluate(() => window.__marker), 'kept', 'no reload without data-fallback');
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 });
  });
});

test('with data-fallback="reload" a failing refetch reloads the page', { timeout: 60000 }, async () => {
  await withPages(1, demo() + '/?refetch_status=503&fallback=reload', async (page) => {
    await page.evaluate(() => { window.__marker = 'gone after a reload'; });
    const base = await stack.stats();
    await stack.publish('todos', 'x');
    await waitFor('the page to reload', () => page.evaluate(() => window.__marker === undefined).catch(() => false));
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 1 });
  });
});

test('a refetched token naming other channels re-subscribes the open socket', { timeout: 60000 }, async () => {
  try {
    await withPages(1, demo(), async (page) => {
      assert.equal(page.subscribeFrames.length, 1);
      await redisCli(stack.redisPort, ['SET', 'demo:channels', 'todos,room:1']);
      await stack.publish('todos', 'x');
      await waitFor('a second subscribe frame', () => page.subscribeFrames.length >= 2);
      const { channels } = JSON.parse(Buffer.from(page.subscribeFrames[1].token.split('.')[1], 'base64url'));
      assert.deepEqual(channels, ['todos', 'room:1']);
      // livegate follows the whole prefix with one pattern: its `subscribed`
      // answer is what says a publish on room:1 reaches this socket now.
      await waitFor('room:1 in a subscribed answer', () =>
        page.subscribedFrames.some((f) => f.channels.includes('room:1')));
      await stack.publish('room:1', 'y');
      await waitFor('an invalidation on room:1', async () =>
        (await events(page, 'invalidate')).some((e) => e.detail.channel === 'room:1'));
      assert.equal(await countEvents(page, 'connected'), 1, 'the same socket, no reconnect');
    });
  } finally {
    await redisCli(stack.redisPort, ['DEL', 'demo:channels']);
  }
});

test('livegate.disconnect() stops updates; connect() resumes them with one catch-up refetch', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    const base = await stack.stats();
    await page.evaluate(() => window.livegate.disconnect());
    const [gone] = await waitForEvent(page, 'disconnected', 1);
    assert.equal(gone.detail.reconnecting, false);
    await putTodo(1006, 'published while disconnected');
    await stack.publish('todos', 'x');
    await sleep(SETTLE_MS);
    assert.equal(await countEvents(page, 'invalidate'), 0);
    assert.deepEqual(await delta(base), { refetches: 0, pageLoads: 0 });
    assert.equal(await countEvents(page, 'connected'), 1, 'no reconnect after disconnect()');

    await page.evaluate(() => window.livegate.connect());
    const connected = await waitForEvent(page, 'connected', 2);
    assert.equal(connected[1].detail.reconnect, true);
    await page.waitForSelector('#todo-1006', { state: 'attached', timeout: 10000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 });

    assert.equal(await page.evaluate(() => window.livegate.refresh()), true, 'refresh() resolves to true');
    assert.deepEqual(await delta(base), { refetches: 2, pageLoads: 0 });
  });
});

test('a burst of 50 publishes costs the origin at most 2 refetches per 150 ms window', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    const base = await stack.stats();
    await stack.pipe(Array.from({ length: 50 }, (_, i) => `PUBLISH todos burst-${i}`));
    // One invalidate per PUBLISH (contract): a page that keeps up hears all 50.
    await waitFor('the burst\'s last invalidation to reach the page', async () =>
      (await events(page, 'invalidate')).some((e) => e.detail.data === 'burst-49'));
    const burst = (await events(page, 'invalidate')).filter((e) => String(e.detail.data).startsWith('burst-'));
    assert.deepEqual(burst.map((e) => e.detail.data), Array.from({ length: 50 }, (_, i) => `burst-${i}`));
    await waitFor('a refetch', async () => (await delta(base)).refetches >= 1);
    await sleep(SETTLE_MS);
    const d = await delta(base);
    // The first invalidation refetches at once; the rest of a burst that
    // fits in the 150 ms window costs one trailing refetch. On a loaded
    // machine the 50 frames may take longer to arrive: one more per window.
    const span = burst.at(-1).at - burst[0].at;
    assert.ok(d.refetches >= 1 && d.refetches <= 1 + Math.ceil((span + 1) / 150),
      `refetches: ${d.refetches} for a burst over ${span} ms`);
    assert.equal(d.pageLoads, 0);
  });
});

test('data-spread delays the refetch by a random part of the spread', { timeout: 60000 }, async () => {
  // Math.random pinned to 0.9: the refetch must wait 0.9 * spread.
  const pin = () => { Math.random = () => 0.9; };
  await withPagesOpts(demo() + '?spread=2000', { initScript: pin }, async (page) => {
    const base = await stack.stats();
    await stack.publish('todos', 'spread-me');
    await waitForEvent(page, 'refreshed', 1);
    const inv = (await events(page, 'invalidate')).find((e) => e.detail.data === 'spread-me');
    const done = (await events(page, 'refreshed'))[0];
    assert.ok(done.at - inv.at >= 0.9 * 2000 - 50, `refetched ${done.at - inv.at} ms after the invalidate`);
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 });
  });
});

test('a hidden tab does not refetch, and refetches once when shown', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    await page.evaluate(() => window.__lgSetHidden(true));
    const base = await stack.stats();
    await putTodo(1003, 'published while hidden');
    for (let i = 0; i < 3; i++) {
      await stack.publish('todos', `hidden-${i}`);
      await sleep(300); // separate invalidations, not one debounced burst
    }
    await waitForEvent(page, 'invalidate', 3);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 0, pageLoads: 0 }, 'hidden: no refetch');
    assert.equal(await page.$('#todo-1003'), null);

    await page.evaluate(() => window.__lgSetHidden(false));
    await page.waitForSelector('#todo-1003', { timeout: 10000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 }, 'shown: exactly one refetch');
  });
});

test('two windows converge after a todo is added in one', { timeout: 60000 }, async () => {
  await withPages(2, demo(), async (a, b) => {
    await b.evaluate(() => { window.__marker = 'b'; });
    await b.screenshot({ path: path.join(artifacts, 'two-windows-b-before.png') });
    await a.fill('#new-title', 'buy milk');
    await Promise.all([a.waitForURL(demo() + '/'), a.click('#add-button')]);
    await a.waitForSelector('#todos li:has-text("buy milk")');
    await b.waitForSelector('#todos li:has-text("buy milk")', { timeout: 10000 });
    await b.screenshot({ path: path.join(artifacts, 'two-windows-b-after.png') });
    assert.equal(await b.evaluate(() => window.__marker), 'b', 'window b updated without a reload');
    const items = (p) => p.$$eval('#todos li', (lis) => lis.map((li) => li.id + ' ' + li.textContent.trim()));
    assert.deepEqual(await items(b), await items(a));
  });
});

test('an expired token is renewed by a refetch and the page stays live', { timeout: 60000 }, async () => {
  const url = stack.demoUrls[1]; // TOKEN_TTL=3
  await withPages(1, url, async (page) => {
    const base = await stack.stats(1);
    const closes = await waitFor('a 4002 close', async () =>
      (await events(page, 'disconnected')).filter((e) => e.detail.code === 4002).length > 0, { timeout: 15000 });
    assert.ok(closes);
    await waitForEvent(page, 'connected', 2, 15000);
    assert.ok((await delta(base, 1)).refetches >= 1, 'the page was refetched for a fresh token');
    const tokens = page.subscribeFrames.map((f) => f.token);
    assert.ok(tokens.length >= 2, `subscribe frames: ${tokens.length}`);
    assert.notEqual(tokens[1], tokens[0], 'the reconnect used the refetched page\'s token');
    for (const f of page.subscribeFrames) {
      const { exp } = JSON.parse(Buffer.from(f.token.split('.')[1], 'base64url'));
      assert.ok(exp * 1000 > f.sentAt, 'never reconnects with the expired token');
    }
    assert.equal((await delta(base, 1)).pageLoads, 0);

    await putTodo(1004, 'after a token renewal');
    await stack.publish('todos', 'x');
    await page.waitForSelector('#todo-1004', { timeout: 10000 });
  });
});

test('every refetch goes through livegate:invalidate: a page that takes over an expiry is not refetched behind its back', { timeout: 60000 }, async () => {
  const url = stack.demoUrls[1]; // TOKEN_TTL=3
  await withPages(1, url, async (page) => {
    await page.evaluate(() => {
      window.__reasons = [];
      document.addEventListener('livegate:invalidate', (e) => {
        window.__reasons.push(e.detail.reason || e.detail.channel);
        e.preventDefault();
      });
    });
    const base = await stack.stats(1);
    await waitFor('the expiry to be offered to the page', () =>
      page.evaluate(() => window.__reasons.includes('expired')), { timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base, 1), { refetches: 0, pageLoads: 0 }, 'the script did not refetch');
    assert.equal(await countEvents(page, 'connected'), 1, 'no reconnect with the expired token');

    // The page renews the token its own way and hands it over.
    await page.evaluate(async () => {
      const html = await (await fetch(location.href)).text();
      const doc = new DOMParser().parseFromString(html, 'text/html');
      window.livegate.setToken(doc.querySelector('script[data-token]').dataset.token);
    });
    await waitForEvent(page, 'connected', 2);
    assert.equal((await delta(base, 1)).refetches, 0);
    assert.equal(await countEvents(page, 'refreshed'), 0);
  });
});

test('React on a classic page: an island is left alone by the morph; a root owning the body stops refetches', { timeout: 60000 }, async () => {
  await withPages(1, demo(), async (page) => {
    // What createRoot leaves on its container: a "__reactContainer$<random>" key.
    await page.evaluate(() => {
      const island = document.createElement('div');
      island.id = 'island';
      island.textContent = 'React renders this';
      island['__reactContainer$test'] = {};
      document.querySelector('.playground').append(island);
    });
    const base = await stack.stats();
    await putTodo(1007, 'next to an island');
    await stack.publish('todos', 'x');
    await page.waitForSelector('#todo-1007', { state: 'attached', timeout: 10000 });
    assert.equal(await page.textContent('#island'), 'React renders this', 'the island survives the morph');

    const warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    await page.evaluate(() => {
      const root = document.createElement('div');
      root['__reactContainer$test'] = {};
      document.body.append(root); // a root at the body's level: React owns the page
    });
    await putTodo(1008, 'not refetched');
    await stack.publish('todos', 'y');
    await waitForEvent(page, 'invalidate', 2);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 }, 'no refetch once React owns the page');
    assert.equal(await page.$('#todo-1008'), null);
    assert.equal(warnings.filter((w) => w.includes('livegate/react')).length, 1, 'says once what to use instead');
    assert.equal(await page.evaluate(() => window.livegate.refresh()), false, 'refresh() refuses too');
  });
});

test('livegate killed and restarted: the page reconnects and refetches once', { timeout: 90000 }, async () => {
  await withPages(1, demo(), async (page) => {
    await page.evaluate(() => { window.__marker = 'kept'; });
    const base = await stack.stats();
    await stack.livegate.kill();
    await waitForEvent(page, 'disconnected', 1);
    await putTodo(1005, 'written while livegate was down');
    await stack.startLivegate();
    await waitForEvent(page, 'connected', 2, 45000);
    await page.waitForSelector('#todo-1005', { timeout: 10000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(base), { refetches: 1, pageLoads: 0 });
    assert.equal(await page.evaluate(() => window.__marker), 'kept');
  });
});

test('heartbeat: pings every 25 s, and a server that stops answering is replaced', { timeout: 90000 }, async () => {
  const page = await openPage(browser, demo(), { fakeClock: true });
  try {
    await page.clock.runFor(25000);
    await waitFor('a ping', () => page.pings >= 1);
    await sleep(500); // the pong comes back over the real network
    await page.clock.runFor(10000);
    assert.equal(await countEvents(page, 'disconnected'), 0, 'answered pings keep the connection');

    stack.livegate.signal('SIGSTOP'); // alive to TCP, silent to the page
    try {
      await page.clock.runFor(25000);
      await waitFor('a second ping', () => page.pings >= 2);
      await page.clock.runFor(10000);
      const [gone] = await waitForEvent(page, 'disconnected', 1);
      assert.equal(gone.detail.reason, 'no pong');
    } finally {
      stack.livegate.signal('SIGCONT');
    }
    await waitFor('a reconnect', async () => {
      await page.clock.runFor(1000); // the backoff timer runs on the fake clock
      return (await countEvents(page, 'connected')) >= 2;
    }, { timeout: 30000, interval: 200 });
  } finally {
    await page.context().close();
  }
});

test('Redis restarted: the resync invalidation refreshes the page', { timeout: 90000 }, async () => {
  await withPages(1, demo(), async (page) => {
    await page.evaluate(() => { window.__marker = 'kept'; });
    assert.ok(await page.$$eval('#todos li', (l) => l.length) > 0, 'earlier tests left todos to lose');
    const base = await stack.stats();
    await stack.redis.kill(); // no persistence: the restarted Redis is empty
    await stack.startRedis();
    await waitFor('a resync invalidation', async () =>
      (await events(page, 'invalidate')).some((e) => e.detail.reason === 'resync'), { timeout: 45000 });
    await page.waitForFunction(() => document.querySelectorAll('#todos li').length === 0, null, { timeout: 10000 });
    assert.equal(await page.evaluate(() => window.__marker), 'kept');
    assert.ok((await delta(base)).refetches >= 1);
    assert.equal((await delta(base)).pageLoads, 0);
  });
});
