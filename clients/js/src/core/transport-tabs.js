/* One connection per browser. Tabs of one origin whose tokens name the same
 * channels on the same livegate form a group (a Web Lock and a
 * BroadcastChannel named after it; nothing changes on the wire): the tab
 * holding the lock leads, holds the group's one connection (the inner
 * transport: the WebSocket) and relays what livegate sends; the others
 * follow. When the leader goes (its tab closes, navigates, or its page
 * follows other channels), the browser grants the lock to a waiting tab,
 * which connects; every tab sees the handover as a reconnect (the client
 * refreshes once for the gap), so nothing published meanwhile is lost.
 *
 * To the connection above it this is a transport like the WebSocket:
 *   open(ep, on, token) -> { send(message), close(), pings }
 * A follower's transport opens and "subscribes" when the leader's
 * connection does (so its health is the leader's); a leader's is its inner
 * transport's. A follower's transport closes with HANDOFF when its leader
 * changes or loses its connection, and the connection reopens it at once.
 *
 * Without Web Locks or BroadcastChannel, or when the lock holder does not
 * answer within HELLO_TIMEOUT_MS (another version of the script, say), a
 * tab connects by itself ("solo"), as it always did.
 *
 * open.group exposes the current group to the script's shared refetch
 * (role, the leader's epoch, the last relayed frame's number, post/listen)
 * and open.release() leaves it (the client calls it when it stops). */

import { HANDOFF } from './connection.js';
import { channelKey } from './token.js';

export const TABS_PROTOCOL = 'livegate-tabs/1';
export const HELLO_TIMEOUT_MS = 3000;
const RELAYED = { subscribed: true, invalidate: true, status: true };

function groupKey(ep, token) {
  return TABS_PROTOCOL + ' ' + ep.ws + ' ' + channelKey(token);
}

// After the caller's synchronous code (open() must return first); not a
// timer, which a hidden tab would throttle.
function later(env, f) {
  Promise.resolve().then(f);
}

/* One tab's membership of one group. inner: the inner transport's open.
 * The connection's open transport is a handle { ep, on, token, member,
 * inner }: inner is the real transport while this tab leads (or is solo). */
let members = 0;

function createMember(env, inner, key, listeners) {
  const id = [Math.floor(env.random() * 2 ** 52), env.now(), ++members].map((n) => n.toString(36)).join('.');
  const chan = new env.BroadcastChannel(key);
  const abort = typeof AbortController === 'undefined' ? null : new AbortController();
  let role = 'pending'; // leader | follower | solo | gone
  let epoch = ''; // the leader's id ('' while a follower does not know it)
  let seq = 0; // number of the last frame relayed (leader) or received (follower)
  // The leader's connection, as this tab knows it: open, subscribed (to
  // these channels), and livegate's last word on its Redis link.
  let open = false;
  let up = false;
  let channels = [];
  let redis = '';
  let handle = null;
  let release = null; // leader: gives the lock back
  let helloTimer = 0;

  function post(m) {
    try {
      chan.postMessage(m);
    } catch (e) {
      // a closed channel (the tab is going away): nothing to tell
    }
  }

  // The connection's transport is gone: it reopens at once (HANDOFF).
  function drop(code, reason) {
    const h = handle;
    handle = null;
    if (!h) return;
    closeInner(h);
    later(env, () => h.on.closed(code, reason));
  }

  function lost() {
    open = up = false;
    redis = '';
    if (role === 'leader') post({ t: 'down', epoch, seq: ++seq });
  }

  function closeInner(h) {
    const t = h.inner;
    if (!t) return;
    h.inner = null;
    lost();
    t.close();
  }

  // The real transport, its frames relayed while this tab leads.
  function startInner(h) {
    let mine = null;
    mine = inner(h.ep, {
      opened: () => {
        if (h.inner !== mine) return;
        open = true;
        if (role === 'leader') post({ t: 'open', epoch, seq: ++seq });
        h.on.opened();
      },
      frame: (m) => {
        if (h.inner !== mine) return;
        h.member.relay(m);
        h.on.frame(m);
      },
      closed: (code, reason) => {
        if (h.inner !== mine) return;
        h.inner = null;
        h.member.lost();
        h.on.closed(code, reason);
      },
    }, h.token);
    h.inner = mine;
  }

  // Brings a follower's transport up to the leader's connection: open
  // once it is, subscribed once it is, and Redis down if livegate said so.
  function tell(h) {
    if (!h || h !== handle || !epoch) return;
    if (open && !h.opened) {
      h.opened = true;
      h.on.opened();
    }
    if (up && h.opened && !h.subscribed && handle === h) {
      h.subscribed = true;
      h.on.frame({ type: 'subscribed', channels });
    }
    if (redis === 'down' && h.opened && !h.toldRedis && handle === h) {
      h.toldRedis = true;
      h.on.frame({ type: 'status', redis });
    }
  }

  function attachFollower(h) {
    later(env, () => tell(h));
  }

  function hello() {
    post({ t: 'hello', from: id });
    env.clearTimeout(helloTimer);
    helloTimer = env.setTimeout(() => {
      helloTimer = 0;
      if (role !== 'follower' || epoch) return;
      role = 'solo'; // a lock holder that does not answer: connect by ourselves
      drop(HANDOFF, 'no answer from the leading tab');
    }, HELLO_TIMEOUT_MS);
  }

  function lead() {
    if (role === 'gone') return undefined;
    const was = role;
    role = 'leader';
    epoch = id;
    env.clearTimeout(helloTimer);
    helloTimer = 0;
    post({ t: 'leader', epoch });
    for (const f of listeners) f({ t: 'leader', epoch, self: true }); // what this tab waited for from the old one
    if (handle && handle.inner) {
      // brought from another group: relayed from now on
    } else if (handle && was === 'pending') startInner(handle);
    else if (handle && was === 'follower') drop(HANDOFF, 'this tab leads now');
    // solo: its connection carries on, relayed from now on
    return new Promise((resolve) => { release = resolve; });
  }

  function follow() {
    if (role !== 'pending') return;
    role = 'follower';
    hello();
    if (handle && handle.inner) drop(HANDOFF, 'another tab leads these channels');
    else if (handle) attachFollower(handle);
    // Queue to take over when the leader goes.
    env.locks.request(key, abort ? { signal: abort.signal } : {}, lead).catch(() => {});
  }

  function receive(m) {
    if (!m || typeof m !== 'object' || role === 'gone') return;
    if (m.t === 'hello' && role === 'leader') {
      post({ t: 'state', to: m.from, epoch, seq, open, up, channels, redis });
    } else if (role === 'follower') {
      if (m.t === 'state' && m.to === id && !epoch) {
        env.clearTimeout(helloTimer);
        helloTimer = 0;
        ({ epoch, seq, open, up, redis } = m);
        channels = m.channels || [];
        attachFollower(handle);
      } else if (m.t === 'open' && m.epoch === epoch) {
        seq = m.seq;
        open = true;
        tell(handle);
      } else if (m.t === 'frame' && m.epoch === epoch) {
        seq = m.seq;
        if (m.m.type === 'subscribed') {
          up = true;
          channels = m.m.channels || [];
          tell(handle);
        } else {
          if (m.m.type === 'status') redis = m.m.redis;
          tell(handle);
          if (handle && handle.opened) handle.on.frame(m.m);
        }
      } else if ((m.t === 'down' || m.t === 'bye') && m.epoch === epoch) {
        open = up = false;
        redis = '';
        seq = m.seq || seq;
        if (m.t === 'bye') epoch = '';
        drop(HANDOFF, m.t === 'bye' ? 'the leading tab left' : 'the leading tab lost its connection');
      } else if (m.t === 'leader' && m.epoch !== epoch) {
        const had = epoch;
        epoch = '';
        open = up = false;
        redis = '';
        if (had) drop(HANDOFF, 'another tab leads now');
        if (had || !helloTimer) hello();
      }
    }
    for (const f of listeners) f(m);
  }

  chan.onmessage = (ev) => receive(ev.data);
  env.locks.request(key, { ifAvailable: true }, (lock) => (lock ? lead() : follow())).catch(() => {
    if (role !== 'pending') return;
    role = 'solo'; // no lock manager after all
    if (handle && !handle.inner) startInner(handle);
  });

  const self = {
    key,
    get role() {
      return role;
    },
    get epoch() {
      return epoch;
    },
    get seq() {
      return seq;
    },
    post,
    // The leader's connection: note its subscription, relay what followers need.
    relay(m) {
      if (m.type === 'subscribed') {
        up = true;
        channels = Array.isArray(m.channels) ? m.channels : [];
      } else if (m.type === 'status') {
        redis = m.redis;
      }
      if (role === 'leader' && RELAYED[m.type]) post({ t: 'frame', epoch, seq: ++seq, m });
    },
    lost,
    // The connection opens its transport, or brings the one it had in
    // another group (wasOpen: that one is open).
    attach(h, wasOpen) {
      h.member = self;
      handle = h;
      h.opened = h.subscribed = h.toldRedis = false; // what this group told it
      if (h.inner) open = !!wasOpen;
      if (h.inner) {
        if (role === 'follower') drop(HANDOFF, 'another tab leads these channels');
      } else if (role === 'leader' || role === 'solo') {
        startInner(h);
      } else if (role === 'follower') {
        attachFollower(h);
      }
    },
    send(h, m) {
      if (h !== handle) return false;
      if (h.inner) return h.inner.send(m);
      return m.type === 'subscribe'; // a follower's subscription is the leader's
    },
    detach(h) {
      if (h !== handle) return;
      handle = null;
      closeInner(h);
    },
    // Lets the handle go to another group, its real transport with it;
    // returns whether that is open.
    release(h) {
      const wasOpen = open;
      if (h === handle) handle = null;
      if (h.inner) lost();
      return wasOpen;
    },
    // Leaves the group: the next tab in line leads.
    leave() {
      if (role === 'gone') return;
      drop(HANDOFF, 'left the group');
      if (role === 'leader') post({ t: 'bye', epoch, seq: ++seq });
      role = 'gone';
      env.clearTimeout(helloTimer);
      if (abort) abort.abort();
      if (release) release();
      chan.close();
    },
  };
  return self;
}

// tabsTransport(innerFactory) -> (env) -> open, like webSocketTransport.
export function tabsTransport(innerFactory) {
  return function factory(env) {
    const inner = innerFactory(env);
    if (!env.locks || !env.BroadcastChannel) return inner;
    const listeners = new Set();
    let member = null;
    let away = false; // between pagehide and pageshow
    let parked = null; // a handle opened meanwhile: it joins when the page is back

    function memberFor(key) {
      if (member && member.key === key) return member;
      if (member) member.leave();
      member = createMember(env, inner, key, listeners);
      return member;
    }

    // The tab is going away, or into the back-forward cache: another tab
    // leads, and this one joins again only if it comes back.
    env.onPageHide(() => {
      away = true;
      if (member) member.leave();
      member = null;
    });
    env.onPageShow(() => {
      away = false;
      const h = parked;
      parked = null;
      if (h) memberFor(groupKey(h.ep, h.token)).attach(h);
    });

    function open(ep, on, token) {
      const h = { ep, on, token, member: null, inner: null };
      if (away) parked = h;
      else memberFor(groupKey(ep, token)).attach(h);
      return {
        get pings() {
          return !!h.inner;
        },
        send(msg) {
          if (msg && msg.type === 'subscribe' && h.member && groupKey(ep, msg.token) !== h.member.key) {
            // The page follows other channels now: join their group, and
            // keep the connection if this tab leads that group too.
            const wasOpen = h.member.release(h);
            h.token = msg.token;
            if (h.inner) h.inner.send(msg);
            memberFor(groupKey(ep, msg.token)).attach(h, wasOpen);
            return true;
          }
          return h.member ? h.member.send(h, msg) : false;
        },
        close() {
          if (parked === h) parked = null;
          if (h.member) h.member.detach(h);
        },
      };
    }
    open.group = {
      get role() {
        return member ? member.role : 'none';
      },
      get epoch() {
        return member ? member.epoch : '';
      },
      get seq() {
        return member ? member.seq : 0;
      },
      post: (m) => member && member.post(m),
      listen(f) {
        listeners.add(f);
        return () => listeners.delete(f);
      },
    };
    open.release = () => {
      if (member) member.leave();
      member = null;
    };
    return open;
  };
}
