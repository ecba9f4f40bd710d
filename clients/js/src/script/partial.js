/* Parses only what changed since the last refresh. Parsing is what a big
 * page's refresh costs: Chromium's parser takes 130-230 ms for the
 * 10,000-row bench page (1.6 MB), where one row and the token changed.
 *
 * The last page morphed in is the baseline: its text and its node tree
 * (tagtree.js, made when the main thread is idle). The new text is
 * compared with the old (textdiff.js); each changed stretch is widened to
 * whole children of the deepest element holding it, and only those
 * children are tokenized in the new text (so the new markup is checked to
 * close where the old did) and parsed, in a small document that opens the
 * same elements around them. What lies between the stretches is the same
 * text, so the live nodes it made stay as they are. A change inside
 * <head> takes the new <head> whole (it is small, and merged as always).
 *
 * Before any of it is used, the live document must still have the shape
 * the old text gives it along the way down to each changed element (names
 * and child counts). Anything else (markup tagtree.js refuses, a change
 * around <body> or <html>, a live page changed by other code) answers
 * null: the page is parsed whole. */

import { ELEMENT, TEXT, Scan } from './tagtree.js';
import { changes } from './textdiff.js';

// Characters after the end of a node that the tokenizer may have looked
// at to end it ('<!--' is the longest such look): a node ending closer
// than this before a change is read again. (A node after a change starts
// where the new markup before it is checked to end.)
const LOOK = 8;
// A range of children idiomorph must morph (a reorder, a replacement) is
// morphed as its whole element, parsed alone, up to this many chars.
const MAX_WHOLE = 256 * 1024;
const MAX_RETRIES = 64;
const OUTER = 'new markup closes an element opened before it';

function children(t, e) {
  const out = [];
  for (let c = e + 1; c < t.next[e]; c = t.next[c]) out.push(c);
  return out;
}

// The deepest element at or under <body> (not opaque) whose content holds
// [x, y), or -1.
function holder(tree, x, y) {
  const t = tree.nodes;
  let cur = tree.body;
  if (!(t.open[cur] <= x && y <= t.close[cur])) return -1;
  for (;;) {
    let down = -1;
    for (let c = cur + 1; c < t.next[cur] && t.start[c] <= x; c = t.next[c]) {
      if (t.kind[c] === ELEMENT && !t.opaque[c] && t.open[c] <= x && y <= t.close[c]) {
        down = c;
        break;
      }
    }
    if (down < 0) return cur;
    cur = down;
  }
}

/* A changed stretch [o1, o2) of the old text widened to whole children of
 * its holder: children [ci, cj) of element e, text [b, f). */
function widen(tree, o1, o2) {
  const t = tree.nodes;
  const x = Math.max(0, o1 - LOOK);
  const y = o2;
  const e = holder(tree, x, y);
  if (e < 0) return null;
  const kids = children(t, e);
  let ci = 0;
  let cj = kids.length;
  while (ci < kids.length && t.end[kids[ci]] <= x) ci++;
  for (let k = ci; k < kids.length; k++) {
    if (t.start[kids[k]] >= y) {
      cj = k;
      break;
    }
  }
  let b = ci > 0 ? t.end[kids[ci - 1]] : t.open[e];
  if (ci === 0 && (t.name[e] === 'pre' || t.name[e] === 'listing')) {
    // After the newline the parser drops (tagtree.js: the first child starts after it).
    b = kids.length ? Math.min(t.start[kids[0]], y) : b;
  }
  const f = cj < kids.length ? t.start[kids[cj]] : t.close[e];
  return { o1, o2, e, kids, ci, cj, b, f };
}

// The changed stretches as widened segments, merged where they touch, or why not.
function segments(tree, found) {
  let segs = [];
  for (const [o1, o2] of found) {
    const s = widen(tree, o1, o2);
    if (!s) return 'a change around <body>';
    segs.push(s);
  }
  for (let merged = true; merged;) {
    merged = false;
    const out = [];
    for (const s of segs) {
      const prev = out[out.length - 1];
      if (prev && s.b <= prev.f) {
        const m = widen(tree, Math.min(prev.o1, s.o1), Math.max(prev.o2, s.o2));
        if (!m) return 'a change around <body>';
        out[out.length - 1] = m;
        merged = true;
      } else {
        out.push(s);
      }
    }
    segs = out;
  }
  return segs;
}

// Where an old position outside every change is in the new text.
function shifter(found) {
  return (p) => {
    let d = 0;
    for (const [o1, o2, n1, n2] of found) if (o2 <= p) d += (n2 - n1) - (o2 - o1);
    return p + d;
  };
}

function parse(html) {
  return new DOMParser().parseFromString(html, 'text/html');
}

// The live nodes from <body> down to element e, checked against the old
// text's tree; null where the live document is not shaped so.
function livePath(tree, e, doc) {
  const t = tree.nodes;
  const chain = [];
  for (let a = e; a !== tree.body; a = t.parent[a]) chain.unshift(a);
  let live = doc.body;
  if (!live || live.childNodes.length !== t.kids[tree.body]) return null;
  const path = [live];
  let parent = tree.body;
  for (const c of chain) {
    let idx = 0;
    for (let k = parent + 1; k !== c; k = t.next[k]) idx++;
    live = live.childNodes[idx];
    if (!live || live.nodeType !== 1 || live.localName !== t.name[c] || live.childNodes.length !== t.kids[c]) {
      return null;
    }
    path.push(live);
    parent = c;
  }
  return path;
}

function sameKind(t, c, live) {
  if (!live || live.nodeType !== t.kind[c]) return false;
  return t.kind[c] !== ELEMENT || live.localName === t.name[c];
}

// Parses text inside the elements of path (from <body> down), as the
// page would; returns the last of them in the parsed document, or null.
function parseIn(path, text, own) {
  const open = path.slice(1, own ? -1 : undefined).map((el) => '<' + el.localName + '>').join('');
  const doc = parse('<!doctype html><html><head></head>' + (own && path.length === 1 ? '' : '<body>') + open + text);
  let n = doc.body;
  for (const el of path.slice(1)) {
    n = n.firstElementChild;
    if (!n || n.localName !== el.localName) return null;
  }
  return { n, doc };
}

// The new version of element e, parsed alone where it is not too big:
// { o, n, doc } for morph.js, or null.
function wholeElement(tree, e, path, html, at) {
  const t = tree.nodes;
  const from = at(t.start[e]);
  const to = at(t.end[e]);
  if (to - from > MAX_WHOLE) return null;
  const p = parseIn(path, html.slice(from, to) + (e === tree.body ? tree.tail : ''), true);
  return p && { o: path[path.length - 1], n: p.n, doc: p.doc };
}

// The live element e along its path, where its children [ci, cj) are
// still where the old text has them; or null.
function liveHolder(tree, e, kids, ci, cj, doc) {
  const t = tree.nodes;
  const path = livePath(tree, e, doc);
  const live = path && path[path.length - 1];
  if (!path || (ci > 0 && !sameKind(t, kids[ci - 1], live.childNodes[ci - 1])) ||
    (cj < kids.length && !sameKind(t, kids[cj], live.childNodes[cj]))) return null;
  return path;
}

/* How many nodes the new text [b, f) makes at the top, read inside the
 * elements of path, between the old children kept around it; or why it
 * cannot be parsed apart (OUTER: it closes an element opened before). */
function newNodes(tree, seg, cj, tail, html, b, f, path) {
  const t = tree.nodes;
  const { kids, ci } = seg;
  const scan = new Scan(html, b, f, ['html'].concat(path.map((el) => el.localName)), null, null);
  scan.run();
  if (scan.outer) return OUTER;
  if (scan.refused) return 'new markup: ' + scan.refused;
  // Two texts side by side would be one node in the parsed page.
  const kinds = ci > 0 ? [t.kind[kids[ci - 1]]] : [];
  const nodes = scan.nodes;
  for (let k = 0; k < nodes.n; k = nodes.next[k]) kinds.push(nodes.kind[k]);
  let count = kinds.length - (ci > 0 ? 1 : 0);
  if (tail && kinds[kinds.length - 1] !== TEXT) count++;
  if (cj < kids.length) kinds.push(t.kind[kids[cj]]);
  for (let k = 1; k < kinds.length; k++) {
    if (kinds[k] === TEXT && kinds[k - 1] === TEXT) return 'texts that join';
  }
  return count;
}

/* One segment as a part for morph.js: { o, n, range, path, doc, whole },
 * or why not. html: the new text; at: old positions to new. */
function bodyPart(tree, seg, html, at, doc) {
  const b = at(seg.b);
  const f = at(seg.f);
  const t = tree.nodes;
  const { e, kids, ci } = seg;
  let { cj } = seg;
  // Whitespace after </body> joins the body's last text, or is a text of
  // its own (a node of no length in the tree): read with what precedes it.
  const last = kids[kids.length - 1];
  const tail = e === tree.body && tree.tail && cj >= kids.length - (t.start[last] === t.end[last] ? 1 : 0);
  if (tail) cj = kids.length;
  if ((t.name[e] === 'pre' || t.name[e] === 'listing') && !kids.length) return 'a change in an empty <pre>';
  const path = liveHolder(tree, e, kids, ci, cj, doc);
  if (!path) return 'the live page is not the last one morphed in (changed by other code?)';
  const count = newNodes(tree, seg, cj, tail, html, b, f, path);
  if (typeof count === 'string') return count;
  const p = parseIn(path, '<!---->' + html.slice(b, f) + (tail ? tree.tail : '') + '<!---->', false);
  const nc = p && p.n.childNodes;
  if (!p || nc.length !== count + 2 || nc[0].nodeType !== 8 || nc[nc.length - 1].nodeType !== 8) {
    return 'parsed otherwise than read';
  }
  return { o: path[path.length - 1], n: p.n, range: { os: ci, oe: cj, ns: 1, ne: nc.length - 1 }, path,
    doc: p.doc, whole: () => wholeElement(tree, e, path, html, at) };
}

/* base: { html, tree, refused } of the last page morphed in; html: the
 * new page's text; doc: the live document. Returns the parts to morph ([]
 * when the text did not change), or why the page must be parsed whole. */
export function partialParts(base, html, doc) {
  const tree = base.tree;
  if (!tree) return 'last page: ' + base.refused;
  const found = changes(base.html, html);
  if (!found) return 'changed in too many places';
  const t = tree.nodes;
  const head = tree.head;
  const inHead = ([o1, o2]) => t.open[head] <= o1 && o2 <= t.close[head];
  const at = shifter(found);
  const parts = [];
  if (found.some(inHead)) {
    const text = html.slice(at(t.open[head]), at(t.close[head]));
    const parsed = parse('<!doctype html><html><head>' + text + '</head><body></body></html>');
    parts.push({ o: doc.head, n: parsed.head, range: null, path: [], doc: parsed });
  }
  // A change whose new markup closes its holder (a row inserted where the
  // old text had a cell) is read again as a change of the whole holder.
  const ranges = found.filter((c) => !inHead(c)).map(([o1, o2]) => [o1, o2]);
  for (let retry = 0; ; retry++) {
    const segs = segments(tree, ranges);
    if (typeof segs === 'string') return segs;
    const body = [];
    for (const seg of segs) {
      const part = bodyPart(tree, seg, html, at, doc);
      if (part === OUTER && retry < MAX_RETRIES && seg.e !== tree.body) {
        ranges.push([t.start[seg.e], t.end[seg.e]]);
        ranges.sort((p, q) => p[0] - q[0]);
        break;
      }
      if (typeof part === 'string') return part;
      body.push(part);
    }
    if (body.length === segs.length) return parts.concat(body);
  }
  return parts;
}
