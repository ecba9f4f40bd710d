/* Keeps what the user is looking at where it is while the page changes
 * around it: the element at the top of the viewport stays at its place
 * when content is added or removed above it. Browsers with CSS scroll
 * anchoring (Chromium, Firefox) would do this by themselves if the morph
 * then restored the old scroll offset, as it used to; Safari has none. So
 * the script does it itself, the way CSS scroll anchoring does: before
 * the morph, note a few elements near the top of the viewport (the
 * deepest one at a few heights, then their ancestors) and where they are;
 * after it, scroll by however far the first that is still in the document
 * moved. Where the browser already kept it in place, that is 0.
 *
 * A page scrolled to the very top stays at the top (new content at the
 * top shows, as in a feed). Nested scroll containers keep their own offset
 * (their elements are kept by the morph); only the page's is anchored. */

const POINTS_Y = [0.02, 0.15, 0.35, 0.6]; // fractions of the viewport's height, top first
const POINTS_X = [0.5, 0.25, 0.05, 0.75]; // content narrower than the page is often left of its middle
const MAX_CHAIN = 32;

// Fixed and sticky elements do not move with the content.
function pinned(el) {
  for (let e = el; e && e !== document.body; e = e.parentElement) {
    const p = getComputedStyle(e).position;
    if (p === 'fixed' || p === 'sticky') return true;
  }
  return false;
}

function candidates() {
  const out = [];
  const seen = new Set();
  const w = document.documentElement.clientWidth;
  const h = document.documentElement.clientHeight;
  for (const fy of POINTS_Y) {
    for (const fx of POINTS_X) {
      let el = document.elementFromPoint(w * fx, h * fy);
      if (!el || el === document.documentElement || el === document.body || seen.has(el) || pinned(el)) continue;
      for (let i = 0; el && el !== document.body && i < MAX_CHAIN; i++, el = el.parentElement) {
        if (seen.has(el)) break;
        seen.add(el);
        out.push({ el, top: el.getBoundingClientRect().top });
      }
      break; // the first element at this height will do
    }
  }
  return out;
}

// Call before changing the page; call what it returns after.
export function holdScroll() {
  const x = window.scrollX;
  const y = window.scrollY;
  const list = y > 0 ? candidates() : [];
  return function restore() {
    if (window.scrollX !== x) window.scrollTo(x, window.scrollY);
    if (y === 0) {
      if (window.scrollY !== 0) window.scrollTo(window.scrollX, 0);
      return;
    }
    for (const c of list) {
      if (!c.el.isConnected) continue;
      const moved = c.el.getBoundingClientRect().top - c.top;
      if (moved) window.scrollBy(0, moved);
      return;
    }
    if (window.scrollY !== y) window.scrollTo(window.scrollX, y); // nothing left to anchor to
  };
}
