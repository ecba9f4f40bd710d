/* Which transport carries the connection: the WebSocket, or the HTTP stream
 * where WebSockets do not get through (corporate proxies and filters that
 * strip Upgrade). A transport like the two it chooses between, so nothing
 * above it changes (docs/script.md, "Transport"):
 *
 * - WebSocket first. SWITCH_AFTER transports in a row that end before
 *   livegate confirms the subscription (never opened, or closed before
 *   `subscribed`) switch to the stream, unless livegate itself closed them
 *   (a refused or expired token, a full or restarting worker: the path
 *   works). The same rule on the stream switches back. The transport that
 *   failed last is reported closed with HANDOFF, so the connection opens
 *   the other at once rather than after its backoff wait (the page is live
 *   within a few seconds of load where WebSockets are blocked).
 * - The choice to stream is kept in sessionStorage, per tab session and per
 *   livegate URL, so a reload goes straight to the stream.
 * - While a stream is subscribed, a probe WebSocket is tried after
 *   probeMs (doubling to PROBE_MAX_MS after each failed probe); one that
 *   reaches `subscribed` within PROBE_TIMEOUT_MS takes over, and only then is
 *   the stream closed, so nothing published in between is lost (frames on
 *   the probe before that are dropped: the stream carried them; a "missed"
 *   catch-up livegate sends right after the probe's `subscribed` reaches
 *   the page, at worst one refresh more, once per return).
 * - emit('transport', {transport, reason}) on each switch; reason is
 *   "websocket-failed", "stream-failed", "probe" (the WebSocket is back) or
 *   "remembered" (the first connection of a page whose tab streamed before).
 *
 * mode "websocket" or "stream" uses that one alone. */

import { HANDOFF } from './connection.js';
import { streamTransport } from './transport-stream.js';
import { webSocketTransport } from './transport-ws.js';

export const SWITCH_AFTER = 2;
export const PROBE_FIRST_MS = 60000;
export const PROBE_MAX_MS = 600000;
export const PROBE_TIMEOUT_MS = 15000;
export const MODES = ['auto', 'websocket', 'stream'];
const STORE_PREFIX = 'livegate:transport ';

// A close that livegate sent: the transport reached it.
function fromLivegate(code) {
  return code === 1008 || code === 1012 || code === 1013 || (code >= 4000 && code < 4900);
}

function storage(env) {
  try {
    return env.sessionStorage || null;
  } catch (e) {
    return null; // a sandboxed frame: nothing kept
  }
}

/* options: { mode, emit(name, detail), probeMs, ws, stream } (ws and stream:
 * transport factories, for tests). */
export function autoTransport(options = {}) {
  const ws = options.ws || webSocketTransport;
  const stream = options.stream || streamTransport;
  const emit = options.emit || (() => {});
  const probeFirst = options.probeMs > 0 ? options.probeMs : PROBE_FIRST_MS;
  return function factory(env) {
    const openWs = ws(env);
    const openStream = stream(env);
    if (options.mode === 'websocket') return openWs;
    if (options.mode === 'stream') return openStream;
    const store = storage(env);
    let using = ''; // websocket | stream; read from the store at the first open
    let strikes = 0; // transports in a row that ended before subscribed
    let probeMs = probeFirst;

    function keep(key, stick) {
      try {
        if (stick) store.setItem(key, 'stream');
        else store.removeItem(key);
      } catch (e) {
        // no storage, or full: the choice lasts as long as the page
      }
    }

    function use(key, kind, reason) {
      using = kind;
      strikes = 0;
      probeMs = probeFirst;
      keep(key, kind === 'stream');
      emit('transport', { transport: kind, reason });
    }

    return function open(ep, on, token) {
      const key = STORE_PREFIX + ep.ws;
      if (!using) {
        let kept = null;
        try {
          kept = store && store.getItem(key);
        } catch (e) {
          kept = null;
        }
        using = 'websocket';
        if (kept === 'stream') use(key, 'stream', 'remembered');
      }
      let inner = null; // the transport carrying the connection
      let kind = using;
      let up = false;
      let done = false; // closed by either side
      let probe = null;
      let probeTimer = 0;
      let latest = token; // the token the connection subscribed with last

      // Frames and the close of t.self reach the connection while it carries it.
      function carrier(t) {
        return {
          opened: () => t.self === inner && on.opened(),
          frame: (m) => {
            if (t.self !== inner) return;
            if (m.type === 'subscribed' && !up) {
              up = true;
              strikes = 0;
              if (kind === 'stream') schedule();
            }
            on.frame(m);
          },
          closed: (code, reason, waitMs) => {
            if (t.self !== inner) return;
            done = true;
            stopProbe();
            if (up || fromLivegate(code)) strikes = 0;
            else if (kind === using && ++strikes >= SWITCH_AFTER) {
              const to = kind === 'websocket' ? 'stream' : 'websocket';
              use(key, to, kind + '-failed');
              // Reopened at once, on the other transport: no backoff wait.
              return on.closed(HANDOFF, 'switching to the ' + to + ': the ' + kind + ' failed ' + SWITCH_AFTER +
                ' times in a row (last close ' + code + (reason ? ' ' + reason : '') + ')');
            }
            return on.closed(code, reason, waitMs);
          },
        };
      }

      function start(openKind, tok) {
        const t = {};
        t.self = openKind(ep, carrier(t), tok);
        return t.self;
      }

      function schedule() {
        env.clearTimeout(probeTimer);
        probeTimer = env.setTimeout(tryWebSocket, probeMs);
      }

      function stopProbe() {
        env.clearTimeout(probeTimer);
        probeTimer = 0;
        const p = probe;
        probe = null;
        if (p) p.self.close();
      }

      function probeFailed() {
        stopProbe();
        probeMs = Math.min(probeMs * 2, PROBE_MAX_MS);
        if (!done) schedule();
      }

      // A WebSocket beside the stream; it carries the connection once subscribed.
      function tryWebSocket() {
        probeTimer = 0;
        if (done || kind !== 'stream') return;
        const p = { token: latest, self: null };
        const c = carrier(p); // what its frames are once it carries the connection
        try {
          p.self = openWs(ep, {
            opened: () => (probe === p ? p.self.send({ type: 'subscribe', token: p.token }) : c.opened()),
            frame: (m) => (probe !== p ? c.frame(m) : m.type === 'subscribed' && takeOver(p)),
            closed: (code, reason, waitMs) => (probe === p ? probeFailed() : c.closed(code, reason, waitMs)),
          }, p.token);
        } catch (e) {
          return; // no WebSocket here at all: stay on the stream
        }
        probe = p;
        probeTimer = env.setTimeout(() => probe === p && probeFailed(), PROBE_TIMEOUT_MS);
      }

      // The probe is subscribed: it carries the connection, then the stream goes.
      function takeOver(p) {
        env.clearTimeout(probeTimer);
        probeTimer = 0;
        probe = null;
        const old = inner;
        inner = p.self;
        kind = 'websocket';
        old.close();
        use(key, 'websocket', 'probe');
        if (p.token !== latest) inner.send({ type: 'subscribe', token: latest });
      }

      inner = start(kind === 'stream' ? openStream : openWs, token);
      return {
        get pings() {
          return !done && !!inner && inner.pings;
        },
        get kind() {
          return kind;
        },
        send(message) {
          if (message && message.type === 'subscribe') latest = message.token;
          return !done && inner.send(message);
        },
        close() {
          done = true;
          stopProbe();
          inner.close();
        },
      };
    };
  };
}
