/* The HTTP stream transport (livegate's POST /sse, docs/protocol.md), for
 * networks that never let a WebSocket through. It is a transport like the
 * WebSocket's (transport-ws.js), so the connection, the renewal and the
 * scheduler above it do not know which one carries the frames:
 *
 * - the subscribe message is the POST's body, sent as text/plain so that a
 *   cross-origin page needs no preflight, and without credentials (the
 *   token is the credential, as on the WebSocket); the token never goes in
 *   the URL;
 * - each `data:` event is a WebSocket frame; the final
 *   {"type":"close","code":N,"reason":...} event is reported as a
 *   WebSocket close with that code, so 4002 renews and 1012 reconnects
 *   exactly as on a WebSocket;
 * - the refusals a WebSocket shows as close codes arrive as HTTP statuses:
 *   401 is close 4001 with livegate's reason (4002 for an expired token),
 *   503 is 1012/1013 with its Retry-After as the least wait, anything else
 *   (403: the Origin refused) is 1006, as a browser shows a refused upgrade;
 * - no pings: livegate writes a ": ping" comment every 25 s, so a stream
 *   silent for SILENCE_MS is dead (a dead network ends nothing) and is
 *   reported as 1006; a stream that ends without a close event is too;
 * - a new token for other channels cannot be sent on an open stream: the
 *   transport opens a new one with it and drops the old (what was published
 *   between the two is livegate's catch-up of the new token: its iat is
 *   older than the old stream's end). */

import { HEARTBEAT_MS, PONG_MS } from './connection.js';
import { SseError, createSseParser } from './sse-parser.js';

export const SILENCE_MS = HEARTBEAT_MS + PONG_MS;

// livegate's error body ({"error":code,"message":text}), or null (a proxy's page).
async function errorOf(res) {
  try {
    const body = await res.json();
    return body && typeof body === 'object' ? body : null;
  } catch (e) {
    return null;
  }
}

// A refused token: the WebSocket's close for it, whose reason is livegate's
// 401 message (bad_claims: exp, ...).
function refusal(body) {
  if (body && body.error === 'expired') return [4002, String(body.message || 'expired')];
  return [4001, body ? String(body.message || body.error || '') : 'HTTP 401'];
}

// Retry-After in ms (seconds only: livegate sends no dates), at most 10 min.
function retryAfter(res) {
  const s = parseFloat(res.headers.get('retry-after'));
  return s >= 0 ? Math.min(s, 600) * 1000 : 0;
}

export function streamTransport(env) {
  return function open(ep, on, token) {
    if (!env.fetch || !env.AbortController) throw new Error('this environment has no fetch');
    let current = null; // { token, abort }: the request whose frames count
    let opened = false;
    let ended = false;
    let silence = 0;

    function end(code, reason, waitMs) {
      if (ended) return;
      ended = true;
      drop();
      on.closed(code, reason, waitMs);
    }

    function drop() {
      env.clearTimeout(silence);
      silence = 0;
      const c = current;
      current = null;
      if (c) c.abort.abort();
    }

    // Heard from livegate: the stream is alive for SILENCE_MS more.
    function alive() {
      env.clearTimeout(silence);
      silence = env.setTimeout(() => end(1006, 'nothing from the stream for ' + SILENCE_MS / 1000 + ' s'),
        SILENCE_MS);
    }

    function event(mine, data) {
      let m;
      try {
        m = JSON.parse(data);
      } catch (e) {
        return; // as the WebSocket transport: not a frame
      }
      if (!m || typeof m !== 'object' || current !== mine) return;
      if (m.type === 'close') end(typeof m.code === 'number' ? m.code : 1006, String(m.reason || ''));
      else on.frame(m);
    }

    async function read(mine, res) {
      const reader = res.body.getReader();
      const parser = createSseParser({ event: (d) => event(mine, d), comment: () => {} });
      for (;;) {
        const { done, value } = await reader.read();
        if (current !== mine) return;
        if (done) return end(1006, 'the stream ended without a close event');
        alive();
        parser.push(value); // a protocol error throws: read()'s caller ends the stream
      }
    }

    async function answer(mine, res) {
      if (res.status === 200 && res.body) {
        alive();
        if (!opened) {
          opened = true;
          on.opened();
        }
        return read(mine, res);
      }
      if (res.status === 401 || res.status === 503) {
        const body = await errorOf(res);
        if (current !== mine) return undefined;
        if (res.status === 401) return end(...refusal(body));
        const restarting = body && body.error === 'restarting';
        return end(restarting ? 1012 : 1013, 'HTTP 503' + (body ? ' ' + body.error : ''), retryAfter(res));
      }
      return end(1006, 'HTTP ' + res.status + (res.status === 403 ? ' (this page\'s origin refused)' : ''));
    }

    function start(token) {
      drop();
      const mine = { token, abort: new env.AbortController() };
      current = mine;
      alive(); // the answer's head must come within SILENCE_MS too
      env.fetch(ep.stream, {
        method: 'POST',
        body: JSON.stringify({ type: 'subscribe', token }),
        headers: { 'Content-Type': 'text/plain' },
        credentials: 'omit',
        cache: 'no-store',
        signal: mine.abort.signal,
      }).then((res) => current === mine && answer(mine, res)).catch((e) => {
        if (current === mine) end(e instanceof SseError ? 1002 : 1006, 'stream failed: ' + (e && e.message));
      });
    }

    start(token);
    return {
      pings: false,
      kind: 'stream',
      // The connection subscribes once opened: the request carried that.
      send(message) {
        if (ended || !message || message.type !== 'subscribe') return false;
        if (!current || current.token !== message.token) start(message.token);
        return true;
      },
      close() {
        ended = true;
        drop();
      },
    };
  };
}
