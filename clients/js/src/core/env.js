/* The outside world the core reads: timers, clock, randomness, whether the
 * tab is hidden, the WebSocket class, fetch (the stream transport), the
 * tab session's storage (its transport choice), the two moments worth reconnecting
 * early for (the tab shown again, the network back), and what tabs share
 * a connection with (Web Locks, BroadcastChannel, the tab going away).
 * browserEnv() is the real one; the unit tests pass a fake with a manual
 * clock, so the scheduler, the backoff, the renewal and the tab group run
 * unchanged under test. */

// Listens on target and returns the function that stops listening.
function listen(target, name, fn) {
  if (!target || !target.addEventListener) return () => {};
  target.addEventListener(name, fn);
  return () => target.removeEventListener(name, fn);
}

export function browserEnv() {
  const doc = typeof document === 'undefined' ? null : document;
  const win = typeof window === 'undefined' ? null : window;
  return {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    now: () => Date.now(),
    random: () => Math.random(),
    hidden: () => !!(doc && doc.hidden),
    WebSocket: typeof WebSocket === 'undefined' ? null : WebSocket,
    // fetch must be called on the window, not on env
    fetch: typeof fetch === 'undefined' ? null : (url, init) => fetch(url, init),
    AbortController: typeof AbortController === 'undefined' ? null : AbortController,
    // Reading sessionStorage throws in a sandboxed frame: asked when used.
    get sessionStorage() {
      return typeof sessionStorage === 'undefined' ? null : sessionStorage;
    },
    onShown: (fn) => listen(doc, 'visibilitychange', () => {
      if (!doc.hidden) fn();
    }),
    onOnline: (fn) => listen(win, 'online', fn),
    locks: typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null,
    BroadcastChannel: typeof BroadcastChannel === 'undefined' ? null : BroadcastChannel,
    onPageHide: (fn) => listen(win, 'pagehide', fn),
    onPageShow: (fn) => listen(win, 'pageshow', (e) => {
      if (e.persisted) fn(); // back from the back-forward cache
    }),
  };
}
