/* livegate.js: on each invalidation from livegate, refetch this page and
 * morph it in (idiomorph). Attributes, events, API: docs/script.md. */
(function () {
  "use strict";

  const me = document.currentScript;
  // Loaded twice, or not from a <script src>: do nothing.
  if (!me || window.livegate) return;

  const ds = me.dataset;
  let token = ds.token || "";
  const debounceMs = num(ds.debounce, 150);
  const spreadMs = num(ds.spread, 0);
  const reloadFallback = ds.fallback === "reload";
  const srcPath = new URL(me.src, location.href).pathname;
  const wsUrl = ds.url || (function () {
    const u = new URL(me.src, location.href);
    // "ws" next to the script, so a path prefix (/livegate/livegate.js
    // behind a proxy) carries over to the socket (/livegate/ws).
    return (u.protocol === "https:" ? "wss://" : "ws://") + u.host +
      u.pathname.replace(/[^/]*$/, "ws");
  })();

  const HEARTBEAT_MS = 25000, PONG_MS = 10000, BACKOFF_MS = 1000, BACKOFF_CAP_MS = 30000;
  const STABLE_MS = 30000; // a connection up this long resets the backoff

  function num(v, dflt) {
    const n = parseInt(v, 10);
    return n >= 0 ? n : dflt;
  }

  // Returns false when a listener called preventDefault().
  function emit(name, detail, cancelable) {
    return document.dispatchEvent(new CustomEvent("livegate:" + name,
      { detail: detail, cancelable: !!cancelable }));
  }

  function report(detail) {
    console.error("livegate: " + detail.message);
    emit("error", detail);
  }

  // One refetch at a time; asks meanwhile earn one more after it. The first
  // ask of a burst opens a debounce (+ random spread) window for the rest.
  // A hidden tab only notes it is stale and refetches when shown.

  let timer = 0, inFlight = false, again = false, stale = false;
  let waiters = []; // f(ok) for each, once the next refetch to start ends

  function want(spread) {
    if (document.hidden) stale = true;
    else if (inFlight) again = true;
    else if (!timer) timer = setTimeout(fire, debounceMs + Math.random() * spread);
  }

  function fire() {
    timer = 0;
    if (document.hidden) stale = true;
    else refetch();
  }

  async function refetch() {
    const mine = waiters;
    waiters = [];
    inFlight = true;
    again = false;
    let ok = false;
    try {
      ok = await fetchAndMorph();
    } catch (e) {
      report({ type: "refresh", message: "refresh failed: " + e });
    }
    inFlight = false;
    mine.forEach((f) => f(ok));
    if (again) want(0);
    return ok;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    if (stale) {
      stale = false;
      want(0);
    }
    if (wanted && !ws) connect(); // a user is looking: skip the backoff wait
  });

  async function fetchAndMorph() {
    let res, html;
    try {
      res = await fetch(location.href, {
        credentials: "include",
        cache: "no-store",
        headers: { "X-Livegate-Refetch": "1" }
      });
      html = await res.text();
    } catch (e) {
      // Origin unreachable: a reload would only show an error page.
      report({ type: "fetch", message: "refetch failed: " + e });
      return false;
    }
    const type = res.headers.get("Content-Type") || "";
    if (res.status !== 200 || !/^(text\/html|application\/xhtml\+xml)/i.test(type)) {
      return fail("refetch answered " + res.status + " " + type, res.status);
    }
    let next;
    try {
      const doc = new DOMParser().parseFromString(html, "text/html");
      next = tokenIn(doc);
      morph(doc);
    } catch (e) {
      return fail("morph failed: " + e, res.status);
    }
    if (next && next !== token) adopt(next);
    emit("refreshed", { url: location.href });
    return true;
  }

  function fail(message, status) {
    report({ type: "refresh", message: message, status: status });
    if (reloadFallback) location.reload();
    return false;
  }

  // The data-token of the fetched page's livegate <script>.
  function tokenIn(doc) {
    for (const tag of doc.querySelectorAll("script[src][data-token]")) {
      if (new URL(tag.getAttribute("src"), location.href).pathname === srcPath) return tag.dataset.token;
    }
    return "";
  }

  // Fields the user changed; for contenteditable, the editing host.
  const edited = new WeakSet();
  document.addEventListener("input", (e) => {
    let el = e.target;
    while (el.parentElement && el.parentElement.isContentEditable) el = el.parentElement;
    edited.add(el);
  }, true);

  function permanent(n) {
    return n === me || (n.nodeType === 1 && n.hasAttribute("data-livegate-permanent"));
  }

  // What the user changed beats the server's markup: values and checked
  // boxes differing from their defaults (untouched ones follow the server),
  // options of an edited select, and open <details>/<dialog>.
  function userOwned(el, attr) {
    switch (attr) {
      case "value": return "defaultValue" in el && el.value !== el.defaultValue;
      case "checked": return "defaultChecked" in el && el.checked !== el.defaultChecked;
      case "selected": return edited.has(el.closest("select"));
      case "open": return el.nodeName === "DETAILS" || el.nodeName === "DIALOG";
    }
    return false;
  }

  // No code runs twice (this script included); data scripts are added.
  function executable(n) {
    return n.nodeName === "SCRIPT" && /^$|javascript|ecmascript|module/i.test(n.type);
  }

  function morph(doc) {
    const x = window.scrollX, y = window.scrollY, active = document.activeElement;
    Idiomorph.morph(document.documentElement, doc.documentElement, {
      ignoreActiveValue: true, // leave the focused field alone
      callbacks: {
        beforeNodeAdded: (n) => !executable(n),
        beforeNodeMorphed: (old) => !permanent(old) && !(old.isContentEditable && edited.has(old)),
        beforeNodeRemoved: (old) => !permanent(old),
        beforeAttributeUpdated: (name, el) => !userOwned(el, name)
      }
    });
    if (active && active !== document.body && active.isConnected && document.activeElement !== active) {
      active.focus({ preventScroll: true });
    }
    if (window.scrollX !== x || window.scrollY !== y) window.scrollTo(x, y);
  }

  function claims(t) {
    try {
      return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    } catch (e) {
      return null;
    }
  }

  function channelsOf(t) {
    const c = claims(t);
    return c && Array.isArray(c.channels) ? c.channels.slice().sort().join(" ") : t;
  }

  // Use a refetched page's token; re-subscribe now if its channels differ.
  function adopt(next) {
    const moved = channelsOf(next) !== channelsOf(token);
    token = next;
    if (moved) send({ type: "subscribe", token: token });
  }

  let ws = null, wanted = false, up = false, everUp = false, upSince = 0;
  let attempt = 0, retryTimer = 0, pingTimer = 0, pongTimer = 0;

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function connect() {
    wanted = true;
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws) return;
    let s;
    try {
      s = new WebSocket(wsUrl);
    } catch (e) {
      wanted = false;
      report({ type: "config", message: "bad WebSocket URL " + wsUrl + ": " + e });
      return;
    }
    ws = s;
    s.onopen = function () {
      send({ type: "subscribe", token: token });
      pingTimer = setInterval(ping, HEARTBEAT_MS);
    };
    s.onmessage = (ev) => frame(ev.data);
    s.onclose = (ev) => dropped(ev.code, ev.reason);
  }

  function ping() {
    send({ type: "ping" });
    if (!pongTimer) pongTimer = setTimeout(() => dropped(1006, "no pong"), PONG_MS);
  }

  // Drop the socket now: a dead network never completes a close handshake.
  function forget() {
    const s = ws;
    ws = null;
    up = false;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pingTimer = pongTimer = 0;
    if (s) {
      s.onopen = s.onmessage = s.onclose = null;
      try { s.close(); } catch (e) { /* already closing */ }
    }
  }

  function dropped(code, reason) {
    // Not on "subscribed": a server that drops us right after accepting
    // must not get a reconnect (and a refetch) every second.
    if (upSince && Date.now() - upSince > STABLE_MS) attempt = 0;
    upSince = 0;
    forget();
    const c = claims(token);
    // A token that expired while the tab slept may be refused as invalid.
    if (code === 4001 && c && c.exp * 1000 < Date.now()) code = 4002;
    if (code === 4001) wanted = false;
    emit("disconnected", { code: code, reason: reason, reconnecting: wanted });
    if (code === 4001) {
      report({ type: "auth", code: code, message: "token refused (4001), live updates stopped" });
    } else if (code === 4002) {
      // Expired: reconnect once the refetched page gave a fresh token.
      waiters.push(retry);
      want(0);
    } else {
      retry(); // 1006, 1012 restarting, 1013 over capacity, ...
    }
  }

  // Exponential backoff, full jitter: wait in [0, min(cap, 1 s * 2^attempt)).
  function retry() {
    if (!wanted || retryTimer) return;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_MS * Math.pow(2, attempt));
    attempt = Math.min(attempt + 1, 16);
    retryTimer = setTimeout(() => {
      retryTimer = 0;
      if (wanted) connect();
    }, Math.random() * ceiling);
  }

  function frame(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!m || typeof m !== "object") return;
    if (m.type === "subscribed") {
      if (up) return; // the answer to a re-subscribe on this socket
      up = true;
      upSince = Date.now();
      emit("connected", { channels: m.channels, reconnect: everUp });
      if (everUp) {
        // Updates may have been missed while away.
        const msg = { type: "invalidate", channel: null, data: null, reason: "reconnect" };
        if (emit("invalidate", msg, true)) want(spreadMs);
      }
      everUp = true;
    } else if (m.type === "invalidate") {
      const hint = typeof m.spread === "number" && m.spread >= 0 ? Math.min(m.spread, 600000) : spreadMs;
      if (emit("invalidate", m, true)) want(hint);
    } else if (m.type === "pong") {
      clearTimeout(pongTimer);
      pongTimer = 0;
    }
  }

  window.addEventListener("online", () => wanted && !ws && connect());

  window.livegate = {
    // Resolves to true once the page is up to date.
    refresh() {
      const p = new Promise((resolve) => waiters.push(resolve));
      clearTimeout(timer);
      timer = 0;
      if (inFlight) again = true;
      else refetch();
      return p;
    },
    connect: connect,
    disconnect() {
      wanted = false;
      clearTimeout(retryTimer);
      retryTimer = 0;
      if (!ws) return;
      forget();
      emit("disconnected", { code: 1000, reason: "disconnect()", reconnecting: false });
    }
  };

  if (token) connect();
  else report({ type: "config", message: "the script tag has no data-token" });
})();
