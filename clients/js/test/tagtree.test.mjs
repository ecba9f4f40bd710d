// tagtree.js in node: what it refuses, what it reads (where the parser
// drops a newline, where text after </body> goes), and that reading an
// element's content alone, inside its open elements (as partial.js does),
// gives the nodes reading the whole page gave. That it reads pages as the
// browser does is tested against Chromium (tests/browser/morph.test.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ELEMENT, TEXT, Scan, pageTree } from '../src/script/tagtree.js';

const page = (body, after = '\n') => `<!doctype html>\n<html><head><title>t</title></head>\n<body>${body}</body>${after}</html>\n`;

function kids(t, i) {
  const out = [];
  for (let c = i + 1; c < t.next[i]; c = t.next[c]) out.push(c);
  return out;
}

test('refused: markup whose DOM is not its tag nesting', () => {
  for (const body of ['<table><tr><td>x</td></tr></table>', '<table>text<tbody></tbody></table>', '<p><div></div></p>',
    '<a><a></a></a>', '<ul><li>a<li>b</ul>', '<div>', '<b><i></b></i>', '<noscript>x</noscript>', '</p>',
    '<form><form></form></form>', '<h1><h2></h2></h1>', '<select><b></b></select>', '<svg><p></p></svg>',
    '<button><button></button></button>', 'x<!x>y', '<br></br>', '<td>x</td>', '<script><!--</script>',
    '<ruby><p>x<rt>y</rt></p></ruby>']) {
    assert.equal(pageTree(page(body)), null, body);
  }
  assert.equal(pageTree('<html><head></head><body></body></html>'), null, 'no doctype: quirks mode');
  assert.ok(pageTree(page('<ruby>x<rt>y</rt></ruby><p><rt>z</rt></p>')), 'a ruby part outside <ruby> closes nothing');
  assert.equal(pageTree(page('x', '<p>late</p>')), null, 'content after </body>');
});

test('read: raw text, opaque elements, the newline after <pre>, attributes holding ">"', () => {
  const html = page('<pre>\nx</pre><script>a("</scr" + "ipt>")</script><div title="a>b"><svg><circle/></svg></div>' +
    '<template><tr></tr></template><textarea></div></textarea>');
  const tree = pageTree(html);
  assert.ok(tree);
  const t = tree.nodes;
  const body = kids(t, tree.body);
  assert.deepEqual(body.map((i) => t.name[i]), ['pre', 'script', 'div', 'template', 'textarea', '#text']);
  const pre = kids(t, body[0]);
  assert.equal(html.slice(t.start[pre[0]], t.end[pre[0]]), 'x', 'the newline after <pre> is no text');
  assert.equal(t.opaque[body[1]], 1);
  assert.equal(html.slice(t.start[body[1]], t.end[body[1]]), '<script>a("</scr" + "ipt>")</script>');
  assert.equal(t.start[body[5]], t.end[body[5]], 'the whitespace after </body> is a node of no length');
  assert.equal(tree.tail, '\n\n');
});

test('text after </body> joins the body\'s last text', () => {
  const tree = pageTree(page('<p>a</p>x'));
  const t = tree.nodes;
  assert.equal(kids(t, tree.body).length, 2);
  assert.equal(tree.tail, '\n\n');
});

function rng(seed) {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

test('an element\'s content read alone gives the nodes the whole page gave', () => {
  const rnd = rng(11);
  const TAGS = ['div', 'p', 'span', 'ul', 'li', 'table', 'tbody', 'tr', 'td', 'b', 'pre', 'section', 'a', 'em'];
  const gen = (d) => {
    if (d > 4 || rnd(3) === 0) return ['x', ' ', '\n', '<!--c-->', '<br>', '<script>1<2</script>'][rnd(6)];
    const tag = TAGS[rnd(TAGS.length)];
    let inner = '';
    for (let k = rnd(4); k > 0; k--) inner += gen(d + 1);
    return `<${tag} class="k${rnd(9)}">${inner}</${tag}>`;
  };
  let checked = 0;
  for (let round = 0; round < 3000; round++) {
    let body = '';
    for (let k = 1 + rnd(4); k > 0; k--) body += gen(0);
    const html = page(body);
    const tree = pageTree(html);
    if (!tree) continue;
    const t = tree.nodes;
    for (let e = tree.body; e < t.n; e++) {
      if (t.kind[e] !== ELEMENT || t.opaque[e]) continue;
      const context = [];
      for (let a = e; a >= 0; a = t.parent[a]) context.unshift(t.name[a]);
      // (partial.js starts after the newline the parser drops after <pre>)
      const from = t.open[e] + (t.name[e] === 'pre' && html[t.open[e]] === '\n' ? 1 : 0);
      const scan = new Scan(html, from, t.close[e], context, null, null);
      scan.run();
      assert.equal(scan.refused, '', html);
      const s = scan.nodes;
      // (the body's node of no length for the whitespace after </body> is not in its content)
      const last = t.next[e] - 1;
      const tail = e === tree.body && t.kind[last] === TEXT && t.start[last] === t.end[last] ? 1 : 0;
      assert.equal(s.n, t.next[e] - e - 1 - tail, html);
      for (let k = 0; k < s.n; k++) {
        const i = e + 1 + k;
        assert.deepEqual([s.kind[k], s.start[k], s.end[k], s.name[k]], [t.kind[i], t.start[i], t.end[i], t.name[i]]);
      }
      checked++;
    }
  }
  assert.ok(checked > 1000, `${checked} elements checked`);
});
