/* Where two versions of a page's text differ: the changed stretches, found
 * without looking at every character in JavaScript. The common start and
 * end are found with native string compares over chunks (halving the
 * chunk where they differ); what lies between is split at a stretch of
 * its old text found exactly once in both versions (a unique anchor, as
 * patience diff does with lines), and each side is looked at again. So a
 * row changed in a 10,000-row table and a token changed in <head> are two
 * small stretches, not one of 1.6 MB.
 *
 * 1.6 MB page, two changes, node 18: 1-3 ms. Any alignment it finds is
 * right (the stretches between changes are equal text); a poor one only
 * makes partial.js parse more. */

const CHUNK = 4096;
const ANCHOR = 128; // chars; an eighth of a shorter stretch, down to MIN_ANCHOR
const MIN_ANCHOR = 8;
const TRIES = [0.5, 0.25, 0.75, 0.125, 0.875];
const MAX_DEPTH = 24;
export const MAX_CHANGES = 32;

// Length of the common start of a[ai, ai+max) and b[bi, bi+max).
export function commonStart(a, ai, b, bi, max) {
  let n = 0;
  let step = CHUNK;
  while (n < max) {
    const k = Math.min(step, max - n);
    if (a.slice(ai + n, ai + n + k) === b.slice(bi + n, bi + n + k)) {
      n += k;
    } else if (k <= 16) {
      while (n < max && a.charCodeAt(ai + n) === b.charCodeAt(bi + n)) n++;
      return n;
    } else {
      step = k >> 1;
    }
  }
  return n;
}

// Length of the common end of a[.., ae) and b[.., be), at most max.
export function commonEnd(a, ae, b, be, max) {
  let n = 0;
  let step = CHUNK;
  while (n < max) {
    const k = Math.min(step, max - n);
    if (a.slice(ae - n - k, ae - n) === b.slice(be - n - k, be - n)) {
      n += k;
    } else if (k <= 16) {
      while (n < max && a.charCodeAt(ae - n - 1) === b.charCodeAt(be - n - 1)) n++;
      return n;
    } else {
      step = k >> 1;
    }
  }
  return n;
}

function split(a, os, oe, b, ns, ne, out, depth) {
  const p = commonStart(a, os, b, ns, Math.min(oe - os, ne - ns));
  os += p;
  ns += p;
  const q = commonEnd(a, oe, b, ne, Math.min(oe - os, ne - ns));
  oe -= q;
  ne -= q;
  if (os === oe && ns === ne) return true;
  const len = Math.min(ANCHOR, (oe - os) >> 3);
  if (depth < MAX_DEPTH && len >= MIN_ANCHOR && ne - ns > 2 * len) {
    const am = a.slice(os, oe);
    const bm = b.slice(ns, ne);
    for (const f of TRIES) {
      const c = Math.floor((oe - os - len) * f);
      const anchor = am.slice(c, c + len);
      const m = bm.indexOf(anchor);
      if (m < 0 || bm.indexOf(anchor, m + 1) >= 0) continue;
      if (am.indexOf(anchor) !== c || am.indexOf(anchor, c + 1) >= 0) continue;
      return split(a, os, os + c, b, ns, ns + m, out, depth + 1) &&
        split(a, os + c, oe, b, ns + m, ne, out, depth + 1);
    }
  }
  if (out.length === MAX_CHANGES) return false;
  out.push([os, oe, ns, ne]);
  return true;
}

/* The changed stretches of a (old) and b (new), in order, as
 * [oldStart, oldEnd, newStart, newEnd]; null if there are more than
 * MAX_CHANGES (then the page is parsed whole anyway). */
export function changes(a, b) {
  const out = [];
  return split(a, 0, a.length, b, 0, b.length, out, 0) ? out : null;
}
