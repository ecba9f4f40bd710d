// What every test file of the drop-in script needs: the stack (redis,
// livegate, the demo) and a headless Chromium for the file's tests, pages
// opened and closed around each test, and the demo's request counters.

import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { launch, openPage } from './browser.mjs';
import { Stack, redisCli, repoRoot } from './stack.mjs';

// Long enough for any refetch the script might still owe (a 150 ms window,
// a refetch) to have reached the demo; used before asserting that none more came.
export const SETTLE_MS = 1500;

// Registers before/after hooks; the returned object has .stack and .browser
// once they ran (and ready(it) is called then, and awaited). opts: Stack's options, and
// browserArgs: more Chromium flags.
export function useStack(name, opts = {}, ready = () => {}) {
  const { browserArgs = [], ...stackOpts } = opts;
  const artifacts = process.env.LIVEGATE_BROWSER_ARTIFACTS
    || path.join(process.env.MESON_BUILD_ROOT || path.join(repoRoot, 'build'), `tests/browser/artifacts-${name}`);
  const s = { stack: null, browser: null, artifacts };
  before(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts)) {
      if (/\.(png|log)$/.test(f)) fs.rmSync(path.join(artifacts, f), { force: true });
    }
    console.log(`artifacts (screenshots, server logs): ${artifacts}`);
    s.stack = new Stack({ artifacts, ...stackOpts });
    try {
      await s.stack.start();
      s.browser = await launch(browserArgs);
      await ready(s); // (top-level before hooks run concurrently: what needs the stack goes here)
    } catch (e) {
      for (const p of [s.stack.redis, s.stack.livegate, ...(s.stack.demos || [])]) {
        if (p) console.log(`# ---- ${p.name} log tail:\n${p.tail(15).replace(/^/gm, '# ')}`);
      }
      throw e;
    }
  });
  after(async () => {
    if (s.browser) await s.browser.close();
    if (s.stack) await s.stack.stop();
  });
  return s;
}

// Opens a page (its own browser context), runs fn(page), closes it.
export async function withPage(browser, url, fn, opts) {
  const page = await openPage(browser, url, opts);
  try {
    return await fn(page);
  } finally {
    await page.context().close();
  }
}

// The demo's GET counters now minus a baseline taken earlier (for one path, or all).
export async function delta(stack, base, { i = 0, path: p = null } = {}) {
  const now = await stack.stats(i);
  if (p) {
    const a = now.by_path[p] || { refetches: 0, page_loads: 0 };
    const b = base.by_path[p] || { refetches: 0, page_loads: 0 };
    return { refetches: a.refetches - b.refetches, pageLoads: a.page_loads - b.page_loads };
  }
  return { refetches: now.refetches - base.refetches, pageLoads: now.page_loads - base.page_loads };
}

// Stores a todo straight into Redis, as another backend process would.
export function putTodo(stack, id, title) {
  return redisCli(stack.redisPort, ['HSET', 'demo:todos', String(id), JSON.stringify({ title, done: false })]);
}

export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
