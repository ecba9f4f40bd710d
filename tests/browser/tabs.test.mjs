// End-to-end tests of one connection per browser (issue 14): tabs of one
// origin following the same channels share one WebSocket (the leading tab's)
// and one refetch per URL; when the leading tab closes, another takes over
// and every tab converges. Tabs are pages of one browser context (they
// share Web Locks and BroadcastChannel, as a profile's tabs do); hidden
// tabs are really hidden (a Chromium without focus emulation, where a tab
// opened in front hides the one behind).
//
// Run: node tests/browser/run.mjs [path/to/livegate] tabs.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newContext, openPage, recordEvents, waitForEvent } from './lib/browser.mjs';
import { launchWithRealTabs } from './lib/next-app.mjs';
import { sleep, waitFor } from './lib/procs.mjs';
import { SETTLE_MS, delta, putTodo, useStack } from './lib/suite.mjs';

const s = useStack('tabs');
const demo = () => s.stack.demoUrls[0];
const sockets = (pages) => pages.reduce((n, p) => n + p.sockets, 0);

async function openTabs(context, n) {
  const pages = [];
  for (let i = 0; i < n; i++) pages.push(await openPage(s.browser, demo(), { context }));
  return pages;
}

test('five tabs of one page: one connection, and one publish costs the origin one request', { timeout: 90000 }, async () => {
  const context = await newContext(s.browser);
  try {
    const tabs = await openTabs(context, 5);
    assert.equal(sockets(tabs), 1, 'one WebSocket for the five tabs');
    const base = await s.stack.stats();
    await putTodo(s.stack, 1701, 'seen by five tabs');
    await s.stack.publish('todos', 'x');
    for (const t of tabs) await t.waitForSelector('#todo-1701', { state: 'attached', timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(s.stack, base), { refetches: 1, pageLoads: 0 }, 'one refetch, handed to every tab');
    for (const t of tabs) assert.equal((await t.evaluate(() => window.__lg.events.filter((e) => e.name === 'refreshed').length)), 1);

    // Each tab morphs into its own DOM and keeps its own typed state.
    await tabs[1].fill('#note', 'typed in tab 1');
    await tabs[2].fill('#note', 'typed in tab 2');
    await putTodo(s.stack, 1702, 'again');
    await s.stack.publish('todos', 'y');
    for (const t of tabs) await t.waitForSelector('#todo-1702', { state: 'attached', timeout: 15000 });
    assert.equal(await tabs[1].inputValue('#note'), 'typed in tab 1');
    assert.equal(await tabs[2].inputValue('#note'), 'typed in tab 2');
    assert.equal(sockets(tabs), 1);
  } finally {
    await context.close();
  }
});

test('the leading tab closes mid-burst: another tab connects, and every tab converges', { timeout: 90000 }, async () => {
  const context = await newContext(s.browser);
  try {
    const tabs = await openTabs(context, 5);
    const leader = tabs.find((t) => t.sockets === 1);
    const rest = tabs.filter((t) => t !== leader);
    await putTodo(s.stack, 1711, 'in the burst');
    await s.stack.pipe(Array.from({ length: 30 }, (_, i) => `PUBLISH todos burst-${i}`));
    await waitForEvent(leader, 'invalidate', 1);
    await leader.close(); // mid-burst
    await putTodo(s.stack, 1712, 'published during the handover');
    await s.stack.publish('todos', 'during');
    for (const t of rest) {
      await t.waitForSelector('#todo-1711', { state: 'attached', timeout: 20000 });
      await t.waitForSelector('#todo-1712', { state: 'attached', timeout: 20000 });
    }
    await waitFor('a tab to take over', () => sockets(rest) === 1, { timeout: 20000 });
    await putTodo(s.stack, 1713, 'after the handover');
    await s.stack.publish('todos', 'after');
    for (const t of rest) await t.waitForSelector('#todo-1713', { state: 'attached', timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.equal(sockets(rest), 1, 'still one connection');
  } finally {
    await context.close();
  }
});

test('tabs following other channels keep their own connection', { timeout: 60000 }, async () => {
  const context = await newContext(s.browser);
  try {
    const [a] = await openTabs(context, 1);
    const rows = await openPage(s.browser, demo() + '/rows?n=10', { context });
    assert.equal(a.sockets + rows.sockets, 2);
  } finally {
    await context.close();
  }
});

test('really hidden tabs: a hidden leader still serves a visible tab; shown, it refreshes without another request', { timeout: 90000 }, async () => {
  const real = await launchWithRealTabs(s.artifacts);
  try {
    await real.context.addInitScript(recordEvents);
    const open = async () => {
      const page = await real.context.newPage(); // in front: the tab behind is hidden
      page.sockets = 0;
      page.on('websocket', () => { page.sockets++; });
      await page.goto(demo());
      await waitForEvent(page, 'connected', 1);
      return page;
    };
    const a = await open();
    const b = await open();
    const visibility = (p) => p.evaluate(() => document.visibilityState);
    await waitFor('a to be hidden', async () => (await visibility(a)) === 'hidden');
    assert.equal(await visibility(b), 'visible');
    assert.deepEqual([a.sockets, b.sockets], [1, 0], 'the first tab leads, hidden or not');

    const base = await s.stack.stats();
    await putTodo(s.stack, 1721, 'while a is hidden');
    await s.stack.publish('todos', 'x');
    await b.waitForSelector('#todo-1721', { state: 'attached', timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.equal(await a.$('#todo-1721'), null, 'the hidden tab does not refresh');
    assert.deepEqual(await delta(s.stack, base), { refetches: 1, pageLoads: 0 });

    await a.bringToFront();
    await waitFor('a to be visible', async () => (await visibility(a)) === 'visible');
    await a.waitForSelector('#todo-1721', { state: 'attached', timeout: 15000 });
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(s.stack, base), { refetches: 1, pageLoads: 0 },
      'shown, it refreshes from the page fetched for b: nothing newer was published');
  } finally {
    await real.close();
  }
});
