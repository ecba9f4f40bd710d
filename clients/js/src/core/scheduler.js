/* When a refresh runs: the scheduling policy, in this one module (the
 * script's refetches and the React hook's onInvalidate calls both go
 * through it).
 *
 * - Leading edge: the first invalidation of a quiet period runs at once
 *   (after a random part of `spread`, so that many tabs do not hit the
 *   origin at the same moment). On the demo the trailing 150 ms debounce
 *   this replaces was most of the click-to-update time (p50 204 ms).
 * - Runs start at least `interval` apart: debounceMs (150), or longer for
 *   a page that asked for a maximum rate (maxRate runs per second).
 *   Invalidations inside that window, or while a run is in flight, cost
 *   exactly one trailing run, at the window's end or when the run in
 *   flight ends, whichever is later. So a burst shorter than the window
 *   costs at most 2 runs (the leading one and one trailing), and nothing
 *   published is left unanswered.
 * - At most one run in flight.
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

export function createScheduler({ run, env, debounceMs = DEFAULT_DEBOUNCE_MS, maxRate = 0 }) {
  const interval = Math.max(debounceMs, maxRate > 0 && isFinite(maxRate) ? 1000 / maxRate : 0);
  let timer = 0;
  let inFlight = false;
  let again = false; // one more run is owed once the one in flight ends
  let againSpread = 0;
  let againNow = false; // and it was asked for by now(): no window
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

  // A run is owed: start it now, or when the window and the run in flight allow.
  function request(spreadMs) {
    if (closed) return;
    if (env.hidden()) {
      stale = true;
    } else if (inFlight) {
      again = true;
      againSpread = Math.max(againSpread, spreadMs || 0);
    } else if (!timer) {
      const now = env.now();
      const at = Math.max(now + (spreadMs > 0 ? env.random() * spreadMs : 0), lastStart + interval);
      if (at <= now) start();
      else timer = env.setTimeout(fire, at - now);
    }
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
    again = againNow = false;
    lastStart = env.now();
    let ok = false;
    try {
      ok = (await run(b)) !== false;
    } catch (e) {
      ok = false;
    }
    inFlight = false;
    for (const f of mine) f(ok);
    if (again && !closed) {
      const spread = againSpread;
      const direct = againNow;
      again = againNow = false;
      againSpread = 0;
      if (direct) start();
      else request(spread);
    }
    return ok;
  }

  return {
    // An invalidation (or a reconnect, or an expiry) wants a refresh;
    // done(ok), if given, is called once the run that answers it ends.
    want(message, spreadMs, done) {
      if (closed) {
        if (done) done(false);
        return;
      }
      note(message);
      if (done) waiters.push(done);
      request(spreadMs);
    },
    // Runs now (skipping the window), or once more right after the run in
    // flight; resolves to whether that run succeeded.
    now() {
      if (closed) return Promise.resolve(false);
      const p = new Promise((resolve) => waiters.push(resolve));
      env.clearTimeout(timer);
      timer = 0;
      if (inFlight) again = againNow = true;
      else start();
      return p;
    },
    // The tab became visible: a page left stale while hidden runs once.
    shown() {
      if (!stale) return;
      stale = false;
      request(0);
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
