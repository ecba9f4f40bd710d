/* One live connection to livegate over a transport: subscribe with the
 * current token once open, heartbeat (a ping every HEARTBEAT_MS; no pong
 * within PONG_MS means the network is dead and the connection is replaced),
 * and reconnect waits from the backoff. What a close means (retry, renew
 * the token, stop) is the caller's decision, made in on.down().
 *
 * A transport that fails CONNECT_FAILURES times in a row before it opens
 * is reported once (on.error, type "connect") with the usual causes: a
 * browser shows a refused WebSocket only as close 1006, whatever the cause. */

import { createBackoff } from './backoff.js';
import { connectError } from './messages.js';

export const HEARTBEAT_MS = 25000;
export const PONG_MS = 10000;
export const CONNECT_FAILURES = 3;
// A transport closed with this code asks to be reopened at once: it was a
// tab's share of another tab's connection, and that tab changed
// (transport-tabs.js). livegate never sends it; it is not a failure.
export const HANDOFF = 4900;

// on: { up(channels), invalidate(message), status(message), down(code, reason, wasUp), error(detail) }
export function createConnection({ endpoints, transport, env, token, on }) {
  const backoff = createBackoff(env);
  let failures = 0; // closes in a row before opening
  let t = null; // the open transport, if any
  let opened = false; // t can take frames
  let up = false; // subscribed
  let wanted = false;
  let retryTimer = 0;
  let leastWait = 0; // the last close asked for this long a wait (a 503's Retry-After)
  let pingTimer = 0;
  let pongTimer = 0;

  function open() {
    wanted = true;
    env.clearTimeout(retryTimer);
    retryTimer = 0;
    if (t) return;
    let mine = null;
    const ifMine = (f) => (...args) => {
      if (t === mine && mine) f(...args);
    };
    try {
      mine = transport(endpoints, {
        opened: ifMine(() => {
          opened = true;
          failures = 0;
          subscribe();
          pingTimer = env.setTimeout(ping, HEARTBEAT_MS);
        }),
        frame: ifMine(frame),
        closed: ifMine(dropped),
      }, token());
    } catch (e) {
      wanted = false;
      on.error({ type: 'config', message: 'cannot connect to ' + endpoints.ws + ': ' + e });
      return;
    }
    t = mine;
  }

  function subscribe() {
    if (t && opened) t.send({ type: 'subscribe', token: token() });
  }

  // A transport's `pings` may change while open (the stream handing over
  // to a WebSocket, transport-auto.js): asked again at every beat.
  function ping() {
    pingTimer = 0;
    if (!t) return;
    if (t.pings) {
      t.send({ type: 'ping' });
      if (!pongTimer) pongTimer = env.setTimeout(() => dropped(1006, 'no pong'), PONG_MS);
    }
    pingTimer = env.setTimeout(ping, HEARTBEAT_MS);
  }

  function frame(m) {
    if (m.type === 'subscribed') {
      if (up) return; // the answer to a re-subscribe on this connection
      up = true;
      backoff.up();
      on.up(Array.isArray(m.channels) ? m.channels : []);
    } else if (m.type === 'invalidate') {
      on.invalidate(m);
    } else if (m.type === 'status') {
      on.status(m);
    } else if (m.type === 'pong') {
      env.clearTimeout(pongTimer);
      pongTimer = 0;
    }
  }

  // Drops the transport now: a dead network never completes a close.
  function forget() {
    const old = t;
    t = null;
    opened = false;
    up = false;
    env.clearTimeout(pingTimer);
    env.clearTimeout(pongTimer);
    pingTimer = pongTimer = 0;
    if (old) old.close();
  }

  function dropped(code, reason, waitMs) {
    const wasUp = up;
    leastWait = waitMs > 0 ? waitMs : 0;
    const neverOpened = !opened;
    const kind = t && t.kind === 'stream' ? 'stream' : 'websocket';
    backoff.down();
    forget();
    if (neverOpened && code !== HANDOFF && ++failures === CONNECT_FAILURES) {
      on.error(connectError(endpoints, kind, code, failures));
    }
    on.down(code, reason || '', wasUp);
  }

  return {
    // Connects now (skipping any backoff wait) unless connected.
    open,
    subscribe,
    // Reconnects after the backoff's next wait.
    retry() {
      if (!wanted || retryTimer || t) return;
      retryTimer = env.setTimeout(() => {
        retryTimer = 0;
        if (wanted) open();
      }, Math.max(backoff.next(), leastWait));
    },
    // Closes and stops reconnecting; returns whether a connection was open.
    close() {
      wanted = false;
      env.clearTimeout(retryTimer);
      retryTimer = 0;
      const had = t !== null;
      forget();
      return had;
    },
    get connected() {
      return t !== null;
    },
    // The transport is open (frames can be sent), subscribed or not.
    get opened() {
      return opened;
    },
    get up() {
      return up;
    },
    get wanted() {
      return wanted;
    },
    get attempt() {
      return backoff.attempt;
    },
  };
}
