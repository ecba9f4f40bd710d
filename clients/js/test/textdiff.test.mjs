// textdiff.js: the changed stretches it finds, applied to the old text,
// give the new one, and the text between them is equal; with few changes
// in a big text it finds them apart rather than one stretch over all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changes, commonEnd, commonStart, MAX_CHANGES } from '../src/script/textdiff.js';

function rng(seed) {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

function apply(a, b, found) {
  let out = '';
  let at = 0;
  for (const [o1, o2, n1, n2] of found) {
    assert.ok(o1 >= at && o2 >= o1 && n2 >= n1, 'stretches in order');
    assert.equal(a.slice(at, o1), b.slice(n1 - (o1 - at), n1), 'equal between stretches');
    out += a.slice(at, o1) + b.slice(n1, n2);
    at = o2;
  }
  return out + a.slice(at);
}

test('common start and end, across chunk sizes', () => {
  for (const n of [0, 1, 15, 16, 17, 4095, 4096, 4097, 10000]) {
    const a = 'x'.repeat(n) + 'A' + 'y'.repeat(n);
    const b = 'x'.repeat(n) + 'B' + 'y'.repeat(n);
    assert.equal(commonStart(a, 0, b, 0, a.length), n);
    assert.equal(commonEnd(a, a.length, b, b.length, a.length), n);
    assert.equal(commonStart(a, 0, a, 0, a.length), a.length);
  }
});

test('random edits of random texts: the stretches rebuild the new text', () => {
  const rnd = rng(3);
  const words = ['<tr>', '<td>', 'row ', '</td>', '</tr>\n', 'a', 'b', 'x'.repeat(40), 'id="r', '"'];
  for (let round = 0; round < 400; round++) {
    let a = '';
    for (let k = rnd(400); k > 0; k--) a += words[rnd(words.length)] + rnd(100);
    let b = a;
    for (let k = rnd(6); k > 0; k--) {
      const i = rnd(b.length + 1);
      const j = Math.min(b.length, i + rnd(30));
      b = b.slice(0, i) + (rnd(2) ? words[rnd(words.length)] + rnd(1000) : '') + b.slice(j);
    }
    const found = changes(a, b);
    if (found === null) continue; // too many: the caller parses whole
    assert.ok(found.length <= MAX_CHANGES);
    assert.equal(apply(a, b, found), b);
    if (a === b) assert.deepEqual(found, []);
  }
});

test('two small changes far apart in 1.6 MB are two small stretches', () => {
  const rows = [];
  for (let i = 0; i < 10000; i++) rows.push(`<tr id="row-${i}"><td>${i}</td><td>item ${i} of a big page</td></tr>`);
  const a = '<head><script data-token="AAAA"></script></head>' + rows.join('\n');
  rows[7000] = rows[7000].replace('item', 'changed item');
  const b = '<head><script data-token="BBBBBB"></script></head>' + rows.join('\n');
  const found = changes(a, b);
  assert.equal(found.length, 2);
  for (const [o1, o2, n1, n2] of found) assert.ok(o2 - o1 < 16 && n2 - n1 < 16, JSON.stringify(found));
  assert.equal(apply(a, b, found), b);
});
