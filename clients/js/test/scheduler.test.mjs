// The scheduling policy (src/core/scheduler.js): leading edge, the window
// and the one trailing run, at most one run in flight, a maximum rate,
// hidden tabs, spread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduler } from '../src/core/scheduler.js';
import { fakeEnv } from './fake.mjs';

const inv = (channel, data) => ({ type: 'invalidate', channel, data });

// A run that records its batch and start time and finishes when the test says so.
function recorder(env) {
  const runs = [];
  const run = (batch) => new Promise((resolve) => runs.push({ batch, at: env.now(), finish: resolve }));
  return { runs, run };
}

test('the first invalidation of a quiet period runs at once', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  const t0 = env.now();
  s.want(inv('a', 1), 0);
  assert.equal(r.runs.length, 1, 'no timer in between');
  assert.equal(r.runs[0].at, t0);
  assert.equal(r.runs[0].batch.message.data, 1);
  r.runs[0].finish(true);
  await env.advance(1000);
  s.want(inv('a', 2), 0);
  assert.equal(r.runs.length, 2, 'a quiet period later, at once again');
});

test('a burst costs two runs: the leading one and one trailing at the window\'s end, which sees the rest', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  const t0 = env.now();
  s.want(inv('a', 0), 0);
  await env.advance(10);
  r.runs[0].finish(true); // a fast refetch
  for (let i = 1; i < 50; i++) {
    s.want(inv(i % 2 ? 'a' : 'b', i), 0);
    await env.advance(2);
  }
  assert.equal(r.runs.length, 1, 'the rest of the burst waits for the window');
  await env.advance(150);
  assert.equal(r.runs.length, 2);
  assert.equal(r.runs[1].at - t0, 150, 'the trailing run starts when the window ends');
  const b = r.runs[1].batch;
  assert.equal(b.count, 49);
  assert.equal(b.message.data, 49, 'the latest message');
  assert.deepEqual(b.channels.sort(), ['a', 'b']);
  r.runs[1].finish(true);
  await env.advance(5000);
  assert.equal(r.runs.length, 2, 'nothing more after the burst');
});

test('invalidations during a long run earn exactly one more run, when it ends', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a', 'first'), 0);
  for (let i = 0; i < 50; i++) {
    s.want(inv('a', i), 0);
    await env.advance(20); // 1 s of invalidations while the run is in flight
  }
  assert.equal(r.runs.length, 1, 'at most one run in flight');
  r.runs[0].finish(true);
  await env.advance(0);
  assert.equal(r.runs.length, 2, 'past the window already: at once');
  assert.equal(r.runs[1].batch.count, 50, 'the second run answers everything that came during the first');
  r.runs[1].finish(true);
  await env.advance(5000);
  assert.equal(r.runs.length, 2);
});

test('maxRate spaces runs at least 1/maxRate s apart; the leading edge still runs at once', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150, maxRate: 0.5 });
  const t0 = env.now();
  for (let i = 0; i < 10; i++) {
    s.want(inv('a', i), 0);
    if (r.runs.length) r.runs.at(-1).finish(true);
    await env.advance(500);
  }
  await env.advance(5000);
  const starts = r.runs.map((x) => x.at - t0);
  assert.deepEqual(starts, [0, 2000, 4000, 6000], 'one every 2 s while invalidations keep coming, the last trailing');
  assert.equal(r.runs.at(-1).batch.message.data, 9, 'nothing is left unanswered');
});

test('a maxRate of 0 or garbage leaves the debounce window alone', async () => {
  for (const maxRate of [0, -1, NaN, Infinity, undefined]) {
    const env = fakeEnv();
    const r = recorder(env);
    const s = createScheduler({ run: r.run, env, debounceMs: 150, maxRate });
    s.want(inv('a'), 0);
    r.runs[0].finish(true);
    await env.advance(1);
    s.want(inv('a'), 0);
    await env.advance(149);
    assert.equal(r.runs.length, 2, String(maxRate));
  }
});

test('a hidden tab does not run; it runs once when shown', async () => {
  const env = fakeEnv({ hidden: true });
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  for (let i = 0; i < 3; i++) {
    s.want(inv('a', i), 0);
    await env.advance(1000);
  }
  assert.equal(r.runs.length, 0);
  env.isHidden = false;
  s.shown();
  assert.equal(r.runs.length, 1);
  assert.equal(r.runs[0].batch.count, 3);
  r.runs[0].finish(true);
  s.shown(); // shown again with nothing new: no run
  await env.advance(1000);
  assert.equal(r.runs.length, 1);
});

test('a trailing run due while the tab is hidden waits until shown', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 0);
  r.runs[0].finish(true);
  await env.advance(10);
  s.want(inv('a', 'trailing'), 0);
  env.hide();
  await env.advance(5000);
  assert.equal(r.runs.length, 1);
  env.isHidden = false;
  s.shown();
  assert.equal(r.runs.length, 2);
  assert.equal(r.runs[1].batch.message.data, 'trailing');
});

test('an invalidation during a run in a tab hidden meanwhile waits until shown', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 0);
  s.want(inv('a', 'during'), 0);
  env.hide();
  r.runs[0].finish(true);
  await env.advance(5000);
  assert.equal(r.runs.length, 1);
  env.isHidden = false;
  s.shown();
  await env.advance(0);
  assert.equal(r.runs.length, 2);
});

test('spread delays the leading run by random() * spread', async () => {
  const env = fakeEnv();
  env.rand = 0.9;
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 2000);
  await env.advance(1799);
  assert.equal(r.runs.length, 0);
  await env.advance(1);
  assert.equal(r.runs.length, 1);
});

test('now() runs at once and resolves to the run\'s outcome; during a run it queues one more', async () => {
  const env = fakeEnv();
  const outcomes = [false, true];
  let calls = 0;
  const s = createScheduler({ run: async () => outcomes[calls++], env, debounceMs: 150 });
  assert.equal(await s.now(), false, 'a failed run resolves to false');
  assert.equal(calls, 1);
  assert.equal(await s.now(), true, 'now() ignores the window');
  const throwing = createScheduler({ run: async () => { throw new Error('boom'); }, env });
  assert.equal(await throwing.now(), false, 'a run that throws counts as failed');
  const env2 = fakeEnv();
  const r = recorder(env2);
  const q = createScheduler({ run: r.run, env: env2 });
  q.want(inv('a'), 0);
  const p = q.now();
  assert.equal(r.runs.length, 1, 'queued behind the run in flight');
  r.runs[0].finish(true);
  await env2.advance(0);
  assert.equal(r.runs.length, 2);
  r.runs[1].finish(false);
  assert.equal(await p, false);
});

test('want(message, spread, done): done gets the outcome of the run that answers the message', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  const seen = [];
  s.want(inv('a', 1), 0, (ok) => seen.push(['first', ok]));
  s.want(inv('a', 2), 0, (ok) => seen.push(['second', ok]));
  r.runs[0].finish(false);
  await env.advance(0);
  assert.deepEqual(seen, [['first', false]], 'the second came during the first run: the next run answers it');
  await env.advance(150);
  r.runs[1].finish(true);
  await env.advance(0);
  assert.deepEqual(seen, [['first', false], ['second', true]]);
});

test('lastStart is when the last run started', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  assert.equal(s.lastStart(), -Infinity);
  await env.advance(30);
  s.want(inv('a'), 0);
  assert.equal(s.lastStart(), env.now());
});

test('close() stops everything and settles waiters', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 0);
  const seen = [];
  s.want(inv('a'), 0, (ok) => seen.push(ok));
  r.runs[0].finish(true);
  s.close();
  await env.advance(1000);
  assert.equal(r.runs.length, 1);
  assert.deepEqual(seen, [false]);
  assert.equal(await s.now(), false);
  s.want(inv('a'), 0, (ok) => seen.push(ok));
  assert.deepEqual(seen, [false, false], 'a want after close is answered at once');
  await env.advance(1000);
  assert.equal(r.runs.length, 1);
  assert.equal(env.pendingTimers(), 0);
});

test('a batch keeps the last 64 messages and counts them all', async () => {
  const env = fakeEnv();
  const r = recorder(env);
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('first'), 0);
  for (let i = 0; i < 1000; i++) s.want(inv('c' + (i % 300), i), 0);
  r.runs[0].finish(true);
  await env.advance(150);
  const b = r.runs[1].batch;
  assert.equal(b.count, 1000);
  assert.equal(b.messages.length, 64);
  assert.equal(b.messages[63].data, 999);
  assert.equal(b.channels.length, 256, 'distinct channels are bounded too');
});
