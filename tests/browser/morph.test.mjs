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

// A seeded generator of page versions (a table, a list, a <pre>, nested
// elements, comments, entities; now and then markup tagtree.js refuses),
// each version a few random edits of the one before.
function versions(seed) {
  let x = seed >>> 0;
  const rnd = (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  let id = 0;
  const row = () => ({ id: rnd(3) ? 'r' + ++id : '', a: 'a' + rnd(1000), b: 'b' + rnd(1000), c: ['x', 'y', 'z'][rnd(3)] });
  const st = { rows: Array.from({ length: 40 }, row), items: ['i1', 'i2', 'i3'], title: 't0', cls: 'c0', note: 'n0',
    pre: 'p0', deep: 'd0', comment: 0, loose: false };
  const edits = [
    () => { st.rows[rnd(st.rows.length)].b = 'b' + rnd(1000); },
    () => { st.rows[rnd(st.rows.length)].c = ['x', 'y', 'z'][rnd(3)]; },
    () => { st.rows.splice(rnd(st.rows.length + 1), 0, row()); },
    () => { if (st.rows.length > 2) st.rows.splice(rnd(st.rows.length), 1); },
    () => {
      const [i, j] = [rnd(st.rows.length), rnd(st.rows.length)];
      [st.rows[i], st.rows[j]] = [st.rows[j], st.rows[i]];
    },
    () => { st.items.splice(rnd(st.items.length + 1), 0, 'i' + rnd(1000)); },
    () => { if (st.items.length) st.items.splice(rnd(st.items.length), 1); },
    () => { st.title = 't' + rnd(1000); },
    () => { st.cls = 'c' + rnd(1000); },
    () => { st.note = 'n' + rnd(1000) + (rnd(2) ? ' &amp; more' : ''); },
    () => { st.pre = rnd(2) ? 'p' + rnd(1000) : '\nline ' + rnd(1000); },
    () => { st.deep = 'd' + rnd(1000); },
    () => { st.comment = rnd(1000); },
    () => { st.loose = true; }, // for one version
  ];
  const render = () => `<h2 class="${st.cls}">Title ${st.title}</h2>\n<!-- c${st.comment} -->\n` +
    '<table id="t"><tbody>\n' + st.rows.map((r) => `<tr${r.id ? ` id="${r.id}"` : ''}><td>${r.a}</td>` +
      `<td class="${r.c}">${r.b}</td></tr>`).join('\n') + '\n</tbody></table>\n' +
    `<ul id="list">${st.items.map((i) => `<li>${i}</li>`).join('')}</ul>\n<pre id="pre">\n${st.pre}</pre>\n` +
    `<p id="note">${st.note}</p>\n<div id="deep"><section><article><span>${st.deep}</span> <b>x</b></article>` +
    `</section></div>\n${st.loose ? '<div class="loose"><p>not closed\n' : ''}`;
  return { first: render(), next: () => {
    st.loose = false;
    for (let k = 1 + rnd(3); k > 0; k--) edits[rnd(edits.length)]();
    return render();
  } };
}

test('parsing only what changed gives the same page as parsing it whole', { timeout: 300000 }, async () => {
  const steps = Number(process.env.LG_DELTA_STEPS || 60);
  const seed = Number(process.env.LG_DELTA_SEED || 1);
  const v = versions(seed);
  await fixture(v.first, async (page, next) => {
    for (let step = 1; step <= steps; step++) {
      await next(v.next());
      // The same answer parsed whole by the browser: the body must be the same.
      const [live, whole] = await page.evaluate(async () => {
        const text = await (await fetch(location.href)).text();
        return [document.body.innerHTML, new DOMParser().parseFromString(text, 'text/html').body.innerHTML];
      });
      assert.equal(live, whole, `seed ${seed}, step ${step}`);
    }
    const refreshed = await waitForEvent(page, 'refreshed', steps);
    const partial = refreshed.filter((e) => e.detail.partial).length;
    if (process.env.LG_DELTA_WHY) console.log(refreshed.map((e) => e.detail.whole || "partial"));
    assert.ok(partial > steps / 3, `${partial} of ${steps} refreshes parsed only what changed`);
  });
});

test('a live page other code reshaped is parsed whole and converges; an edit where the HTML did not change stays', { timeout: 60000 }, async () => {
  const body = (row, note) => `<p id="note">${note}</p>\n<ul id="l"><li id="a">${row}</li><li id="b">b</li></ul>\n` +
    '<p id="z">z</p>\n';
  await fixture(body('a1', 'n1'), async (page, next) => {
    await next(body('a2', 'n1')); // the first refresh: parsed whole, the baseline from here on
    await next(body('a3', 'n1'));
    let ev = await waitForEvent(page, 'refreshed', 2);
    assert.equal(ev[1].detail.partial, true, JSON.stringify(ev[1].detail));
    // The page's own code edits a paragraph whose HTML does not change next:
    // only the changed row is parsed and morphed, so the edit stays.
    await page.evaluate(() => { document.getElementById('z').textContent = 'edited by the page'; });
    await next(body('a4', 'n1'));
    ev = await waitForEvent(page, 'refreshed', 3);
    assert.equal(ev[2].detail.partial, true);
    assert.equal(await page.textContent('#a'), 'a4');
    assert.equal(await page.textContent('#z'), 'edited by the page');
    // Other code adds a node to <body>: the live page no longer has the
    // shape of the last text, so the page is parsed whole, and converges.
    await page.evaluate(() => document.body.prepend(document.createElement('aside')));
    await next(body('a5', 'n2'));
    ev = await waitForEvent(page, 'refreshed', 4);
    assert.equal(ev[3].detail.partial, false);
    assert.match(ev[3].detail.whole, /live page/);
    assert.equal(await page.textContent('#a'), 'a5');
    assert.equal(await page.textContent('#note'), 'n2');
    assert.equal(await page.$('aside'), null);
    assert.equal(await page.textContent('#z'), 'z');
  });
});

// Random markup (a seeded generator): nested elements of every kind the
// tokenizer treats apart, attributes holding '>', comments of every ending,
// raw text, entities, CRLF, end tags left out, misnested or stray.
function randomMarkup(seed, count) {
  let x = seed >>> 0;
  const rnd = (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const pick = (a) => a[rnd(a.length)];
  const TAGS = ['div', 'p', 'span', 'a', 'b', 'i', 'ul', 'ol', 'li', 'table', 'tbody', 'thead', 'tr', 'td', 'th',
    'caption', 'colgroup', 'col', 'pre', 'listing', 'textarea', 'script', 'style', 'svg', 'math', 'template',
    'select', 'option', 'optgroup', 'h1', 'h2', 'button', 'form', 'br', 'img', 'input', 'hr', 'section', 'em',
    'dl', 'dt', 'dd', 'nobr', 'ruby', 'rt', 'rp', 'title', 'iframe', 'my-el', 'noscript', 'DIV', 'Td', 'path',
    'circle', 'foreignObject', 'xmp', 'wbr', 'label'];
  const TEXT = ['x', ' ', '\n', 'a&amp;b', '1 < 2', '\r\n', '&lt;', 'q', '\t', '> z', 'a</', '&#x41;'];
  const COMMENTS = ['<!--c-->', '<!-->', '<!--->', '<!--a--!>', '<!---->', '<!-- - -->'];
  const RAW = ['var a = 1;', 'if (a < b) {}', "'</scr' + 'ipt>'", '<!-- x -->', '</p>', 'a { b: c }', '<b>'];
  const ATTRS = ['', ' class="a>b"', ' data-x=1', " title='q'", ' id=k', ' hidden', ' x=">"', ' type=hidden'];
  function node(depth) {
    const r = rnd(10);
    if (r < 3 || depth > 5) return pick(TEXT);
    if (r === 3) return pick(COMMENTS);
    const tag = pick(TAGS);
    const open = '<' + tag + pick(ATTRS) + (rnd(12) === 0 ? '/' : '') + '>';
    if (/^(script|style|textarea|title|iframe|xmp)$/i.test(tag)) return open + pick(RAW) + '</' + tag + '>';
    let inner = '';
    for (let k = rnd(4); k > 0; k--) inner += node(depth + 1);
    const close = rnd(10) === 0 ? '' : rnd(25) === 0 ? '</' + pick(TAGS) + '>' : '</' + tag + '>';
    return open + inner + close;
  }
  const out = [];
  for (let k = 0; k < count; k++) {
    let body = '';
    for (let j = 1 + rnd(4); j > 0; j--) body += node(0);
    const head = ['', '<title>t</title>', '<meta charset="utf-8">\n', '<style>p{}</style><script>1</script>'][rnd(4)];
    const after = ['', '\n', '\n\n', '<!--z-->\n', ' \n'][rnd(5)];
    out.push(`<!doctype html>\n<html><head>${head}</head>\n<body>${body}</body>${after}</html>${pick(['', '\n'])}`);
  }
  return out;
}

test('the tokenizer reads every page it accepts as the browser does', { timeout: 120000 }, async () => {
  const fs = await import('node:fs');
  const src = fs.readFileSync(new URL('../../clients/js/src/script/tagtree.js', import.meta.url), 'utf8');
  const pages = randomMarkup(Number(process.env.LG_TAGTREE_SEED || 5), Number(process.env.LG_TAGTREE_PAGES || 10000));
  await withPage(s.browser, s.stack.demoUrls[0] + '/fixture', async (page) => {
    await page.addScriptTag({ content: '(() => {' + src.replace(/^export /gm, '') +
      '\nwindow.__tagtree = { pageTree, ELEMENT, TEXT };})();' });
    const r = await page.evaluate((list) => {
      const { pageTree, ELEMENT, TEXT } = window.__tagtree;
      const out = { accepted: 0, refused: 0, wrong: [] };
      for (const html of list) {
        const tree = pageTree(html);
        if (!tree) {
          out.refused++;
          continue;
        }
        out.accepted++;
        const t = tree.nodes;
        const doc = new DOMParser().parseFromString(html, 'text/html');
        const bodyLast = doc.body.lastChild;
        const check = (i, node) => {
          if (!node || node.nodeType !== t.kind[i]) return 'kind of ' + (t.name[i] || '?') + ' at ' + t.start[i];
          if (t.kind[i] === ELEMENT) {
            if (node.localName !== t.name[i]) return 'name ' + node.localName + ' / ' + t.name[i];
            if (t.opaque[i]) return '';
            if (node.childNodes.length !== t.kids[i]) return 'children of <' + t.name[i] + '> at ' + t.start[i];
            let k = 0;
            for (let c = i + 1; c < t.next[i]; c = t.next[c]) {
              const why = check(c, node.childNodes[k++]);
              if (why) return why;
            }
            return '';
          }
          const text = html.slice(t.start[i], t.end[i]) + (node === bodyLast ? tree.tail : '');
          if (t.kind[i] === TEXT && !/[&\r\0]/.test(text) && node.data !== text) {
            return 'text ' + JSON.stringify(node.data) + ' / ' + JSON.stringify(text);
          }
          return '';
        };
        const why = check(tree.head, doc.head) || check(tree.body, doc.body);
        if (why && out.wrong.length < 5) out.wrong.push({ why, html });
      }
      return out;
    }, pages);
    assert.deepEqual(r.wrong, []);
    // Not a vacuous pass: a good share of random markup is accepted.
    assert.ok(r.accepted > pages.length / 5, `${r.accepted} accepted, ${r.refused} refused`);
    console.log(`# tagtree: ${r.accepted} accepted, ${r.refused} refused`);
  });
});
