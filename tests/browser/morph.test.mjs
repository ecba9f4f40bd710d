// End-to-end tests of the morph (src/script/reconcile.js before idiomorph):
// the demo's /fixture page renders whatever body the test wrote to Redis,
// so each test renders one version, marks the live nodes, renders the next
// and checks which nodes survived, where they went and what the user kept.
//
// Run: node tests/browser/run.mjs [path/to/livegate] morph.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitForEvent } from './lib/browser.mjs';
import { redisCli } from './lib/stack.mjs';
import { useStack, withPage } from './lib/suite.mjs';

const s = useStack('morph');

// Opens /fixture with `first` as its body, runs fn(page, next), where
// next(body) renders that body and waits for the page to be refreshed.
async function fixture(first, fn) {
  await redisCli(s.stack.redisPort, ['SET', 'demo:fixture', first]);
  await withPage(s.browser, s.stack.demoUrls[0] + '/fixture', async (page) => {
    let n = 0;
    const next = async (body) => {
      await redisCli(s.stack.redisPort, ['SET', 'demo:fixture', body]);
      await s.stack.publish('fixture', 'x');
      await waitForEvent(page, 'refreshed', ++n);
    };
    await fn(page, next);
  });
}

// Marks every element with an id, so that a node replaced by a new one shows.
const mark = (page) => page.evaluate(() => {
  for (const el of document.querySelectorAll('[id]')) el.__mark = el.id;
});
const kept = (page, ids) => page.evaluate((list) => list.filter((id) => {
  const el = document.getElementById(id);
  return el && el.__mark === id;
}), ids);
const order = (page, sel) => page.$$eval(sel, (els) => els.map((e) => e.id));

test('an element whose id moves to another list is moved, not recreated: focus and typed text stay', { timeout: 60000 }, async () => {
  await fixture('<ul id="open"><li id="t1">one <input id="in1"></li><li id="t2">two</li></ul><ul id="done"><li id="t3">three</li></ul>', async (page, next) => {
    await mark(page);
    await page.fill('#in1', 'typing');
    await next('<ul id="open"><li id="t2">two</li></ul><ul id="done"><li id="t3">three</li><li id="t1">one <input id="in1"></li></ul>');
    assert.deepEqual(await order(page, '#done li'), ['t3', 't1']);
    assert.deepEqual(await kept(page, ['t1', 'in1', 't2', 't3']), ['t1', 'in1', 't2', 't3']);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'in1');
    assert.equal(await page.inputValue('#in1'), 'typing');
  });
});

test('a reordered list keeps its nodes', { timeout: 60000 }, async () => {
  await fixture('<ol id="l"><li id="a">a</li><li id="b">b</li><li id="c">c</li><li id="d">d</li></ol>', async (page, next) => {
    await mark(page);
    await next('<ol id="l"><li id="d">d</li><li id="a">a</li><li id="c">c</li><li id="b">b!</li></ol>');
    assert.deepEqual(await order(page, '#l li'), ['d', 'a', 'c', 'b']);
    assert.deepEqual(await kept(page, ['a', 'b', 'c', 'd']), ['a', 'b', 'c', 'd']);
    assert.equal(await page.textContent('#b'), 'b!');
  });
});

test('rows without ids: an insertion in the middle leaves the other rows as they were', { timeout: 60000 }, async () => {
  const rows = (list) => `<table><tbody id="tb">${list.map((r) => `<tr><td>${r}</td></tr>`).join('\n')}</tbody></table>`;
  await fixture(rows(['r1', 'r2', 'r3', 'r4']), async (page, next) => {
    await page.evaluate(() => document.querySelectorAll('#tb tr').forEach((tr) => { tr.__mark = tr.textContent; }));
    await next(rows(['r1', 'r2', 'new', 'r3', 'r4']));
    const seen = await page.$$eval('#tb tr', (trs) => trs.map((tr) => [tr.textContent, tr.__mark || null]));
    assert.deepEqual(seen, [['r1', 'r1'], ['r2', 'r2'], ['new', null], ['r3', 'r3'], ['r4', 'r4']]);
  });
});

test('attributes and text change in place; what the user owns stays', { timeout: 60000 }, async () => {
  await fixture('<div id="box" class="a"><p id="p">old</p><details id="d"><summary>s</summary>x</details>' +
      '<input id="cb" type="checkbox"><div id="perm" data-livegate-permanent>server v1</div></div>', async (page, next) => {
    await mark(page);
    await page.click('#d summary'); // opened by the user
    await page.check('#cb');
    await page.evaluate(() => { document.getElementById('perm').textContent = 'the page\'s own'; });
    await next('<div id="box" class="b" data-x="1"><p id="p">new</p><details id="d"><summary>s</summary>y</details>' +
      '<input id="cb" type="checkbox"><div id="perm" data-livegate-permanent>server v2</div></div>');
    assert.deepEqual(await kept(page, ['box', 'p', 'd', 'cb', 'perm']), ['box', 'p', 'd', 'cb', 'perm']);
    assert.equal(await page.getAttribute('#box', 'class'), 'b');
    assert.equal(await page.getAttribute('#box', 'data-x'), '1');
    assert.equal(await page.textContent('#p'), 'new');
    assert.equal(await page.evaluate(() => document.getElementById('d').open), true);
    assert.equal(await page.isChecked('#cb'), true);
    assert.equal(await page.textContent('#perm'), 'the page\'s own');
  });
});

test('a new <script> is not run, nor one inside a new element; a new data script is added', { timeout: 60000 }, async () => {
  await fixture('<p id="p">v1</p>', async (page, next) => {
    await next('<p id="p">v2</p><script>window.__ran = true</script>' +
      '<div id="new"><script>window.__ranInside = true</script></div>' +
      '<script type="application/json" id="data">{"v":2}</script>');
    assert.equal(await page.evaluate(() => window.__ran), undefined);
    assert.equal(await page.evaluate(() => window.__ranInside), undefined);
    assert.ok(await page.$('#new'));
    assert.equal(await page.textContent('#data'), '{"v":2}');
  });
});

test('elements removed and added at once in one list, beside unchanged ones', { timeout: 60000 }, async () => {
  await fixture('<ul id="l"><li id="a">a</li><li id="b">b</li><li id="c">c</li></ul><p id="z">z</p>', async (page, next) => {
    await mark(page);
    await next('<ul id="l"><li id="a">a</li><li id="x">x</li><li id="c">c</li></ul><p id="z">z</p>');
    assert.deepEqual(await order(page, '#l li'), ['a', 'x', 'c']);
    assert.deepEqual(await kept(page, ['a', 'c', 'z']), ['a', 'c', 'z']);
    await next('<ul id="l"></ul><p id="z">z</p>');
    assert.deepEqual(await order(page, '#l li'), []);
  });
});
