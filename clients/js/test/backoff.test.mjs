// Reconnect delays (src/core/backoff.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKOFF_CAP_MS, STABLE_MS, backoffCeiling, createBackoff } from '../src/core/backoff.js';
import { fakeEnv } from './fake.mjs';

test('ceilings double from 1 s up to the 30 s cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(backoffCeiling), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(BACKOFF_CAP_MS, 30000);
});

test('full jitter: each wait is random() times the ceiling', () => {
  const env = fakeEnv();
  const b = createBackoff(env);
  env.rand = 0.25;
  assert.deepEqual([b.next(), b.next(), b.next()], [250, 500, 1000]);
  env.rand = 0.999;
  for (let i = 0; i < 30; i++) assert.ok(b.next() < BACKOFF_CAP_MS);
  assert.equal(b.attempt, 16, 'the attempt count is bounded');
});

test('a connection that stayed up STABLE_MS starts the sequence over; a shorter one does not', async () => {
  const env = fakeEnv();
  env.rand = 1;
  const b = createBackoff(env);
  b.next();
  b.next();
  b.next();
  b.up();
  await env.advance(STABLE_MS - 1);
  b.down();
  assert.equal(b.next(), 8000, 'dropped before STABLE_MS: keeps backing off');
  b.up();
  await env.advance(STABLE_MS);
  b.down();
  assert.equal(b.next(), 1000, 'stable: back to the first step');
  b.down(); // down without up: no reset
  assert.equal(b.next(), 2000);
});
