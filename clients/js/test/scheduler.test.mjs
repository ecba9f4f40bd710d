// The scheduling policy (src/core/scheduler.js): debounce, coalescing, at
// most one run in flight, hidden tabs, spread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduler } from '../src/core/scheduler.js';
import { fakeEnv } from './fake.mjs';

const inv = (channel, data) => ({ type: 'invalidate', channel, data });

// A run that records its batch and finishes when the test says so.
function recorder() {
  const runs = [];
  const run = (batch) => new Promise((resolve) => runs.push({ batch, finish: resolve }));
  return { runs, run };
}

test('a burst inside the debounce window is one run, which sees the whole burst', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  for (let i = 0; i < 20; i++) {
    s.want(inv(i % 2 ? 'a' : 'b', i), 0);
    await env.advance(5);
  }
  await env.advance(150);
  assert.equal(r.runs.length, 1);
  const b = r.runs[0].batch;
  assert.equal(b.count, 20);
  assert.equal(b.message.data, 19, 'the latest message');
  assert.deepEqual(b.channels.sort(), ['a', 'b']);
  r.runs[0].finish(true);
  await env.advance(1000);
  assert.equal(r.runs.length, 1, 'nothing more after a quiet burst');
});

test('the first invalidation opens the window: the run starts debounceMs after it, not after the last', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  const t0 = env.now();
  s.want(inv('a'), 0);
  await env.advance(100);
  s.want(inv('a'), 0);
  await env.advance(49);
  assert.equal(r.runs.length, 0);
  await env.advance(1);
  assert.equal(r.runs.length, 1);
  assert.equal(env.now() - t0, 150);
});

test('invalidations during a run earn exactly one more run, however many', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a', 'first'), 0);
  await env.advance(150);
  assert.equal(r.runs.length, 1);
  for (let i = 0; i < 50; i++) {
    s.want(inv('a', i), 0);
    await env.advance(20); // 1 s of invalidations while the run is in flight
  }
  assert.equal(r.runs.length, 1, 'at most one run in flight');
  r.runs[0].finish(true);
  await env.advance(150);
  assert.equal(r.runs.length, 2);
  assert.equal(r.runs[1].batch.count, 50, 'the second run answers everything that came during the first');
  r.runs[1].finish(true);
  await env.advance(5000);
  assert.equal(r.runs.length, 2);
});

test('a hidden tab does not run; it runs once when shown', async () => {
  const env = fakeEnv({ hidden: true });
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  for (let i = 0; i < 3; i++) {
    s.want(inv('a', i), 0);
    await env.advance(1000);
  }
  assert.equal(r.runs.length, 0);
  env.isHidden = false;
  s.shown();
  await env.advance(150);
  assert.equal(r.runs.length, 1);
  assert.equal(r.runs[0].batch.count, 3);
  r.runs[0].finish(true);
  s.shown(); // shown again with nothing new: no run
  await env.advance(1000);
  assert.equal(r.runs.length, 1);
});

test('a tab hidden during the debounce window waits until shown', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 0);
  await env.advance(100);
  env.hide();
  await env.advance(5000);
  assert.equal(r.runs.length, 0);
  env.isHidden = false;
  s.shown();
  await env.advance(150);
  assert.equal(r.runs.length, 1);
});

test('an invalidation during a run in a tab hidden meanwhile waits until shown', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 0);
  await env.advance(150);
  s.want(inv('a', 'during'), 0);
  env.hide();
  r.runs[0].finish(true);
  await env.advance(5000);
  assert.equal(r.runs.length, 1);
  env.isHidden = false;
  s.shown();
  await env.advance(150);
  assert.equal(r.runs.length, 2);
});

test('spread adds random() * spread to the window', async () => {
  const env = fakeEnv();
  env.rand = 0.9;
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  s.want(inv('a'), 2000);
  await env.advance(150 + 1799);
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
  assert.equal(await s.now(), true);
  const throwing = createScheduler({ run: async () => { throw new Error('boom'); }, env });
  assert.equal(await throwing.now(), false, 'a run that throws counts as failed');
});

test('afterNextRun and lastStart', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  assert.equal(s.lastStart(), -Infinity);
  const seen = [];
  s.afterNextRun((ok) => seen.push(ok));
  s.want(inv('a'), 0);
  await env.advance(150);
  assert.equal(s.lastStart(), env.now());
  assert.deepEqual(seen, []);
  r.runs[0].finish(false);
  await env.advance(0);
  assert.deepEqual(seen, [false]);
});

test('close() stops everything and settles waiters', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  const seen = [];
  s.afterNextRun((ok) => seen.push(ok));
  s.want(inv('a'), 0);
  s.close();
  await env.advance(1000);
  assert.equal(r.runs.length, 0);
  assert.deepEqual(seen, [false]);
  assert.equal(await s.now(), false);
  s.want(inv('a'), 0);
  await env.advance(1000);
  assert.equal(r.runs.length, 0);
  assert.equal(env.pendingTimers(), 0);
});

test('a batch keeps the last 64 messages and counts them all', async () => {
  const env = fakeEnv();
  const r = recorder();
  const s = createScheduler({ run: r.run, env, debounceMs: 150 });
  for (let i = 0; i < 1000; i++) s.want(inv('c' + (i % 300), i), 0);
  await env.advance(150);
  const b = r.runs[0].batch;
  assert.equal(b.count, 1000);
  assert.equal(b.messages.length, 64);
  assert.equal(b.messages[63].data, 999);
  assert.equal(b.channels.length, 256, 'distinct channels are bounded too');
});
