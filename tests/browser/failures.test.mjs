// End-to-end tests of what the drop-in script says when something goes
// wrong (issue 14): a refetch that lands elsewhere (the session ended) is
// never morphed, a 404/405 stops refetching, and every refusal or outage
// gives a livegate:error (or livegate:degraded) that says what to fix.
//
// Run: node tests/browser/run.mjs [path/to/livegate] failures.test.mjs

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { mintToken } from '../../clients/js/src/server.js';
import { countEvents, events, newContext, openPage, waitForEvent } from './lib/browser.mjs';
import { sleep, waitFor } from './lib/procs.mjs';
import { SETTLE_MS, delta, putTodo, useStack, withPage } from './lib/suite.mjs';

const s = useStack('failures');
const demo = () => s.stack.demoUrls[0];

// A token signed with any claims (the server's mintToken refuses odd ones).
function sign(claims, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims);
  return input + '.' + createHmac('sha256', secret).update(input).digest('base64url');
}
const withToken = (token, path = '/') => `${demo()}${path}?token=${encodeURIComponent(token)}`;

// Signs in (the demo's cookie) and opens /private in that browser context.
async function privatePage(query = '') {
  const context = await newContext(s.browser);
  await context.addCookies([{ name: 'demo_session', value: '1', url: demo() }]);
  const page = await openPage(s.browser, `${demo()}/private${query}`, { context });
  await page.fill('#private-note', 'typed before the session ended');
  return page;
}

test('a refetch redirected to the login page is not morphed: livegate:error type session', { timeout: 60000 }, async () => {
  const page = await privatePage();
  try {
    await page.context().clearCookies(); // the session ends
    await s.stack.publish('todos', 'x');
    const [err] = await waitForEvent(page, 'error', 1);
    assert.equal(err.detail.type, 'session');
    assert.match(err.detail.url, /\/login$/);
    assert.match(err.detail.message, /redirected to .*\/login/);
    assert.equal(page.url(), `${demo()}/private`);
    assert.ok(await page.$('#private-marker'), 'the page is still the private page');
    assert.equal(await page.$('#login'), null, 'the login form was not morphed in');
    assert.equal(await page.inputValue('#private-note'), 'typed before the session ended');
    assert.equal(await countEvents(page, 'refreshed'), 0);
  } finally {
    await page.context().close();
  }
});

for (const status of [401, 403]) {
  test(`a refetch answering ${status} is not morphed: livegate:error type session`, { timeout: 60000 }, async () => {
    const page = await privatePage(`?unauth=${status}`);
    try {
      await page.context().clearCookies();
      await s.stack.publish('todos', 'x');
      const [err] = await waitForEvent(page, 'error', 1);
      assert.equal(err.detail.type, 'session');
      assert.equal(err.detail.status, status);
      assert.ok(await page.$('#private-marker'));
      assert.equal(await page.inputValue('#private-note'), 'typed before the session ended');
    } finally {
      await page.context().close();
    }
  });
}

test('with data-fallback="reload" the ended session reloads, so the login page shows at its own URL', { timeout: 60000 }, async () => {
  const page = await privatePage('?fallback=reload');
  try {
    await page.context().clearCookies();
    await s.stack.publish('todos', 'x');
    await page.waitForURL(`${demo()}/login`, { timeout: 15000 });
    assert.ok(await page.$('#login'));
  } finally {
    await page.context().close();
  }
});

test('a page rendered in answer to a POST: its refetch answers 405, refetching stops and says why once', { timeout: 60000 }, async () => {
  const context = await newContext(s.browser);
  try {
    const page = await context.newPage();
    await page.goto(demo() + '/');
    await page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/add';
      document.body.append(f);
      f.submit(); // an empty title: the form comes back with an error, at /add
    });
    await page.waitForURL(`${demo()}/add`);
    await waitForEvent(page, 'connected', 1);
    const base = await s.stack.stats();
    await s.stack.publish('todos', 'first');
    const [err] = await waitForEvent(page, 'error', 1);
    assert.equal(err.detail.type, 'refresh');
    assert.equal(err.detail.status, 405);
    assert.match(err.detail.message, /answer to a POST.*no longer refreshed/);
    await s.stack.publish('todos', 'second');
    await waitForEvent(page, 'invalidate', 2);
    await sleep(SETTLE_MS);
    assert.deepEqual(await delta(s.stack, base, { path: '/add' }), { refetches: 1, pageLoads: 0 }, 'no second refetch');
    assert.equal(await countEvents(page, 'error'), 1, 'said once');
    assert.ok(await page.$('#add-error'), 'the page as it was');
  } finally {
    await context.close();
  }
});

test('a refetch answering 404 stops refetching and says why once', { timeout: 60000 }, async () => {
  await withPage(s.browser, demo() + '/?refetch_status=404', async (page) => {
    const base = await s.stack.stats();
    await s.stack.publish('todos', 'first');
    const [err] = await waitForEvent(page, 'error', 1);
    assert.equal(err.detail.status, 404);
    assert.match(err.detail.message, /page is gone/);
    await s.stack.publish('todos', 'second');
    await waitForEvent(page, 'invalidate', 2);
    await sleep(SETTLE_MS);
    assert.equal((await delta(s.stack, base)).refetches, 1);
    assert.equal(await countEvents(page, 'error'), 1);
  });
});

const refusals = [
  ['bad_signature', () => mintToken({ channels: ['todos'] }, 'another secret, not livegate\'s, 32+ bytes'), /another secret than livegate's/],
  ['exp_too_far', () => sign({ channels: ['todos'], iat: Date.now() / 1000, exp: Date.now() }, s.stack.secret), /milliseconds instead of seconds/],
  ['malformed', () => 'not-a-jwt', /not a JWT/],
];
for (const [reason, token, hint] of refusals) {
  test(`a token refused with ${reason}: livegate:error names the reason and its usual cause`, { timeout: 60000 }, async () => {
    await withPage(s.browser, withToken(token()), async (page) => {
      const [err] = await waitForEvent(page, 'error', 1);
      assert.equal(err.detail.type, 'auth');
      assert.equal(err.detail.code, 4001);
      assert.equal(err.detail.reason, reason);
      assert.match(err.detail.message, hint);
      const [gone] = await events(page, 'disconnected');
      assert.equal(gone.detail.reconnecting, false);
      assert.ok(page.consoleErrors.some((m) => m.includes(reason)), 'on the console too');
    }, { until: 'error' });
  });
}

test('a page served with an expired token that a refetch does not renew stops: the backend must mint a token per render', { timeout: 60000 }, async () => {
  const expired = mintToken({ channels: ['todos'], ttl: 60, now: Date.now() - 3600 * 1000 }, s.stack.secret);
  await withPage(s.browser, withToken(expired), async (page) => {
    const base = await s.stack.stats();
    const [err] = await waitForEvent(page, 'error', 1, 20000);
    assert.equal(err.detail.type, 'auth');
    assert.match(err.detail.message, /the backend must mint a token for every render/);
    await sleep(SETTLE_MS * 2);
    assert.ok((await delta(s.stack, base)).refetches <= 1, 'no refetch loop');
    assert.equal(await countEvents(page, 'connected'), 0);
    assert.equal(page.subscribeFrames.length, 1, 'never subscribes with it again');
  }, { until: null });
});

test('livegate refused by the page\'s Origin: after 3 failures a livegate:error type connect names the usual causes', { timeout: 60000 }, async () => {
  // The demo at localhost: an origin livegate does not allow (403).
  const url = demo().replace('127.0.0.1', 'localhost');
  await withPage(s.browser, url, async (page) => {
    const [err] = await waitForEvent(page, 'error', 1, 30000);
    assert.equal(err.detail.type, 'connect');
    assert.equal(err.detail.attempts, 3);
    assert.match(err.detail.message, /LIVEGATE_ALLOWED_ORIGINS must list http:\/\/localhost:\d+/);
    assert.match(err.detail.message, /URL is wrong/);
    assert.match(err.detail.message, /WebSocket upgrades/);
    assert.equal(await countEvents(page, 'connected'), 0);
    await waitFor('livegate to log the refusal', () => /origin_refused.*localhost/.test(s.stack.livegate.tail(200)));
  }, { until: null });
});

test('Redis down: livegate:degraded after the grace period, livegate:restored once it is back, then the resync refreshes', { timeout: 90000 }, async () => {
  await withPage(s.browser, demo(), async (page) => {
    await putTodo(s.stack, 1601, 'lost with Redis');
    await s.stack.redis.kill();
    const [deg] = await waitForEvent(page, 'degraded', 1, 20000);
    assert.equal(deg.detail.reason, 'redis');
    assert.match(deg.detail.message, /Redis/);
    assert.equal(await countEvents(page, 'restored'), 0);
    await s.stack.startRedis();
    const [back] = await waitForEvent(page, 'restored', 1, 30000);
    assert.ok(back.detail.after >= 3000);
    await waitFor('the resync invalidation', async () =>
      (await events(page, 'invalidate')).some((e) => e.detail.reason === 'resync'), { timeout: 30000 });
    await page.waitForFunction(() => !document.getElementById('todo-1601'), null, { timeout: 15000 });
  });
});
