/* Puts a refetched document in place of the live one, touching only what
 * changed (reconcile.js finds it; idiomorph morphs it) and keeping what
 * belongs to the user (see docs/script.md, "Morph") and what the user is
 * looking at (anchor.js). */

import { holdScroll } from './anchor.js';
import { apply, changes, plan } from './reconcile.js';
import { isReactContainer } from './react-owned.js';

// Fields the user changed; for contenteditable, the editing host.
const edited = new WeakSet();
document.addEventListener('input', (e) => {
  let el = e.target;
  while (el.parentElement && el.parentElement.isContentEditable) el = el.parentElement;
  edited.add(el);
}, true);

// What the user changed beats the server's markup: values and checked
// boxes differing from their defaults (untouched ones follow the server),
// options of an edited select, and open <details>/<dialog>.
function userOwned(el, attr) {
  switch (attr) {
    case 'value': return 'defaultValue' in el && el.value !== el.defaultValue;
    case 'checked': return 'defaultChecked' in el && el.checked !== el.defaultChecked;
    case 'selected': return edited.has(el.closest('select'));
    case 'open': return el.nodeName === 'DETAILS' || el.nodeName === 'DIALOG';
  }
  return false;
}

// No code runs twice (this script included); data scripts are added.
function executable(n) {
  return n.nodeName === 'SCRIPT' && /^$|javascript|ecmascript|module/i.test(n.type);
}

// Left as they are: the script's own tag, data-livegate-permanent elements
// and React islands (their DOM is React's).
function kept(n, me) {
  return n === me || (n.nodeType === 1 && (n.hasAttribute('data-livegate-permanent') || isReactContainer(n)));
}

function hooksFor(me) {
  const keep = (n) => kept(n, me) || (edited.has(n) && n.isContentEditable);
  return {
    keep,
    stay: (n) => kept(n, me),
    add: (n) => !executable(n),
    keepAttribute: (name, el) => userOwned(el, name),
  };
}

function config(hooks) {
  return {
    morphStyle: 'outerHTML',
    ignoreActiveValue: true, // leave the focused field alone
    callbacks: {
      beforeNodeAdded: hooks.add,
      beforeNodeMorphed: (old) => !hooks.keep(old),
      beforeNodeRemoved: (old) => !hooks.stay(old),
      beforeAttributeUpdated: (name, el) => !userOwned(el, name),
    },
  };
}

// An id leaving one part and arriving in another: idiomorph could keep
// the element (focus, state) only if both were one call.
function movesAcross(plans) {
  const from = new Map();
  plans.forEach((p, k) => {
    for (const [id] of changes(p, { gone: [], come: [] }).gone) from.set(id, k);
  });
  return plans.some((p, k) => changes(p, { gone: [], come: [] }).come.some(([id]) => from.has(id) && from.get(id) !== k));
}

function carryOut(plans, hooks) {
  const restoreScroll = holdScroll();
  const active = document.activeElement;
  const cfg = config(hooks);
  for (const p of plans) apply(p, hooks, cfg);
  if (active && active !== document.body && active.isConnected && document.activeElement !== active) {
    active.focus({ preventScroll: true });
  }
  return restoreScroll;
}

// Returns the function that puts the page's scroll position back where
// the user was looking, to call once the browser has laid the page out
// (the next frame: forcing a layout here would lengthen this task by it).
export function morph(doc, me) {
  const hooks = hooksFor(me);
  return carryOut([plan(document.documentElement, doc.documentElement, hooks)], hooks);
}

/* The parts of a page partial.js parsed ({ o, n, range, path, whole }):
 * each range of o's children becomes n's, or where that takes idiomorph,
 * o becomes whole() (o's new version). Returns as morph() does, or null
 * (nothing changed) where they cannot be morphed apart: then the page is
 * morphed whole. Parts inside what is kept are left, as morph() leaves it. */
export function morphParts(parts, me) {
  const hooks = hooksFor(me);
  const active = document.activeElement;
  const plans = [];
  const wholes = [];
  for (const part of parts) {
    if (part.path.some(hooks.keep)) continue;
    if (part.range && part.path.some((n) => n === active && n !== document.body)) return null;
    const p = plan(part.o, part.n, hooks, part.range);
    if (p) {
      plans.push(p);
      continue;
    }
    const w = part.whole && part.whole();
    if (!w) return null;
    part.doc = w.doc;
    wholes.push(w);
  }
  // An element morphed whole takes in every other part inside it.
  const outer = wholes.filter((w, k) => !wholes.some((v, j) => (v.o === w.o ? j < k : v.o.contains(w.o))));
  const inside = (o) => outer.some((w) => w.o.contains(o));
  const all = plans.filter((p) => !inside(p.o)).concat(outer.map((w) => plan(w.o, w.n, hooks)));
  if (all.length > 1 && movesAcross(all)) return null;
  return carryOut(all, hooks);
}
