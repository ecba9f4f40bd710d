#!/usr/bin/env node
// Runs browser end-to-end tests with node's test runner.
//
//   node tests/browser/run.mjs [path/to/livegate] [test file]
//
// The livegate binary comes from the argument, else $LIVEGATE_BIN, else
// build/livegate. The test file defaults to e2e.test.mjs (the
// drop-in script); next.test.mjs tests livegate/next on the built example
// (deploy/example-next). Needs `npm ci --prefix tests/browser`, Debian's
// chromium (or $CHROMIUM), redis-server and redis-cli on PATH.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = { ...process.env };
if (process.argv[2]) env.LIVEGATE_BIN = path.resolve(process.argv[2]);

// Say plainly what is missing rather than fail somewhere inside a test.
const missing = [];
if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
  missing.push('playwright-core (run: npm ci --prefix tests/browser)');
}
if (!fs.existsSync(env.CHROMIUM || '/usr/bin/chromium')) missing.push('chromium (run: apt-get install -y chromium)');
if (missing.length) {
  console.error(`browser tests cannot run, missing: ${missing.join('; ')}`);
  process.exit(1);
}

// Its own process group, so that a timeout's SIGTERM reaches the test file's
// process too, which then stops the servers it started.
const testFile = path.join(here, path.basename(process.argv[3] || 'e2e.test.mjs'));
if (!fs.existsSync(testFile)) {
  console.error(`no such test file: ${testFile}`);
  process.exit(1);
}
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', testFile], {
  env,
  stdio: 'inherit',
  detached: true,
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  });
}
