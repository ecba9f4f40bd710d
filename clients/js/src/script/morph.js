/* Puts a refetched document in place of the live one with idiomorph,
 * touching only what changed and keeping what belongs to the user (see
 * docs/script.md, "Morph"). */

import { Idiomorph } from '../../vendor/idiomorph.min.js';
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

export function morph(doc, me) {
  const x = window.scrollX, y = window.scrollY, active = document.activeElement;
  Idiomorph.morph(document.documentElement, doc.documentElement, {
    ignoreActiveValue: true, // leave the focused field alone
    callbacks: {
      beforeNodeAdded: (n) => !executable(n),
      beforeNodeMorphed: (old) => !kept(old, me) && !(old.isContentEditable && edited.has(old)),
      beforeNodeRemoved: (old) => !kept(old, me),
      beforeAttributeUpdated: (name, el) => !userOwned(el, name),
    },
  });
  if (active && active !== document.body && active.isConnected && document.activeElement !== active) {
    active.focus({ preventScroll: true });
  }
  if (window.scrollX !== x || window.scrollY !== y) window.scrollTo(x, y);
}
