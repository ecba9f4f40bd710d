// Test doubles for the core's seams: an env with a manual clock (timers run
// only when the test advances time) and a transport that records what the
// client sends and lets the test play the server.

export function fakeEnv({ hidden = false, start = 1_700_000_000_000 } = {}) {
  let now = start;
  let seq = 0;
  const timers = new Map();
  const shown = new Set();
  const online = new Set();
  const pagehide = new Set();
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
    onPageHide(fn) {
      pagehide.add(fn);
      return () => pagehide.delete(fn);
    },
    onPageShow: () => () => {},
    locks: null,
    BroadcastChannel: null,

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
    pageHide() {
      for (const f of pagehide) f();
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

// What tabs of one origin share: Web Locks (exclusive, ifAvailable, queued
// requests that a signal aborts, released when the callback's promise
// settles) and BroadcastChannel (delivered to the other open channels of
// the name, in order, asynchronously, as a structured clone). tab(ctx) is
// one tab's view of them; crash(ctx) drops its locks and channels without
// a word, as the browser does when a tab's process dies.
export function fakeBrowser() {
  const held = new Map(); // name -> request holding it
  const queues = new Map(); // name -> [request]
  const channels = new Set();

  function grant(name, req) {
    held.set(name, req);
    let result;
    try {
      result = Promise.resolve(req.cb({ name, mode: 'exclusive' }));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(req.resolve, req.reject).finally(() => {
      if (held.get(name) === req) releaseLock(name);
    });
  }

  function releaseLock(name) {
    held.delete(name);
    const next = (queues.get(name) || []).shift();
    if (next) Promise.resolve().then(() => grant(name, next));
  }

  function tab(ctx) {
    const locks = {
      request(name, options, cb) {
        return new Promise((resolve, reject) => {
          const req = { ctx, cb, resolve, reject };
          Promise.resolve().then(() => {
            if (!held.has(name)) return grant(name, req);
            if (options.ifAvailable) {
              Promise.resolve(cb(null)).then(resolve, reject);
              return;
            }
            if (!queues.has(name)) queues.set(name, []);
            queues.get(name).push(req);
            if (options.signal) {
              options.signal.addEventListener('abort', () => {
                const q = queues.get(name);
                const i = q.indexOf(req);
                if (i >= 0) {
                  q.splice(i, 1);
                  reject(new Error('AbortError'));
                }
              });
            }
          });
        });
      },
    };

    class FakeBroadcastChannel {
      constructor(name) {
        this.name = name;
        this.ctx = ctx;
        this.onmessage = null;
        channels.add(this);
      }

      postMessage(m) {
        if (!channels.has(this)) throw new Error('InvalidStateError: closed');
        const copy = structuredClone(m);
        for (const c of channels) {
          if (c !== this && c.name === this.name) {
            Promise.resolve().then(() => channels.has(c) && c.onmessage && c.onmessage({ data: copy }));
          }
        }
      }

      close() {
        channels.delete(this);
      }
    }
    return { locks, BroadcastChannel: FakeBroadcastChannel };
  }

  return {
    tab,
    crash(ctx) {
      for (const c of [...channels]) if (c.ctx === ctx) channels.delete(c);
      for (const q of queues.values()) {
        for (let i = q.length - 1; i >= 0; i--) if (q[i].ctx === ctx) q.splice(i, 1);
      }
      for (const [name, req] of [...held]) if (req.ctx === ctx) releaseLock(name);
    },
    holder: (name) => (held.get(name) || {}).ctx,
  };
}

// One tab of a fake browser on a shared clock: its own visibility,
// pagehide, locks and channels.
export function tabEnv(base, browser, ctx) {
  const shown = new Set();
  const pagehide = new Set();
  const pageshow = new Set();
  const view = browser.tab(ctx);
  const env = {
    ...base,
    isHidden: false,
    hidden: () => env.isHidden,
    onShown(fn) {
      shown.add(fn);
      return () => shown.delete(fn);
    },
    onPageHide(fn) {
      pagehide.add(fn);
      return () => pagehide.delete(fn);
    },
    onPageShow(fn) {
      pageshow.add(fn);
      return () => pageshow.delete(fn);
    },
    locks: view.locks,
    BroadcastChannel: view.BroadcastChannel,
    hide() {
      env.isHidden = true;
    },
    show() {
      env.isHidden = false;
      for (const f of shown) f();
    },
    pageHide() {
      for (const f of pagehide) f();
    },
    pageShow() {
      for (const f of pageshow) f();
    },
  };
  return env;
}
