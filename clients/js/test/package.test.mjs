// The package installs as users install it: from the repository path
// (`npm install ./clients/js`) and as a packed tarball (`npm pack`), with
// no network (it has no dependencies). Each export resolves, with types;
// the core and the server part run from the installed copy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = (args, cwd) => execFileSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'],
  { cwd, encoding: 'utf8', timeout: 120000 });

function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-pkg-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return dir;
}

// Runs a module in the project that uses the installed package.
function check(dir) {
  const script = `
    import { createLivegate, endpoints, claimsOf } from 'livegate';
    import { mintToken } from 'livegate/server';
    const t = mintToken({ channels: ['todos'] }, 's'.repeat(32));
    const out = {
      claims: Object.keys(claimsOf(t)).sort(),
      ws: endpoints('https://g.example').ws,
      core: typeof createLivegate,
      react: import.meta.resolve('livegate/react').endsWith('/src/react.js'),
      next: import.meta.resolve('livegate/next').endsWith('/src/next.js'),
    };
    console.log(JSON.stringify(out));`;
  fs.writeFileSync(path.join(dir, 'check.mjs'), script);
  const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8' }));
  assert.deepEqual(out, { claims: ['channels', 'exp', 'iat'], ws: 'wss://g.example/ws', core: 'function', react: true, next: true });
  for (const t of ['index', 'react', 'next', 'server']) {
    assert.ok(fs.existsSync(path.join(dir, 'node_modules/livegate/types', `${t}.d.ts`)), `${t}.d.ts shipped`);
  }
}

test('npm install <path> and npm install <packed tarball>', { timeout: 240000 }, () => {
  const a = project();
  npm(['install', pkgDir], a);
  check(a);

  const packs = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-pack-'));
  const name = npm(['pack', pkgDir, '--pack-destination', packs], packs).trim().split('\n').pop();
  const files = execFileSync('tar', ['tzf', path.join(packs, name)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(files.includes('package/src/core/scheduler.js') && files.includes('package/types/next.d.ts'));
  assert.ok(!files.some((f) => f.startsWith('package/test/') || f.startsWith('package/vendor/')),
    'tests and the vendored morph library (script only) are not shipped');
  const b = project();
  npm(['install', path.join(packs, name)], b);
  check(b);
  for (const d of [a, b, packs]) fs.rmSync(d, { recursive: true, force: true });
});
