// End-to-end tests of when and how the drop-in script refreshes (issue 14):
// the leading edge, data-max-rate, the URL as it is when the refresh
// starts, scroll anchoring with and without CSS scroll anchoring, and big
// pages morphed without touching what did not change. Timings are printed
// as figures (the benchmark is tests/browser/bench.mjs), never asserted.
//
// Run: node tests/browser/run.mjs [path/to/livegate] refresh.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { events, waitForEvent } from './lib/browser.mjs';
import { sleep, waitFor } from './lib/procs.mjs';
import { Resp } from './lib/resp.mjs';
import { redisCli } from './lib/stack.mjs';
import { SETTLE_MS, delta, putTodo, quantile, useStack, withPage } from './lib/suite.mjs';

const s = useStack('refresh');
const demo = () => s.stack.demoUrls[0];
const set = (key, value) => redisCli(s.stack.redisPort, ['SET', key, String(value)]);

test('leading edge: the first invalidation refetches at once, even with a 60 s window; the next waits for the window', { timeout: 60000 }, async () => {
  await withPage(s.browser, demo() + '/?debounce=60000', async (page) => {
    const base = await s.stack.stats();
    await putTodo(s.stack, 1401, 'at once');
    await s.stack.publish('todos', 'first');
    await waitForEvent(page, 'refreshed', 1);
    assert.ok(await page.$('#todo-1401'), 'refreshed long before the window ended');
    await putTodo(s.stack, 1402, 'at the window\'s end');
    await s.stack.publish('todos', 'second');
    await waitForEvent(page, 'invalidate', 2);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(s.stack, base), { refetches: 1, pageLoads: 0 }, 'the second waits for the window');
    assert.equal(await page.$('#todo-1402'), null);
  });
});

test('data-max-rate: refetches at least 1/rate s apart; the last invalidation is still answered', { timeout: 60000 }, async () => {
  // When the page itself asks for each refetch: a request seen from outside
  // (Playwright's event) may be seen late, the first one under load too.
  const recordRefetches = () => {
    const fetch0 = window.fetch;
    window.__refetchAt = [];
    window.fetch = function (input, init) {
      if (init && init.headers && init.headers['X-Livegate-Refetch']) window.__refetchAt.push(performance.now());
      return fetch0.apply(this, arguments);
    };
  };
  await withPage(s.browser, demo() + '/?max_rate=0.5', async (page) => {
    for (let i = 0; i < 4; i++) {
      if (i === 3) await putTodo(s.stack, 1403, 'the last of four');
      await s.stack.publish('todos', `rate-${i}`);
      await sleep(200);
    }
    await page.waitForSelector('#todo-1403', { state: 'attached', timeout: 15000 });
    await sleep(SETTLE_MS);
    const starts = await page.evaluate(() => window.__refetchAt);
    assert.equal(starts.length, 2, 'the leading refetch and one trailing');
    // A lower bound: timers never fire early, however loaded the machine.
    assert.ok(starts[1] - starts[0] >= 2000 - 50, `${starts[1] - starts[0]} ms apart`);
  }, { initScript: recordRefetches });
});

test('publish -> DOM on the demo, 20 runs (a figure; the target is p50 <= 60 ms)', { timeout: 120000 }, async () => {
  const redis = await Resp.connect(s.stack.redisPort);
  try {
    await withPage(s.browser, demo(), async (page) => {
      const ms = [];
      for (let i = 0; i < 20; i++) {
        const id = 1500 + i;
        await putTodo(s.stack, id, `latency ${i}`);
        const seen = page.evaluate((sel) => new Promise((resolve) => {
          const mo = new MutationObserver(() => {
            if (document.querySelector(sel)) {
              mo.disconnect();
              resolve(Date.now());
            }
          });
          mo.observe(document.body, { subtree: true, childList: true });
        }), `#todo-${id}`);
        await sleep(300); // a quiet period, as between two clicks
        let t0 = 0;
        await redis.command(['PUBLISH', 'todos', 'latency'], () => { t0 = Date.now(); });
        ms.push((await seen) - t0);
      }
      assert.equal(ms.length, 20, 'every publish reached the DOM');
      console.log(`# publish -> DOM, 20 runs: p50 ${quantile(ms, 0.5)} ms, p90 ${quantile(ms, 0.9)} ms, max ${Math.max(...ms)} ms`);
    });
  } finally {
    redis.close();
  }
});

test('the refetch asks for the URL as it is when it starts: a user who navigated is not dragged back', { timeout: 60000 }, async () => {
  const pin = () => { Math.random = () => 0.9; };
  await withPage(s.browser, demo() + '/?spread=1500', async (page) => {
    const asked = [];
    page.on('request', (r) => {
      if (r.headers()['x-livegate-refetch']) asked.push(r.url());
    });
    await s.stack.publish('todos', 'then navigate');
    await waitForEvent(page, 'invalidate', 1);
    await page.evaluate(() => history.pushState(null, '', '/?moved=1')); // as a client-side router does
    await waitForEvent(page, 'refreshed', 1);
    assert.deepEqual(asked, [demo() + '/?moved=1']);
    assert.equal(page.url(), demo() + '/?moved=1');
  }, { initScript: pin });
});

// The row at the top of the viewport: its id and where it is.
const firstVisible = (page) => page.evaluate(() => {
  for (const tr of document.querySelectorAll('#rows tr')) {
    const r = tr.getBoundingClientRect();
    if (r.bottom > 0) return { id: tr.id, top: r.top, y: window.scrollY };
  }
  return null;
});
const topOf = (page, id) => page.evaluate((i) => document.getElementById(i).getBoundingClientRect().top, id);

for (const css of [true, false]) {
  test(`scroll anchoring ${css ? 'with' : 'without (overflow-anchor: none, as Safari)'} CSS scroll anchoring: rows added and removed above stay out of sight`, { timeout: 60000 }, async () => {
    await set('demo:rows:above', 0);
    await withPage(s.browser, demo() + `/rows?n=400${css ? '' : '&anchor=none'}`, async (page) => {
      assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).overflowAnchor), css ? 'auto' : 'none');
      await page.evaluate(() => window.scrollTo(0, 4000));
      const before = await firstVisible(page);
      assert.ok(before.y === 4000 && before.id.startsWith('row-'));

      await set('demo:rows:above', 5);
      await s.stack.publish('rows', 'added above');
      await waitForEvent(page, 'refreshed', 1);
      assert.equal(await page.locator('[id^="above-"]').count(), 5);
      const added = await topOf(page, before.id);
      assert.ok(Math.abs(added - before.top) <= 1, `${before.id} moved from ${before.top} to ${added} px`);
      assert.ok(await page.evaluate(() => window.scrollY) > 4000, 'the page scrolled with the content');

      await set('demo:rows:above', 2);
      await s.stack.publish('rows', 'removed above');
      await waitForEvent(page, 'refreshed', 2);
      assert.equal(await page.locator('[id^="above-"]').count(), 2);
      const removed = await topOf(page, before.id);
      assert.ok(Math.abs(removed - before.top) <= 1, `${before.id} moved from ${before.top} to ${removed} px`);
    });
    await set('demo:rows:above', 0);
  });
}

test('scrolled to the top, the page stays at the top when rows arrive above', { timeout: 60000 }, async () => {
  await set('demo:rows:above', 0);
  await withPage(s.browser, demo() + '/rows?n=200', async (page) => {
    await set('demo:rows:above', 3);
    await s.stack.publish('rows', 'added at the top');
    await waitForEvent(page, 'refreshed', 1);
    assert.equal(await page.evaluate(() => window.scrollY), 0);
    assert.ok(await page.$('#above-3'));
  });
  await set('demo:rows:above', 0);
});

// Marks every row node, so that a refresh that replaced one is seen.
const markRows = (page) => page.evaluate(() => {
  for (const tr of document.querySelectorAll('#rows tr')) tr.__mark = tr.id;
});
const unmarked = (page) => page.evaluate(() => [...document.querySelectorAll('#rows tr')]
  .filter((tr) => tr.__mark !== tr.id).map((tr) => tr.id));

// The page's own figures for its last refresh: parse and morph (User
// Timing, written by the script) and the longest task meanwhile.
const watchTasks = (page) => page.evaluate(() => {
  performance.clearMeasures();
  window.__tasks = [];
  window.__po = new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__tasks.push(e.duration); });
  window.__po.observe({ type: 'longtask' });
});
const figures = (page) => page.evaluate(() => {
  window.__po.disconnect();
  const m = (n) => Math.round(performance.getEntriesByName(n, 'measure').reduce((a, e) => a + e.duration, 0));
  return { parse: m('livegate:parse'), morph: m('livegate:morph'), longestTask: Math.round(Math.max(0, ...window.__tasks)) };
});

for (const n of [2000, 10000]) {
  test(`a ${n}-row page where one row changed or rows arrived: only that is touched`, { timeout: 120000 }, async () => {
    await set('demo:rows:above', 0);
    await set('demo:rows:changed', Math.floor(n * 0.75));
    await set('demo:rows:rev', 1);
    await withPage(s.browser, demo() + `/rows?n=${n}`, async (page) => {
      await markRows(page);
      await set('demo:rows:rev', 2);
      await watchTasks(page);
      await s.stack.publish('rows', 'one row changed');
      await waitForEvent(page, 'refreshed', 1, 30000);
      const f = await figures(page);
      const changed = `row-${Math.floor(n * 0.75)}`;
      assert.equal(await page.textContent(`#${changed} .rev`), 'rev 2');
      assert.deepEqual(await unmarked(page), [], 'every row is the same node as before');
      console.log(`# ${n} rows, one changed: parse ${f.parse} ms, morph ${f.morph} ms, longest task ${f.longestTask} ms`);

      await set('demo:rows:above', 3);
      await s.stack.publish('rows', 'rows added');
      await waitForEvent(page, 'refreshed', 2, 30000);
      assert.deepEqual(await unmarked(page), ['above-3', 'above-2', 'above-1'], 'only the new rows are new nodes');
    });
    await set('demo:rows:above', 0);
  });
}
