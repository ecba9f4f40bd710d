/* A live page: the connection, the scheduler and the token, joined. This is
 * the whole client; the drop-in script and the React hook differ only in
 * what a refresh is (refetch and morph the page; call onInvalidate) and in
 * how a fresh token arrives (the refetched page; the component's prop).
 *
 * Every refresh the client would start - an invalidation, a reconnect after
 * a gap, a token expiry - first goes through dispatch(message), which may
 * refuse it (the script's cancelable livegate:invalidate event); message is
 * {type:"invalidate", channel, data, reason?} with reason "reconnect" or
 * "expired" for the two the client makes up.
 *
 * Token renewal: livegate closes a connection at its token's exp (4002).
 * The client then asks for a refresh (reason "expired"); the refreshed page
 * brings a fresh token (setToken) and the client reconnects with it at
 * once. A reconnect refreshes again only when no refresh has started since
 * the connection was lost (after a renewal one just has: what was published
 * between that render and the new subscription is livegate's "missed"
 * catch-up). A refresh that brings no fresh token, or a fresh token that is
 * expired on arrival, stops the client with an error rather than loop.
 */

import { backoffCeiling } from './backoff.js';
import { HANDOFF, createConnection } from './connection.js';
import { endpoints } from './endpoints.js';
import { browserEnv } from './env.js';
import { createHealth } from './health.js';
import { MINT_PER_RENDER, refusalHint } from './messages.js';
import { createScheduler, DEFAULT_DEBOUNCE_MS } from './scheduler.js';
import { channelKey, expiresAt } from './token.js';
import { autoTransport } from './transport-auto.js';

// After an expiry refresh ended, how long its fresh token may take to arrive.
export const RENEW_GRACE_MS = 5000;
const MAX_SPREAD_MS = 600000;

function consoleLog(detail) {
  if (typeof console !== 'undefined') console.error('livegate: ' + detail.message);
}

/* options: {
 *   url, relativeTo?    livegate's public base URL or WebSocket URL (endpoints.js)
 *   token               the JWT (may be '' until setToken gives one)
 *   refresh(batch)      what a refresh is; may return a promise of false on failure
 *   dispatch(message)   false: someone else handles this one (default: true)
 *   emit(name, detail)  connected / disconnected / error / degraded / restored
 *   log(detail)         where errors are written (default: console.error)
 *   debounce, spread    ms (scheduler.js)
 *   maxRate             refreshes per second at most (scheduler.js)
 *   transport           "auto" (default), "websocket" or "stream" (transport-auto.js);
 *                       or a transport factory (tests, the script's tab group)
 *   probeInterval       ms before the first probe of the WebSocket from the stream
 *   env                 for tests
 * } */
export function createLivegate(options) {
  const env = options.env || browserEnv();
  const emit = options.emit || (() => {});
  const dispatch = options.dispatch || (() => true);
  const log = options.log || consoleLog;
  const spreadMs = options.spread > 0 ? options.spread : 0;
  const ep = endpoints(options.url, options.relativeTo);
  let token = options.token || '';
  let sentToken = ''; // the token of the last subscribe sent
  let started = false; // connect() called and disconnect() not since
  let everUp = false;
  let lostAt = -Infinity; // when the last connection was lost
  let upAt = Infinity; // when this connection's `subscribed` came
  let renewing = false; // expired: waiting for a fresh token
  let renewFailures = 0;
  let renewTimer = 0;
  let expiredStrikes = 0; // 4002s in a row without being subscribed in between
  let closed = false;

  function report(detail) {
    log(detail);
    emit('error', detail);
  }

  // Stops trying: a refused or unrenewable token, or disconnect().
  function stop() {
    health.stop();
    const had = conn.close();
    if (transport.release) transport.release(); // another tab may lead now
    return had;
  }

  function open() {
    health.start();
    conn.open();
  }

  const scheduler = createScheduler({
    run: options.refresh,
    env,
    debounceMs: options.debounce >= 0 ? options.debounce : DEFAULT_DEBOUNCE_MS,
    maxRate: options.maxRate,
  });

  const transport = (typeof options.transport === 'function' ? options.transport
    : autoTransport({ mode: options.transport, emit, probeMs: options.probeInterval }))(env);
  const conn = createConnection({
    endpoints: ep,
    transport,
    env,
    token: () => (sentToken = token),
    on: { up, invalidate: onFrame, status, down, error: report },
  });

  let redisDown = false; // as the server last said on this connection
  const health = createHealth({
    env,
    emit,
    reason: () => (redisDown ? 'redis' : !conn.opened ? 'connection' : !conn.up ? 'subscribe' : ''),
  });
  const updateHealth = () => health.update();

  // Returns whether the refresh was asked for (no handler took it).
  function invalidate(message, spread, done) {
    if (!dispatch(message)) return false;
    scheduler.want(message, spread, done);
    return true;
  }

  function status(m) {
    if (m.redis === 'down' || m.redis === 'up') redisDown = m.redis === 'down';
    updateHealth();
  }

  function onFrame(m) {
    // A catch-up names publishes from before `subscribed`; a refresh started
    // since then renders after them all (the reconnect's, at the leading
    // edge), so it covers them: a second one would only repeat it.
    if (m.reason === 'missed' && scheduler.lastStart() >= upAt) return;
    const hint = typeof m.spread === 'number' && m.spread >= 0 ? Math.min(m.spread, MAX_SPREAD_MS) : spreadMs;
    invalidate(m, hint);
  }

  function up(channels) {
    expiredStrikes = 0;
    upAt = env.now();
    redisDown = false; // confirmed subscriptions: Redis answered
    updateHealth();
    emit('connected', { channels, reconnect: everUp });
    if (everUp && scheduler.lastStart() < lostAt) {
      // Updates may have been missed while away.
      invalidate({ type: 'invalidate', channel: null, data: null, reason: 'reconnect' }, spreadMs);
    }
    everUp = true;
  }

  function down(code, reason, wasUp) {
    lostAt = env.now();
    upAt = Infinity;
    redisDown = false; // the next connection (maybe another worker) will say
    updateHealth();
    const exp = expiresAt(sentToken);
    // A token that expired while the tab slept may be refused as invalid.
    if (code === 4001 && exp !== null && exp <= env.now()) code = 4002;
    if (code === 4002) expiredStrikes = wasUp ? 1 : expiredStrikes + 1;
    const giveUp = code === 4001 || expiredStrikes > 1;
    emit('disconnected', { code, reason, reconnecting: !giveUp });
    if (code === 4001) {
      stop();
      report({ type: 'auth', code, reason, message: 'token refused (4001' + (reason ? ' ' + reason : '') + ')' +
        refusalHint(reason) + ', live updates stopped' });
    } else if (giveUp) {
      stop();
      report({ type: 'auth', code, reason, message: 'the token was expired on arrival again after a refresh: ' +
        MINT_PER_RENDER + ', live updates stopped' });
    } else if (code === HANDOFF) {
      conn.open(); // the tab sharing its connection with us changed: at once
    } else if (code === 4002 && fresher()) {
      conn.open(); // a fresher token came meanwhile: no refresh needed for it
    } else if (code === 4002) {
      renew();
    } else {
      conn.retry(); // 1006, 1012 restarting, 1013 over capacity, ...
    }
  }

  // The current token is newer than the expired one and not expired itself.
  function fresher() {
    const e = expiresAt(token);
    return token !== sentToken && (e === null || e > env.now());
  }

  function renew() {
    renewing = true;
    // A handler may take it over; then it calls setToken() with a fresh token.
    invalidate({ type: 'invalidate', channel: null, data: null, reason: 'expired' }, 0, renewed);
  }

  function renewed(ok) {
    if (!renewing || closed) return;
    env.clearTimeout(renewTimer);
    if (!ok) {
      // The origin did not answer: try again, further apart each time.
      renewTimer = env.setTimeout(() => {
        if (renewing && !closed) renew();
      }, env.random() * backoffCeiling(renewFailures++));
      return;
    }
    renewTimer = env.setTimeout(() => {
      if (!renewing || closed) return;
      renewing = false;
      stop();
      report({ type: 'auth', code: 4002, message: 'the token expired and the refreshed page brought no fresh ' +
        'one: ' + MINT_PER_RENDER + ', live updates stopped' });
    }, RENEW_GRACE_MS);
  }

  function setToken(next) {
    if (typeof next !== 'string' || !next || next === token) return;
    const moved = channelKey(next) !== channelKey(token);
    token = next;
    if (closed || !started) return;
    if (renewing) {
      renewing = false;
      renewFailures = 0;
      env.clearTimeout(renewTimer);
      open();
    } else if (!conn.wanted) {
      open(); // stopped by a refused or expired token: this one may do
    } else if (moved) {
      conn.subscribe(); // the open connection follows the new channels
    }
  }

  function reconnectSoon() {
    if (conn.wanted && !conn.connected && !renewing) conn.open();
  }

  const unlisten = [
    env.onShown(() => {
      scheduler.shown();
      reconnectSoon(); // a user is looking: skip the backoff wait
    }),
    env.onOnline(reconnectSoon),
  ];

  return {
    setToken,
    get token() {
      return token;
    },
    // (Re)opens the connection, after disconnect() or a refused token.
    connect() {
      if (closed) return;
      started = true;
      if (token) open();
    },
    // Closes the connection and stops reconnecting.
    disconnect() {
      started = false;
      renewing = false;
      env.clearTimeout(renewTimer);
      if (stop()) {
        lostAt = env.now();
        emit('disconnected', { code: 1000, reason: 'disconnect()', reconnecting: false });
      }
    },
    // A refresh now; resolves to whether it succeeded.
    refresh: () => scheduler.now(),
    // Ends everything (an unmounted component): no more calls of refresh().
    close() {
      if (closed) return;
      closed = true;
      env.clearTimeout(renewTimer);
      scheduler.close();
      stop();
      for (const f of unlisten) f();
    },
    get connected() {
      return conn.up;
    },
  };
}
