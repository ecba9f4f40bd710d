/* The WebSocket transport. A transport is what the connection needs of the
 * network, so that another one (the HTTP stream of POST /sse,
 * transport-stream.js) can stand in without anything above it changing:
 *
 *   open(endpoints, { opened(), frame(message), closed(code, reason) }, token)
 *     -> { send(message) -> bool, close(), pings, kind }
 *
 * opened() once the transport can take frames; frame() for each JSON object
 * the server sends (anything else is dropped); closed(code, reason, waitMs?)
 * once, when it ends by itself (not after close()), with the WebSocket close
 * code it stands for and the least wait before reconnecting (a 503's
 * Retry-After on the stream). send() returns false when it could not.
 * `pings`: whether the connection should send {"type":"ping"} heartbeats
 * over it (a WebSocket must: a dead network gives no close). `token` is
 * the one the connection will subscribe with (transport-tabs.js groups
 * tabs by its channels). `kind`: "websocket" or "stream", what it is
 * carried on now (named in a connect error). */

export function webSocketTransport(env) {
  return function open(ep, on) {
    if (!env.WebSocket) throw new Error('this environment has no WebSocket');
    const s = new env.WebSocket(ep.ws); // throws on a bad URL
    s.onopen = () => on.opened();
    s.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (m && typeof m === 'object') on.frame(m);
    };
    s.onclose = (ev) => on.closed(ev.code, ev.reason);
    return {
      pings: true,
      kind: 'websocket',
      send(message) {
        if (s.readyState !== 1) return false; // OPEN
        s.send(JSON.stringify(message));
        return true;
      },
      close() {
        s.onopen = s.onmessage = s.onclose = null;
        try {
          s.close();
        } catch (e) {
          // already closing
        }
      },
    };
  };
}
