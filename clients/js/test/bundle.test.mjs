// tools/bundle.py: the drop-in script is built from these modules without
// node; what it cannot bundle fails the build loudly. Runs the real
// bundler on small module trees and runs its output in node's vm.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { test } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const BUNDLE = path.join(repo, 'tools/bundle.py');

function tree(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-bundle-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function bundle(dir, entry, extra = []) {
  const out = path.join(dir, 'out.js');
  const r = spawnSync('python3', [BUNDLE, path.join(dir, entry), '--js', out, ...extra], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, js: r.status === 0 ? fs.readFileSync(out, 'utf8') : '' };
}

test('modules in dependency order, each in its own scope; renames; a classic script', () => {
  const dir = tree({
    'main.js': "import { twice as two, name } from './lib/a.js';\nimport { Lib } from './vendor/lib.min.js';\n" +
      "const num = 1; // main's own num\nwindow.result = [two(21), name, num, Lib.v, typeof secret];\n",
    'lib/a.js': "import { num } from './b.js';\nexport function twice(x) {\n  return x * num;\n}\n" +
      "const local = 'a';\nexport { local as name };\n",
    'lib/b.js': "/* a comment\n   export nothing here */\nexport const num = 2;\nconst secret = 1;\n",
    'vendor/lib.min.js': 'var Lib = { v: "classic" };\n',
  });
  const r = bundle(dir, 'main.js', ['--classic', path.join(dir, 'vendor/lib.min.js') + '=Lib']);
  assert.equal(r.status, 0, r.stderr);
  const window = {};
  vm.runInNewContext(r.js, { window });
  assert.deepEqual(JSON.parse(JSON.stringify(window.result)), [42, 'a', 1, 'classic', 'undefined']);
  assert.ok(!/^\s*(import|export)\b/m.test(r.js));
  assert.ok(!r.js.includes('a comment'), 'whole-line comments are dropped');
});

test('the depfile and header list every module read', () => {
  const dir = tree({ 'm.js': "import { x } from './n.js';\nwindow.x = x;\n", 'n.js': 'export const x = 1;\n' });
  const h = path.join(dir, 'out.h');
  const d = path.join(dir, 'out.d');
  const r = spawnSync('python3', [BUNDLE, path.join(dir, 'm.js'), '--header', h, 'sym', '--depfile', d], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(fs.readFileSync(d, 'utf8'), new RegExp('^' + h + ': .*n\\.js .*m\\.js\\n$'));
  const header = fs.readFileSync(h, 'utf8');
  assert.match(header, /#define SYM_HASH "[0-9a-f]{16}"/);
  assert.match(header, /static const size_t sym_len = \d+;/);
});

test('anything it does not understand fails the build with the file and line', () => {
  const cases = {
    'export default 1;\n': /cannot bundle this statement: export default/,
    "import * as x from './n.js';\n": /cannot bundle this statement: import \*/,
    "import x from './n.js';\n": /cannot bundle this statement: import x/,
    'export let x = 1;\n': /cannot bundle this statement: export let/,
    "export { x } from './n.js';\n": /cannot bundle this statement: export \{ x \} from/,
    "const m = import('./n.js');\n": /cannot bundle this statement/,
    'const u = import.meta.url;\n': /cannot bundle this statement/,
    "import { useState } from 'react';\n": /cannot import 'react'/,
    "import { nope } from './n.js';\n": /imports nope from .*n\.js, which does not export it/,
    "import { x } from './missing.js';\n": /missing\.js, which does not exist/,
    "  import { x } from './n.js';\n": /cannot bundle this statement/,
    "import { x as default } from './n.js';\n": /cannot bundle the import\/export name/,
  };
  for (const [text, re] of Object.entries(cases)) {
    const dir = tree({ 'm.js': '// line 1\n' + text, 'n.js': 'export const x = 1;\n' });
    const r = bundle(dir, 'm.js');
    assert.notEqual(r.status, 0, text);
    assert.match(r.stderr, re, text);
    if (/statement/.test(String(re))) assert.match(r.stderr, /m\.js:2:/, 'names the line: ' + text);
  }
  const cyc = tree({ 'a.js': "import { b } from './b.js';\nexport const a = 1;\n", 'b.js': "import { a } from './a.js';\nexport const b = 2;\n" });
  assert.match(bundle(cyc, 'a.js').stderr, /import cycle/);
  const twice = tree({ 'm.js': 'export const x = 1;\nconst y = 2;\nexport { y as x };\n' });
  assert.match(bundle(twice, 'm.js').stderr, /x is exported twice/);
  const cls = tree({ 'm.js': "import { Lib } from './v.js';\n", 'v.js': 'var Other = 1;\n' });
  assert.match(bundle(cls, 'm.js', ['--classic', path.join(cls, 'v.js') + '=Lib']).stderr, /declares no top-level Lib/);
});

test('the real drop-in script bundles and parses', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lg-bundle-')), 'livegate.js');
  const r = spawnSync('python3', [BUNDLE, path.join(repo, 'clients/js/src/script/main.js'),
    '--classic', path.join(repo, 'clients/js/vendor/idiomorph.min.js') + '=Idiomorph', '--js', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // Parses as a classic script; with no document, it does nothing at all.
  const js = fs.readFileSync(out, 'utf8');
  assert.doesNotThrow(() => new vm.Script(js));
  const window = {};
  vm.runInNewContext(js, { window, document: { currentScript: null, addEventListener() {} } });
  assert.equal(window.livegate, undefined, 'no <script src>: nothing starts');
});
