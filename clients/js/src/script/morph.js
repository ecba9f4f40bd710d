/* Puts a refetched document in place of the live one, touching only what
 * changed (reconcile.js finds it; idiomorph morphs it) and keeping what
 * belongs to the user (see docs/script.md, "Morph") and what the user is
 * looking at (anchor.js). */

import { holdScroll } from './anchor.js';
import { apply, plan } from './reconcile.js';
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

// Returns the function that puts the page's scroll position back where
// the user was looking, to call once the browser has laid the page out
// (the next frame: forcing a layout here would lengthen this task by it).
export function morph(doc, me) {
  const restoreScroll = holdScroll();
  const active = document.activeElement;
  const keep = (n) => kept(n, me) || (edited.has(n) && n.isContentEditable);
  const hooks = {
    keep,
    stay: (n) => kept(n, me),
    add: (n) => !executable(n),
    keepAttribute: (name, el) => userOwned(el, name),
  };
  apply(plan(document.documentElement, doc.documentElement, hooks), hooks, {
    morphStyle: 'outerHTML',
    ignoreActiveValue: true, // leave the focused field alone
    callbacks: {
      beforeNodeAdded: hooks.add,
      beforeNodeMorphed: (old) => !keep(old),
      beforeNodeRemoved: (old) => !hooks.stay(old),
      beforeAttributeUpdated: (name, el) => !userOwned(el, name),
    },
  });
  if (active && active !== document.body && active.isConnected && document.activeElement !== active) {
    active.focus({ preventScroll: true });
  }
  return restoreScroll;
}
