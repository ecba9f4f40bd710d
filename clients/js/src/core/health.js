/* Is the page live? It is when its subscription is confirmed and livegate's
 * Redis link is up. When it has not been for DEGRADED_GRACE_MS (a Redis
 * blip or a reconnect is shorter), emit('degraded', {reason, since,
 * message}) so a page can show an indicator; emit('restored', {after})
 * once it is live again. Reasons, most specific first:
 *   redis       livegate says its Redis link is down ({"type":"status","redis":"down"})
 *   subscribe   connected, but the subscription is not confirmed (livegate
 *               confirms once Redis has; its Redis may be unreachable)
 *   connection  no connection to livegate (reconnecting)
 */

export const DEGRADED_GRACE_MS = 3000;

const MESSAGES = {
  redis: 'livegate lost its Redis connection: publishes cannot reach this page until it is back ' +
    '(livegate\'s /readyz answers 503 meanwhile)',
  subscribe: 'livegate has not confirmed the subscription: its Redis may be unreachable (see its /readyz and log)',
  connection: 'no connection to livegate (reconnecting)',
};

// reason(): why the page is not live now, or '' when it is.
export function createHealth({ env, emit, reason: why, graceMs = DEGRADED_GRACE_MS }) {
  let reason = 'connection'; // '' while live
  let since = env.now(); // when it stopped being live
  let timer = 0;
  let degraded = false;
  let watching = false;

  function check() {
    timer = 0;
    reason = why();
    if (!watching || !reason || degraded) return;
    degraded = true;
    const s = Math.round(graceMs / 1000);
    emit('degraded', { reason, since, message: MESSAGES[reason] + ' for ' + s + ' s' });
  }

  function arm() {
    env.clearTimeout(timer);
    timer = watching && reason && !degraded ? env.setTimeout(check, Math.max(0, since + graceMs - env.now())) : 0;
  }

  return {
    // Something changed: the connection, the subscription, Redis.
    update() {
      const next = why();
      if (next === reason) return;
      const wasLive = !reason;
      reason = next;
      if (!reason) {
        env.clearTimeout(timer);
        timer = 0;
        if (degraded) {
          degraded = false;
          emit('restored', { after: env.now() - since });
        }
      } else if (wasLive) {
        since = env.now();
        arm();
      }
    },
    // Watch while the client wants to be live; stop() when it gave up or closed.
    start() {
      if (watching) return;
      watching = true;
      if (reason) since = env.now();
      arm();
    },
    stop() {
      watching = false;
      env.clearTimeout(timer);
      timer = 0;
    },
    get degraded() {
      return degraded;
    },
  };
}
