/* Where livegate is reached. One URL names it: livegate's public base URL
 * (https://gateway.example, or https://example.com/livegate/ behind a path
 * prefix), from which the WebSocket (<base>/ws) and the stream (<base>/sse)
 * follow; or, as the script's data-url always allowed, the WebSocket URL
 * itself (ws:// or wss://), whose neighbour "sse" is the stream. */

// url: absolute or relative to `relativeTo` (the page's URL in a browser).
export function endpoints(url, relativeTo) {
  const u = new URL(url, relativeTo);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  if (u.protocol === 'ws:' || u.protocol === 'wss:') {
    const stream = new URL(u.href);
    stream.protocol = secure ? 'https:' : 'http:';
    stream.pathname = stream.pathname.replace(/[^/]*$/, 'sse');
    return { ws: u.href, stream: stream.href };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error('livegate URL must be http(s) or ws(s): ' + url);
  }
  u.search = '';
  u.hash = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  const ws = new URL('ws', u);
  ws.protocol = secure ? 'wss:' : 'ws:';
  return { ws: ws.href, stream: new URL('sse', u).href };
}
