// Test doubles for the core's seams: an env with a manual clock (timers run
// only when the test advances time) and a transport that records what the
// client sends and lets the test play the server.

export function fakeEnv({ hidden = false, start = 1_700_000_000_000 } = {}) {
  let now = start;
  let seq = 0;
  const timers = new Map();
  const shown = new Set();
  const online = new Set();
  const env = {
    rand: 0.5,
    isHidden: hidden,
    WebSocket: null,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms || 0), fn, id });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    now: () => now,
    random: () => env.rand,
    hidden: () => env.isHidden,
    onShown(fn) {
      shown.add(fn);
      return () => shown.delete(fn);
    },
    onOnline(fn) {
      online.add(fn);
      return () => online.delete(fn);
    },

    // Runs every timer due within ms, in order, letting promises settle
    // between them.
    async advance(ms) {
      const end = now + ms;
      await settle();
      for (;;) {
        let next = null;
        for (const t of timers.values()) {
          if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
        }
        if (!next) break;
        timers.delete(next.id);
        now = next.at;
        next.fn();
        await settle();
      }
      now = end;
      await settle();
    },
    hide() {
      env.isHidden = true;
    },
    show() {
      env.isHidden = false;
      for (const f of shown) f();
    },
    online() {
      for (const f of online) f();
    },
    pendingTimers: () => timers.size,
    listeners: () => shown.size + online.size,
  };
  return env;
}

// Lets pending promise callbacks run.
export async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

// A transport factory (transport-ws.js's shape); .opened lists every
// connection the client made, newest last.
export function fakeTransport() {
  const conns = [];
  const factory = () => (ep, on) => {
    const c = {
      ep,
      sent: [],
      closedByClient: false,
      pings: true,
      send(m) {
        if (c.closedByClient || !c.isOpen) return false;
        c.sent.push(m);
        return true;
      },
      close() {
        c.closedByClient = true;
      },
      // the server's side
      isOpen: false,
      open() {
        c.isOpen = true;
        on.opened();
      },
      frame(m) {
        on.frame(m);
      },
      drop(code, reason = '') {
        c.isOpen = false;
        on.closed(code, reason);
      },
      subscribes: () => c.sent.filter((m) => m.type === 'subscribe').map((m) => m.token),
    };
    conns.push(c);
    return c;
  };
  factory.conns = conns;
  factory.last = () => conns[conns.length - 1];
  return factory;
}

// An unsigned JWT with these claims (the client never verifies).
export function token(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims) + '.sig';
}
