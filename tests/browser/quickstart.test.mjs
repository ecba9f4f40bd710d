// scripts/quickstart.sh keeps Redis and the demo up when livegate exits,
// and starts livegate again (issue 14). Not a browser test: it lives here
// for the process helpers (lib/procs.mjs). It runs the real script on free
// ports, kills the livegate it started (found as its descendant), and
// checks that Redis kept the demo's todos, the demo kept serving, and
// livegate came back; then Ctrl-C (SIGINT) stops everything.
//
// Run: node tests/browser/run.mjs [path/to/livegate] quickstart.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Proc, freePort, waitFor } from './lib/procs.mjs';
import { redisCli, repoRoot } from './lib/stack.mjs';

const artifacts = process.env.LIVEGATE_BROWSER_ARTIFACTS
  || path.join(process.env.MESON_BUILD_ROOT || path.join(repoRoot, 'build'), 'tests/browser/artifacts-quickstart');

async function status(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

// The pids of every process below `root` whose command name is `name`.
function descendants(root, name) {
  const parent = new Map();
  const comm = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      comm.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid) => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...comm].filter(([pid, c]) => c === name && under(pid)).map(([pid]) => pid);
}

test('quickstart: livegate killed, Redis and the demo stay up, livegate comes back; Ctrl-C stops all', { timeout: 180000 }, async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const [redisPort, appPort, pub, priv] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    REDIS_PORT: String(redisPort),
    APP_PORT: String(appPort),
    LIVEGATE_PUBLIC_ADDR: `127.0.0.1:${pub}`,
    LIVEGATE_PRIVATE_ADDR: `127.0.0.1:${priv}`,
    LIVEGATE_REDIS_URL: '',
  };
  const qs = new Proc('quickstart', 'bash', [path.join(repoRoot, 'scripts/quickstart.sh')], { env, logDir: artifacts });
  qs.start();
  const ready = `http://127.0.0.1:${priv}/readyz`;
  const app = `http://127.0.0.1:${appPort}/`;
  try {
    await waitFor('livegate and the demo', async () => {
      if (!qs.running) throw new Error(`quickstart exited: ${qs.tail(10)}`);
      return (await status(ready)) === 200 && (await status(app)) === 200;
    }, { timeout: 150000, interval: 500 }); // the first run may build
    await redisCli(redisPort, ['HSET', 'demo:todos', '1', JSON.stringify({ title: 'kept', done: false })]);

    const [lg] = descendants(qs.child.pid, 'livegate');
    assert.ok(lg, 'quickstart started livegate');
    process.kill(lg, 'SIGKILL');
    await waitFor('livegate to be gone', async () => (await status(ready)) === 0);
    assert.equal(await redisCli(redisPort, ['PING']), 'PONG', 'Redis is still up');
    assert.equal(await status(app), 200, 'the demo is still up');
    assert.match(await redisCli(redisPort, ['HGET', 'demo:todos', '1']), /kept/, 'with its todos');

    await waitFor('livegate to be started again', async () => (await status(ready)) === 200, { timeout: 20000 });
    const [again] = descendants(qs.child.pid, 'livegate');
    assert.ok(again && again !== lg);
    assert.match(qs.tail(20), /livegate exited .*starting it again/);
  } finally {
    await qs.stop({ signal: 'SIGINT', grace: 10000 });
  }
  assert.equal(qs.exitCode, 130, 'Ctrl-C');
  assert.equal(await status(ready), 0, 'livegate stopped');
  assert.equal(await status(app), 0, 'the demo stopped');
});
