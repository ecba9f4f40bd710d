/* The node tree of a page read from its text, without building a DOM: for
 * every element, text and comment its source range, and for an element
 * its name and where its start and end tags are. partial.js uses it to
 * find which children of which element a change in the text touches, so
 * that only those are parsed again.
 *
 * It describes only markup whose DOM is its tag nesting, and answers null
 * wherever the HTML parser would build something else (foster-parented
 * table text, an implied <tbody> or </p> or </li>, a nested <a> or
 * <form>, a misnested or unclosed element, quirks mode, <noscript>...):
 * such a page is then parsed whole, as before. Elements whose content the
 * parser reads by other rules (raw text, <template>, <svg>, <math>,
 * <select>) are single opaque nodes: their ends are found, their insides
 * never compared.
 *
 * 10,000-row page (1.6 MB), node 18: 25-45 ms. The browser's own parser
 * takes 130-230 ms for the same text; what this saves is not parsing the
 * unchanged part at all. The work is sliced (run(until)) so that the
 * tokenizing of a baseline never makes a long task. */

export const ELEMENT = 1;
export const TEXT = 3;
export const COMMENT = 8;

const VOID = new Set(['area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'hr', 'img', 'input',
  'link', 'meta', 'param', 'source', 'track', 'wbr']);
// Content read as text up to the matching end tag.
const RAW = new Set(['script', 'style', 'xmp', 'iframe', 'noembed', 'noframes', 'textarea', 'title']);
// Content read by other rules; only the matching end tag matters here.
const OPAQUE = new Set(['template', 'svg', 'math', 'select']);
// What the parser moves, renames, merges or reads with scripting off
// (DOMParser) differently from the live page.
const REFUSED = new Set(['noscript', 'plaintext', 'frameset', 'frame', 'image', 'isindex', 'html', 'head', 'body',
  'keygen', 'menuitem']);
const TABLE_PARTS = new Set(['caption', 'col', 'colgroup', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th']);
const IN_TABLE = {
  table: new Set(['caption', 'colgroup', 'thead', 'tbody', 'tfoot', 'script', 'style', 'template']),
  thead: new Set(['tr', 'script', 'style', 'template']),
  tbody: new Set(['tr', 'script', 'style', 'template']),
  tfoot: new Set(['tr', 'script', 'style', 'template']),
  tr: new Set(['td', 'th', 'script', 'style', 'template']),
  colgroup: new Set(['col', 'template']),
};
const IN_HEAD = new Set(['base', 'basefont', 'bgsound', 'link', 'meta', 'title', 'style', 'script', 'template']);
// Start tags that close an open <p> (in button scope).
const CLOSES_P = new Set(['address', 'article', 'aside', 'blockquote', 'center', 'details', 'dialog', 'dir', 'div',
  'dl', 'fieldset', 'figcaption', 'figure', 'footer', 'header', 'hgroup', 'main', 'menu', 'nav', 'ol', 'p',
  'search', 'section', 'summary', 'ul', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'listing', 'form', 'table',
  'hr', 'xmp', 'li', 'dd', 'dt']);
const SCOPE = new Set(['applet', 'caption', 'html', 'table', 'td', 'th', 'marquee', 'object', 'template', 'button']);
const SPECIAL = new Set(['address', 'applet', 'area', 'article', 'aside', 'base', 'basefont', 'bgsound',
  'blockquote', 'body', 'br', 'button', 'caption', 'center', 'col', 'colgroup', 'dd', 'details', 'dir', 'div',
  'dl', 'dt', 'embed', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'frame', 'frameset', 'h1', 'h2',
  'h3', 'h4', 'h5', 'h6', 'head', 'header', 'hgroup', 'hr', 'html', 'iframe', 'img', 'input', 'keygen', 'li',
  'link', 'listing', 'main', 'marquee', 'menu', 'meta', 'nav', 'noembed', 'noframes', 'noscript', 'object',
  'ol', 'p', 'param', 'plaintext', 'pre', 'script', 'search', 'section', 'select', 'source', 'style', 'summary',
  'table', 'tbody', 'td', 'template', 'textarea', 'tfoot', 'th', 'thead', 'title', 'tr', 'track', 'ul', 'wbr',
  'xmp']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const RUBY = new Set(['rb', 'rp', 'rt', 'rtc']);
// What "generate implied end tags" closes (a ruby part's start tag does it).
const IMPLIED = new Set(['dd', 'dt', 'li', 'optgroup', 'option', 'p', 'rb', 'rp', 'rt', 'rtc']);
// Start tags that leave foreign content (<svg>, <math>) for HTML.
const BREAKOUT = new Set(['b', 'big', 'blockquote', 'body', 'br', 'center', 'code', 'dd', 'div', 'dl', 'dt',
  'em', 'embed', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'head', 'hr', 'i', 'img', 'li', 'listing', 'menu', 'meta',
  'nobr', 'ol', 'p', 'pre', 'ruby', 's', 'small', 'span', 'strong', 'strike', 'sub', 'sup', 'table', 'tt', 'u',
  'ul', 'var', 'font', 'script', 'style', 'title', 'textarea']);

const LT = 60, GT = 62, SLASH = 47, BANG = 33, DASH = 45, EQ = 61, DQ = 34, SQ = 39;

function isSpace(c) {
  return c === 32 || c === 10 || c === 9 || c === 12 || c === 13;
}

function isAlpha(c) {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function allSpace(s, from, to) {
  for (let i = from; i < to; i++) if (!isSpace(s.charCodeAt(i))) return false;
  return true;
}

/* Reads the tag at s[i] ('<' or '</' then a letter): its lowercased name,
 * where it ends (after '>') and whether it ends in '/>'. -1 at the end of
 * the text. Attribute values in quotes may hold '>'. */
function readTag(s, i, out) {
  const len = s.length;
  let j = i + (s.charCodeAt(i + 1) === SLASH ? 2 : 1);
  const nameStart = j;
  while (j < len) {
    const c = s.charCodeAt(j);
    if (isSpace(c) || c === SLASH || c === GT) break;
    j++;
  }
  out.name = s.slice(nameStart, j).toLowerCase();
  let selfClosing = false;
  for (;;) {
    while (j < len && (isSpace(s.charCodeAt(j)) || s.charCodeAt(j) === SLASH)) {
      selfClosing = s.charCodeAt(j) === SLASH;
      j++;
    }
    if (j >= len) return -1;
    if (s.charCodeAt(j) === GT) break;
    selfClosing = false;
    j++; // an attribute name's first character may be '='
    while (j < len) {
      const c = s.charCodeAt(j);
      if (isSpace(c) || c === SLASH || c === GT || c === EQ) break;
      j++;
    }
    while (j < len && isSpace(s.charCodeAt(j))) j++;
    if (j < len && s.charCodeAt(j) === EQ) {
      j++;
      while (j < len && isSpace(s.charCodeAt(j))) j++;
      const q = s.charCodeAt(j);
      if (q === DQ || q === SQ) {
        j = s.indexOf(q === DQ ? '"' : "'", j + 1);
        if (j < 0) return -1;
        j++;
      } else {
        while (j < len && !isSpace(s.charCodeAt(j)) && s.charCodeAt(j) !== GT) j++;
      }
    }
  }
  out.selfClosing = selfClosing;
  return j + 1;
}

// Where a comment starting at s[i] ('<!--') ends, or -1.
function commentEnd(s, i) {
  const j = i + 4;
  if (s.charCodeAt(j) === GT) return j + 1; // <!-->
  if (s.startsWith('->', j)) return j + 2; // <!--->
  const a = s.indexOf('-->', j);
  const b = s.indexOf('--!>', j);
  if (a < 0) return b < 0 ? -1 : b + 4;
  return b >= 0 && b < a ? b + 4 : a + 3;
}

// What s[i] ('<') starts: 1 a tag, 2 an end tag, 3 a comment, 0 text,
// -1 markup the parser reads as something else (bogus comments, '</>').
function markupAt(s, i) {
  const c = s.charCodeAt(i + 1);
  if (isAlpha(c)) return 1;
  if (c === SLASH) return isAlpha(s.charCodeAt(i + 2)) ? 2 : -1;
  if (c === BANG) return s.startsWith('--', i + 2) ? 3 : -1;
  if (c === 63) return -1; // '<?'
  return 0;
}

// Where the raw text of <name> opened before s[i] ends: the start of its
// end tag, or -1.
function rawEnd(s, i, name) {
  for (;;) {
    const j = s.indexOf('</', i);
    if (j < 0) return -1;
    const k = j + 2 + name.length;
    if (s.slice(j + 2, k).toLowerCase() === name) {
      const c = s.charCodeAt(k);
      if (isSpace(c) || c === SLASH || c === GT) return j;
    }
    i = j + 2;
  }
}

/* The end of an opaque element opened before s[i]: { close, end } of its
 * matching end tag, or null where its content could end it otherwise
 * (foreign content left for HTML, a <select> closed by a start tag). */
function opaqueEnd(s, i, name, tag) {
  const foreign = name === 'svg' || name === 'math';
  let depth = 1;
  for (;;) {
    const j = s.indexOf('<', i);
    if (j < 0) return null;
    const m = markupAt(s, j);
    if (m === 3) {
      i = commentEnd(s, j);
      if (i < 0) return null;
      continue;
    }
    if (m <= 0) {
      if (m < 0 || foreign) return null; // CDATA, bogus comments: not worth reading here
      i = j + 1;
      continue;
    }
    const end = readTag(s, j, tag);
    if (end < 0) return null;
    const n = tag.name;
    if (m === 1) {
      if (foreign && BREAKOUT.has(n)) return null;
      // Foreign content's breakouts and what the live page reads with
      // scripting on (<noscript>): not followed inside an opaque element.
      if (!foreign && (n === 'svg' || n === 'math' || REFUSED.has(n))) return null;
      // Browsers differ on anything else in a <select> (Chromium keeps it
      // and reopens an unclosed <b> after it; others drop it).
      if (name === 'select' && n !== 'option' && n !== 'optgroup' && n !== 'hr') return null;
      if (n === name && !(foreign && tag.selfClosing)) depth++;
      if (!foreign && RAW.has(n)) {
        const close = rawEnd(s, end, n);
        if (close < 0) return null;
        i = close + 2;
        continue;
      }
    } else if (name === 'select' && n !== 'option' && n !== 'optgroup' && n !== 'select') {
      return null;
    } else if (n === name && --depth === 0) {
      return { close: j, end };
    } else if (foreign && (n === 'p' || n === 'br')) {
      return null;
    }
    i = end;
  }
}

/* Nodes in document order (an element before its children), in typed
 * arrays that grow. next[i]: the index after i's subtree; kids[i]: how
 * many children; close[i]: where the end tag starts (content end). */
class Nodes {
  constructor(size) {
    this.n = 0;
    this.alloc(size);
  }

  alloc(size) {
    const old = this.kind;
    this.size = size;
    const grow = (A, a) => {
      const b = new A(size);
      if (a) b.set(a.subarray(0, this.n));
      return b;
    };
    this.kind = grow(Uint8Array, old);
    this.opaque = grow(Uint8Array, this.opaque);
    this.start = grow(Int32Array, this.start);
    this.end = grow(Int32Array, this.end);
    this.open = grow(Int32Array, this.open);
    this.close = grow(Int32Array, this.close);
    this.parent = grow(Int32Array, this.parent);
    this.next = grow(Int32Array, this.next);
    this.kids = grow(Int32Array, this.kids);
    this.name = this.name || [];
  }

  add(kind, name, start, end, parent) {
    if (this.n === this.size) this.alloc(this.size * 2);
    const i = this.n++;
    this.kind[i] = kind;
    this.opaque[i] = 0;
    this.start[i] = start;
    this.end[i] = end;
    this.open[i] = end;
    this.close[i] = end;
    this.parent[i] = parent;
    this.next[i] = i + 1;
    this.kids[i] = 0;
    this.name[i] = name;
    if (parent >= 0) this.kids[parent]++;
    return i;
  }

  // The children of element i, in order.
  * children(i) {
    for (let c = i + 1; c < this.next[i]; c = this.next[c]) yield c;
  }
}

/* The tokenizing of s[from, to) into children of the open elements named
 * by context (outermost first; their nodes, where known, in contextNodes).
 * run(until) works until performance.now() passes until and says whether
 * it is done; then nodes holds the tree, or refused says why there is none. */
export class Scan {
  constructor(s, from, to, context, contextNodes, nodes) {
    this.s = s;
    this.i = from;
    this.to = to;
    this.names = context.slice();
    this.stack = contextNodes ? contextNodes.slice() : context.map(() => -1);
    this.base = context.length;
    this.nodes = nodes || new Nodes(1024);
    this.refused = '';
    this.outer = false; // refused where the markup may belong to a context element
    this.tag = { name: '', selfClosing: false };
    this.stopAt = ''; // an end tag that stops the scan at the base depth (the document's </body>)
    this.stoppedAt = -1;
  }

  refuse(why) {
    this.refused = why + ' at ' + this.i;
    return true;
  }

  pastEnd(what) {
    this.outer = true;
    return this.refuse(what + ' past the end');
  }

  top() {
    return this.names[this.names.length - 1];
  }

  parentNode() {
    return this.stack[this.stack.length - 1];
  }

  run(until) {
    let k = 0;
    while (!this.refused && this.i < this.to && this.stoppedAt < 0) {
      if ((++k & 255) === 0 && until !== undefined && performance.now() > until) return false;
      this.step();
    }
    if (!this.refused && this.stoppedAt < 0 && this.names.length !== this.base) {
      this.outer = true; // (or malformed: the caller finds out by widening)
      this.refuse('unclosed <' + this.top() + '>');
    }
    return true;
  }

  step() {
    const s = this.s;
    const i = this.i;
    let j = s.indexOf('<', i);
    if (j < 0 || j > this.to) j = this.to;
    let m = 0;
    while (j < this.to && (m = markupAt(s, j)) === 0) {
      j = s.indexOf('<', j + 1);
      if (j < 0 || j > this.to) j = this.to;
    }
    if (j > i) return this.text(i, j);
    if (m < 0) return this.refuse('bogus comment');
    if (m === 3) {
      const end = commentEnd(s, i);
      if (end < 0 || end > this.to) return this.pastEnd('comment');
      this.nodes.add(COMMENT, '#comment', i, end, this.parentNode());
      this.i = end;
      return false;
    }
    const end = readTag(s, i, this.tag);
    if (end < 0 || end > this.to) return this.pastEnd('tag');
    return m === 1 ? this.startTag(i, end) : this.endTag(i, end);
  }

  text(i, j) {
    const t = this.top();
    if ((IN_TABLE[t] || t === 'head') && !allSpace(this.s, i, j)) return this.refuse('text in <' + t + '>');
    // The parser drops NULs from text: a text of NULs alone would be no node.
    if (this.s.slice(i, j).indexOf('\0') >= 0) return this.refuse('NUL in text');
    this.nodes.add(TEXT, '#text', i, j, this.parentNode());
    this.i = j;
    return false;
  }

  // Whether the parser would close or move something on this start tag.
  misplaced(n) {
    const t = this.top();
    const names = this.names;
    if (REFUSED.has(n)) return 'refused element';
    if (IN_TABLE[t]) return IN_TABLE[t].has(n) ? '' : 'foster-parented';
    if (TABLE_PARTS.has(n)) return 'table part outside its table';
    if (t === 'head') return IN_HEAD.has(n) ? '' : 'body element in head';
    if (CLOSES_P.has(n)) {
      for (let k = names.length - 1; k >= 0 && !SCOPE.has(names[k]); k--) if (names[k] === 'p') return 'closes <p>';
    }
    if (n === 'li' || n === 'dd' || n === 'dt') {
      for (let k = names.length - 1; k >= 0; k--) {
        const a = names[k];
        if (n === 'li' ? a === 'li' : a === 'dd' || a === 'dt') return 'closes <' + a + '>';
        if (SPECIAL.has(a) && a !== 'address' && a !== 'div' && a !== 'p') break;
      }
    }
    if (n === 'a' || n === 'nobr' || n === 'form' || n === 'button') {
      if (names.indexOf(n) >= 0) return 'nested <' + n + '>';
    }
    if (HEADINGS.has(n) && HEADINGS.has(t)) return 'heading in heading';
    if ((n === 'option' || n === 'optgroup') && t === 'option') return 'closes <option>';
    if (RUBY.has(n) && names.indexOf('ruby') >= 0 && IMPLIED.has(t) && !(t === 'rtc' && (n === 'rp' || n === 'rt'))) {
      return 'closes <' + t + '>';
    }
    return '';
  }

  startTag(i, end) {
    const n = this.tag.name;
    const why = this.misplaced(n);
    if (why) return this.refuse(why + ' <' + n + '>');
    const nodes = this.nodes;
    const node = nodes.add(ELEMENT, n, i, end, this.parentNode());
    if (VOID.has(n)) {
      this.i = end;
      return false;
    }
    if (RAW.has(n) || OPAQUE.has(n)) {
      let close, after;
      if (RAW.has(n)) {
        close = rawEnd(this.s, end, n);
        if (n === 'script' && close >= 0 && this.s.slice(end, close).indexOf('<!--') >= 0) {
          return this.refuse('escaped script');
        }
        after = close < 0 ? -1 : readTag(this.s, close, this.tag);
      } else if ((n === 'svg' || n === 'math') && this.tag.selfClosing) {
        close = after = end;
      } else {
        const r = opaqueEnd(this.s, end, n, this.tag);
        close = r ? r.close : -1;
        after = r ? r.end : -1;
      }
      if (close < 0 || after < 0 || after > this.to) return this.refuse('unclosed <' + n + '>');
      nodes.opaque[node] = 1;
      nodes.close[node] = close;
      nodes.end[node] = after;
      nodes.next[node] = nodes.n;
      this.i = after;
      return false;
    }
    this.names.push(n);
    this.stack.push(node);
    this.i = end;
    if (n === 'pre' || n === 'listing') {
      // The parser drops the newline right after the start tag.
      const c = this.s.charCodeAt(end);
      if (c === 10) this.i = end + 1;
      else if (c === 13) this.i = end + (this.s.charCodeAt(end + 1) === 10 ? 2 : 1);
    }
    return false;
  }

  endTag(i, end) {
    const n = this.tag.name;
    if (this.names.length === this.base) {
      if (n === this.stopAt) {
        this.stoppedAt = i;
        this.i = i;
        return false;
      }
      this.outer = true;
      return this.refuse('end tag </' + n + '> of an element opened before');
    }
    if (n !== this.top()) return this.refuse('</' + n + '> closes <' + this.top() + '>');
    const node = this.stack.pop();
    this.names.pop();
    const nodes = this.nodes;
    nodes.close[node] = i;
    nodes.end[node] = end;
    nodes.next[node] = nodes.n;
    this.i = end;
    return false;
  }
}

/* A whole page: <!doctype html>, then <html>, <head>...</head> and
 * <body>...</body> written out, whitespace and comments between them.
 * run(until) as Scan's; then tree is { nodes, html, head, body, tail } or
 * null (refused says why). Whitespace after </body> joins the body's last
 * text node, or is one of its own: then a node of no length at </body>
 * stands for it, so that the body's children are counted as the DOM's. */
export class PageScan {
  constructor(s) {
    this.s = s;
    this.tree = null;
    this.refused = '';
    this.nodes = new Nodes(Math.max(1024, s.length >> 5));
    this.scan = null;
    this.stage = 0;
  }

  fail(why) {
    this.refused = why;
    return true;
  }

  // Skips whitespace and comments from i; returns where markup starts.
  skip(i, comments) {
    const s = this.s;
    for (;;) {
      while (i < s.length && isSpace(s.charCodeAt(i))) i++;
      if (comments && s.startsWith('<!--', i)) {
        i = commentEnd(s, i);
        if (i < 0) return -1;
        continue;
      }
      return i;
    }
  }

  // The start tag `name` at i: its end, or -1.
  opening(i, name) {
    const tag = { name: '', selfClosing: false };
    if (i < 0 || this.s.charCodeAt(i) !== LT || markupAt(this.s, i) !== 1) return -1;
    const end = readTag(this.s, i, tag);
    return tag.name === name ? end : -1;
  }

  // Opens <name> (head, then body) at i and the scan of its content.
  enter(name, i) {
    const end = this.opening(i, name);
    if (end < 0) return false;
    const el = this.nodes.add(ELEMENT, name, i, end, this.html);
    this[name] = el;
    this.scan = new Scan(this.s, end, this.s.length, ['html', name], [this.html, el], this.nodes);
    this.scan.stopAt = name;
    this.stage++;
    return true;
  }

  run(until) {
    if (this.refused || this.tree) return true;
    const s = this.s;
    const nodes = this.nodes;
    if (this.stage === 0) {
      let i = this.skip(0, false);
      if (!/^<!doctype\s+html\s*>/i.test(s.slice(i, i + 32))) return this.fail('no <!doctype html>');
      i = this.skip(s.indexOf('>', i) + 1, true);
      const htmlEnd = this.opening(i, 'html');
      if (htmlEnd < 0) return this.fail('no <html>');
      this.html = nodes.add(ELEMENT, 'html', i, htmlEnd, -1);
      if (!this.enter('head', this.skip(htmlEnd, true))) return this.fail('no <head>');
    }
    if (this.stage === 1 || this.stage === 2) {
      if (!this.scan.run(until)) return false;
      if (this.scan.refused) return this.fail(this.scan.refused);
      if (this.scan.stoppedAt < 0) return this.fail('no </' + this.scan.stopAt + '>');
      const at = this.scan.stoppedAt;
      const part = this.stage === 1 ? this.head : this.body;
      nodes.close[part] = at;
      nodes.end[part] = readTag(s, at, { name: '', selfClosing: false });
      nodes.next[part] = nodes.n;
      if (this.stage === 1) {
        // Between </head> and <body>: whitespace is a text node of <html>.
        let i = nodes.end[part];
        const j = this.skip(i, false);
        if (j > i) nodes.add(TEXT, '#text', i, j, this.html);
        i = j;
        if (s.startsWith('<!--', i)) return this.fail('comment before <body>');
        if (!this.enter('body', i)) return this.fail('no <body>');
        return this.run(until);
      }
      return this.finish(nodes.end[part]);
    }
    return true;
  }

  // After </body>: only whitespace (which joins the body), comments and </html>.
  finish(i) {
    const s = this.s;
    const nodes = this.nodes;
    let tail = '';
    for (;;) {
      const j = this.skip(i, false);
      tail += s.slice(i, j);
      i = j;
      if (i >= s.length) break;
      if (s.startsWith('<!--', i)) {
        i = commentEnd(s, i);
        if (i < 0) return this.fail('unclosed comment');
      } else if (/^<\/html[\s>]/i.test(s.slice(i, i + 7))) {
        i = s.indexOf('>', i) + 1;
      } else {
        return this.fail('content after </body>');
      }
    }
    const body = this.body;
    let last = -1;
    for (const c of nodes.children(body)) last = c;
    if (tail && (last < 0 || nodes.kind[last] !== TEXT)) {
      nodes.add(TEXT, '#text', nodes.close[body], nodes.close[body], body);
      nodes.next[body] = nodes.n;
      nodes.next[this.html] = nodes.n;
    }
    nodes.next[this.html] = nodes.n;
    nodes.end[this.html] = s.length;
    nodes.close[this.html] = s.length;
    this.tree = { nodes, html: this.html, head: this.head, body, tail };
    return true;
  }
}

// The tree of a whole page at once (tests, and a baseline needed now).
export function pageTree(s) {
  const scan = new PageScan(s);
  scan.run();
  return scan.tree;
}
