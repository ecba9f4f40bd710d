/* What changed between the live document and a refetched one, so that
 * idiomorph only walks that. Measured on a 2,000-row table with one changed
 * row (docs/benchmarks.md, "Browser"): idiomorph 0.8 over the whole
 * document takes 360 ms and 10,000 rows 8 s, because for every node
 * without an id (whitespace between rows, cells, rows without ids) it
 * scans all the remaining siblings for a better match; Turbo 8 (the same
 * idiomorph) does the same. So first:
 *
 * - Subtrees equal to their new version (isEqualNode, native and linear)
 *   are skipped: a morph would leave them exactly as they are.
 * - In a list of children, the equal ones at the start and at the end are
 *   skipped, then pairs that stand for the same thing (same kind, tag and
 *   id) from both ends are compared recursively; what is left in the
 *   middle is an insertion (nothing old left) or a removal (nothing new
 *   left), done here; anything else (a reorder, a replacement) is one
 *   idiomorph call on that element alone.
 * - Attributes and text of an element whose children line up are set
 *   here with the same rules the morph uses (hooks.keepAttribute); form
 *   fields, <head> (merged, so stylesheets are not reloaded), <template>
 *   and the focused element go to idiomorph as they are.
 * - idiomorph keeps an element's identity (focus, state) when its id
 *   moves to another parent in the document. Split into separate calls,
 *   it could not: so when an id leaves one changed place and arrives in
 *   another, both go to idiomorph together as their nearest common
 *   ancestor.
 *
 * Nothing is changed until the whole plan is made.
 */

import { Idiomorph } from '../../vendor/idiomorph.min.js';

const DELEGATED = /^(HEAD|INPUT|TEXTAREA|SELECT|OPTION|TEMPLATE)$/;
const MAX_MERGES = 64; // each merge moves a call up; a document is not deeper than the parser allows

// The same node in two versions of the document (not necessarily equal).
function same(a, b) {
  return a.nodeType === b.nodeType && a.nodeName === b.nodeName &&
    (a.nodeType !== 1 || a.getAttribute('id') === b.getAttribute('id'));
}

function item(o, n, parent) {
  return { o, n, parent, morph: false, attrs: false, text: false, insert: null, before: null, remove: null, kids: [] };
}

/* hooks: { keep(old) -> bool: leave this node as it is (not morphed);
 *          stay(old) -> bool: do not remove this node;
 *          add(new) -> bool: may this node be inserted;
 *          keepAttribute(name, el, kind) -> bool: leave this attribute as it is }
 * range: { os, oe, ns, ne }: only oldRoot's children [os, oe) are put in
 * the place of newRoot's [ns, ne), its own attributes left alone
 * (partial.js: the rest is the same in both versions); null when that
 * takes an idiomorph call on oldRoot itself. */
export function plan(oldRoot, newRoot, hooks, range) {
  const doc = oldRoot.ownerDocument;
  // With nothing focused, the body is the active element: not a field.
  const active = doc.activeElement === doc.body ? null : doc.activeElement;

  function visit(it, range) {
    const { o, n } = it;
    if (o.nodeType !== 1) {
      it.text = o.nodeValue !== n.nodeValue;
      return;
    }
    if (o === active || DELEGATED.test(o.nodeName)) {
      it.morph = true;
      return;
    }
    it.attrs = !range; // cheap to compare again when applied
    const oc = o.childNodes;
    const nc = n.childNodes;
    let os = 0, ns = 0, oe = oc.length, ne = nc.length;
    if (range) ({ os, oe, ns, ne } = range);
    while (os < oe && ns < ne && oc[os].isEqualNode(nc[ns])) { os++; ns++; }
    while (oe > os && ne > ns && oc[oe - 1].isEqualNode(nc[ne - 1])) { oe--; ne--; }
    const pairs = [];
    while (os < oe && ns < ne && same(oc[os], nc[ns])) pairs.push([oc[os++], nc[ns++]]);
    while (oe > os && ne > ns && same(oc[oe - 1], nc[ne - 1])) pairs.push([oc[--oe], nc[--ne]]);
    if (os < oe && ns < ne) {
      it.morph = true; // a reorder or a replacement: idiomorph's job
      return;
    }
    if (ns < ne) {
      it.insert = Array.prototype.slice.call(nc, ns, ne);
      it.before = oc[oe] || null;
    } else if (os < oe) {
      it.remove = Array.prototype.slice.call(oc, os, oe);
    }
    for (const [a, b] of pairs) {
      if (hooks.keep(a) || a.isEqualNode(b)) continue;
      const kid = item(a, b, it);
      it.kids.push(kid);
      visit(kid);
    }
  }

  const root = item(oldRoot, newRoot, null);
  if (range) visit(root, range);
  else if (!same(oldRoot, newRoot)) root.morph = true;
  else visit(root);
  mergeMovedIds(root);
  // idiomorph cannot morph a range of children: the caller parses whole.
  return range && root.morph ? null : root;
}

function idsIn(nodes, into, owner) {
  for (const node of nodes) {
    if (node.nodeType !== 1) continue;
    const own = node.getAttribute('id');
    if (own) into.push([own, owner]);
    for (const el of node.querySelectorAll('[id]')) into.push([el.getAttribute('id'), owner]);
  }
}

// The items that change something, with the ids they take away and bring.
export function changes(it, out) {
  if (it.morph) {
    idsIn([it.o], out.gone, it);
    idsIn([it.n], out.come, it);
    return out;
  }
  if (it.remove) idsIn(it.remove, out.gone, it);
  if (it.insert) idsIn(it.insert, out.come, it);
  for (const k of it.kids) changes(k, out);
  return out;
}

function ancestors(it) {
  const list = [];
  for (let a = it; a; a = a.parent) list.push(a);
  return list;
}

// An id that leaves one changed place and arrives in another: morph their
// nearest common ancestor as one, so idiomorph can move the element.
function mergeMovedIds(root) {
  for (let round = 0; round < MAX_MERGES; round++) {
    const { gone, come } = changes(root, { gone: [], come: [] });
    if (!gone.length || !come.length) return;
    const leaving = new Map(gone);
    let pair = null;
    for (const [id, to] of come) {
      const from = leaving.get(id);
      if (from && from !== to) {
        pair = [from, to];
        break;
      }
    }
    if (!pair) return;
    const up = new Set(ancestors(pair[0]));
    const lca = ancestors(pair[1]).find((a) => up.has(a)) || root;
    lca.morph = true;
    lca.kids = [];
    lca.insert = lca.remove = null;
  }
  root.morph = true;
  root.kids = [];
}

function syncAttributes(o, n, keepAttribute) {
  for (const a of n.attributes) {
    if (o.getAttribute(a.name) !== a.value && !keepAttribute(a.name, o, 'update')) {
      o.setAttributeNode(a.cloneNode()); // keeps namespaced attributes (SVG's xlink:href)
    }
  }
  for (let i = o.attributes.length - 1; i >= 0; i--) {
    const a = o.attributes[i];
    if (a && !n.hasAttribute(a.name) && !keepAttribute(a.name, o, 'remove')) o.removeAttribute(a.name);
  }
}

// Carries the plan out; idiomorphConfig is what idiomorph gets for its part.
export function apply(it, hooks, idiomorphConfig) {
  const { o, n } = it;
  if (it.morph) {
    Idiomorph.morph(o, n, idiomorphConfig);
    return;
  }
  if (it.text) o.nodeValue = n.nodeValue;
  if (it.attrs) syncAttributes(o, n, hooks.keepAttribute);
  if (it.remove) {
    for (const node of it.remove) if (!hooks.stay(node)) node.remove();
  }
  if (it.insert) {
    const doc = o.ownerDocument;
    for (const node of it.insert) if (hooks.add(node)) o.insertBefore(doc.importNode(node, true), it.before);
  }
  for (const k of it.kids) apply(k, hooks, idiomorphConfig);
}
