// The built example Next.js app (deploy/example-next) under `next start`,
// and a Chromium whose tabs can really be hidden.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './browser.mjs';
import { Proc, waitFor } from './procs.mjs';
import { repoRoot } from './stack.mjs';

export const appDir = path.join(repoRoot, 'deploy/example-next');

function filesUnder(dir, base = dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, base));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

// The app must be built, from the package sources as they are now (npm ci
// copies clients/js into node_modules: a stale copy would test old code).
export function checkBuilt() {
  const fix = 'run: (cd deploy/example-next && npm ci && NEXT_TELEMETRY_DISABLED=1 npx next build); scripts/test-all.sh does';
  if (!fs.existsSync(path.join(appDir, '.next/BUILD_ID'))) throw new Error(`the example Next.js app is not built: ${fix}`);
  const src = path.join(repoRoot, 'clients/js/src');
  const copy = path.join(appDir, 'node_modules/livegate/src');
  if (!fs.existsSync(copy)) throw new Error(`deploy/example-next has no node_modules/livegate: ${fix}`);
  const a = filesUnder(src);
  const b = filesUnder(copy);
  const stale = a.filter((f) => !b.includes(f) || !fs.readFileSync(path.join(src, f)).equals(fs.readFileSync(path.join(copy, f))));
  if (stale.length || a.length !== b.length) {
    throw new Error(`deploy/example-next was installed from older clients/js sources (${stale.slice(0, 3).join(', ')}): ${fix}`);
  }
  const built = fs.statSync(path.join(appDir, '.next/BUILD_ID')).mtimeMs;
  const newer = a.filter((f) => fs.statSync(path.join(copy, f)).mtimeMs > built);
  if (newer.length) throw new Error(`the example was built before its livegate copy was installed: ${fix}`);
}

export function startNext({ port, artifacts, env }) {
  const bin = path.join(appDir, 'node_modules/next/dist/bin/next');
  return new Proc('next', process.execPath, [bin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    logDir: artifacts,
    cwd: appDir,
    env: { NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', ...env },
  });
}

// Headless Playwright gives every page DevTools focus emulation, which also
// keeps it visible: no tab is ever hidden. So this Chromium is started by
// hand and attached to with noDefaults (no focus emulation for the default
// context): a tab opened in front of another really hides it, and
// bringToFront() shows it again, with real visibilitychange events.
export async function launchWithRealTabs(artifacts) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'livegate-chromium-'));
  const proc = new Proc('chromium-tabs', CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--remote-debugging-port=0', `--user-data-dir=${profile}`,
    '--window-size=900,700', 'about:blank',
  ], { logDir: artifacts });
  fs.rmSync(proc.logPath, { force: true }); // the endpoint is read from it
  proc.start();
  const endpoint = await waitFor('chromium\'s DevTools endpoint', () => {
    if (!proc.running) throw new Error(`chromium exited: ${proc.tail(5)}`);
    const m = fs.readFileSync(proc.logPath, 'utf8').match(/DevTools listening on (ws:\/\/\S+)/);
    return m && m[1];
  }, { timeout: 20000 });
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
  return {
    browser,
    context: browser.contexts()[0],
    async close() {
      await browser.close().catch(() => {});
      await proc.stop();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
