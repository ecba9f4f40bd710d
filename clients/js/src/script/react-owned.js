/* Does React own this document? Then the script must not morph it: React
 * keeps its own picture of the DOM, and a morph behind its back resets
 * useState counters on screen, removes text nodes React will update later,
 * removes Next.js's <next-route-announcer> and, before hydration, makes
 * React throw (#418) and render the old content back.
 *
 * Markers, checked when an invalidation comes (so also before hydration):
 * Next.js App Router's flight data (self.__next_f, written by the inline
 * scripts of the server's HTML) and route announcer; the Pages Router's
 * __NEXT_DATA__ and #__next; any createRoot/hydrateRoot container (React
 * 18+ puts a "__reactContainer$<random>" key on it; legacy ReactDOM.render
 * "_reactRootContainer") on the document, <html>, <body> or a child of
 * <body>; React <= 17 server markup's data-reactroot. A React root deeper
 * in a classic page (an island) is not the document's owner: the morph
 * leaves its subtree alone instead (morph.js). */

export function isReactContainer(node) {
  const keys = Object.keys(node);
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] === '_reactRootContainer' || keys[i].startsWith('__reactContainer$')) return true;
  }
  return false;
}

// 'Next.js', 'React' or '' (not React's).
export function reactOwner(doc) {
  const w = doc.defaultView || {};
  if (w.__next_f || w.__NEXT_DATA__ || doc.querySelector('next-route-announcer, script#__NEXT_DATA__, #__next')) {
    return 'Next.js';
  }
  const top = [doc, doc.documentElement, doc.body];
  if (doc.body) top.push(...doc.body.children);
  for (const n of top) {
    if (n && isReactContainer(n)) return 'React';
  }
  return doc.querySelector('[data-reactroot]') ? 'React' : '';
}
