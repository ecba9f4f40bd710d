/* When a refresh runs: the scheduling policy, in this one module (the
 * script's refetches and the React hook's onInvalidate calls both go
 * through it).
 *
 * - Trailing debounce: the first invalidation of a quiet period opens a
 *   window of debounceMs plus a random part of `spread` (so that many tabs
 *   do not hit the origin at once); invalidations inside it cost nothing.
 * - At most one run in flight; invalidations that arrive during a run earn
 *   exactly one more run after it, however many they are. So a burst of any
 *   size costs at most 2 runs.
 * - While the tab is hidden an invalidation only marks the page stale; a
 *   stale page runs once when it is shown again.
 *
 * A run is `run(batch)`, a function that may return a promise; it resolves
 * to false when the refresh failed. `batch` describes what it answers:
 * { message, messages, count, channels } - the latest message, the last
 * MAX_BATCH of them, how many there were and the distinct channels named
 * (reconnects and expiries name none).
 */

export const DEFAULT_DEBOUNCE_MS = 150;
const MAX_BATCH = 64;
const MAX_CHANNELS = 256;

export function createScheduler({ run, env, debounceMs = DEFAULT_DEBOUNCE_MS }) {
  let timer = 0;
  let inFlight = false;
  let again = false;
  let stale = false;
  let closed = false;
  let lastStart = -Infinity;
  let waiters = []; // f(ok) for each, once the next run to start ends
  let batch = emptyBatch();

  function emptyBatch() {
    return { message: null, messages: [], count: 0, channels: [] };
  }

  function note(message) {
    if (!message) return;
    batch.message = message;
    batch.count++;
    batch.messages.push(message);
    if (batch.messages.length > MAX_BATCH) batch.messages.shift();
    const ch = message.channel;
    if (typeof ch === 'string' && batch.channels.length < MAX_CHANNELS && batch.channels.indexOf(ch) < 0) {
      batch.channels.push(ch);
    }
  }

  // An invalidation (or a reconnect, or an expiry) wants a refresh.
  function want(message, spreadMs) {
    if (closed) return;
    note(message);
    if (env.hidden()) stale = true;
    else if (inFlight) again = true;
    else if (!timer) timer = env.setTimeout(fire, debounceMs + env.random() * (spreadMs || 0));
  }

  function fire() {
    timer = 0;
    if (closed) return;
    if (env.hidden()) stale = true;
    else start();
  }

  async function start() {
    const mine = waiters;
    const b = batch;
    waiters = [];
    batch = emptyBatch();
    inFlight = true;
    again = false;
    lastStart = env.now();
    let ok = false;
    try {
      ok = (await run(b)) !== false;
    } catch (e) {
      ok = false;
    }
    inFlight = false;
    for (const f of mine) f(ok);
    if (again && !closed) want(null, 0);
    return ok;
  }

  return {
    want,
    // Runs now (skipping the debounce), or once more right after the run in
    // flight; resolves to whether that run succeeded.
    now() {
      if (closed) return Promise.resolve(false);
      const p = new Promise((resolve) => waiters.push(resolve));
      env.clearTimeout(timer);
      timer = 0;
      if (inFlight) again = true;
      else start();
      return p;
    },
    // The tab became visible: a page left stale while hidden runs once.
    shown() {
      if (!stale) return;
      stale = false;
      want(null, 0);
    },
    // f(ok) once the next run to start has ended.
    afterNextRun(f) {
      waiters.push(f);
    },
    // When the last run started (env.now()); -Infinity if none has.
    lastStart: () => lastStart,
    close() {
      closed = true;
      env.clearTimeout(timer);
      timer = 0;
      const mine = waiters;
      waiters = [];
      for (const f of mine) f(false);
    },
  };
}
