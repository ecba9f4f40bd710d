/* Reconnect delays: exponential backoff with full jitter (a random wait in
 * [0, min(cap, base * 2^attempt))), so that thousands of pages that lost
 * livegate at once come back spread out. A connection that stayed subscribed
 * for STABLE_MS starts the sequence over; one dropped sooner does not, so a
 * server that accepts and drops at once is not hammered. */

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 30000;
export const STABLE_MS = 30000;
const MAX_ATTEMPT = 16; // 2^16 s is far past the cap: no need to count on

// The ceiling of the wait before reconnect number `attempt` (0-based).
export function backoffCeiling(attempt) {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempt));
}

export function createBackoff(env) {
  let attempt = 0;
  let upSince = 0;
  return {
    // The wait before the next reconnect.
    next() {
      const ms = env.random() * backoffCeiling(attempt);
      attempt = Math.min(attempt + 1, MAX_ATTEMPT);
      return ms;
    },
    // The connection is subscribed: time how long it stays.
    up() {
      upSince = env.now();
    },
    // The connection is gone: a long-lived one resets the sequence.
    down() {
      if (upSince && env.now() - upSince >= STABLE_MS) attempt = 0;
      upSince = 0;
    },
    get attempt() {
      return attempt;
    },
  };
}
