/* livegate/react: useLivegate(token, onInvalidate, options?) keeps one
 * connection to livegate for the component's lifetime and calls
 * onInvalidate(message, batch) exactly as the drop-in script refetches
 * (same core): once per burst, once more if invalidations arrive while the
 * promise it returned is pending, never while the tab is hidden (once when
 * shown). A new token (client navigation, a refresh after expiry) is
 * followed on the same connection: re-subscribed when its channels differ,
 * reconnected with at once when the old one had expired. */

import { useEffect, useRef } from 'react';
import { createLivegate } from './core/client.js';
import { checkTokenAge } from './core/token.js';

export { checkTokenAge };

export const DEFAULT_MAX_TOKEN_AGE_MS = 60000;

function isDev() {
  try {
    return process.env.NODE_ENV !== 'production';
  } catch (e) {
    return false; // no bundler defined it and there is no process: a plain browser
  }
}

const warned = new Set();
function warnOnce(key, text) {
  if (warned.has(key)) return;
  warned.add(key);
  console.warn('livegate: ' + text);
}

/* options: { url, debounce, spread, maxRate, transport ("auto", "websocket",
 * "stream"), onEvent(name, detail), maxTokenAge } */
export function useLivegate(token, onInvalidate, options) {
  const o = options || {};
  const callback = useRef(onInvalidate);
  const onEvent = useRef(o.onEvent);
  const live = useRef(null);
  callback.current = onInvalidate;
  onEvent.current = o.onEvent;

  useEffect(() => {
    if (!o.url) {
      warnOnce('url', 'useLivegate needs options.url (livegate\'s public base URL)');
      return undefined;
    }
    let lg;
    try {
      lg = createLivegate({
        url: o.url,
        relativeTo: typeof location === 'undefined' ? undefined : location.href,
        token: token || '',
        debounce: o.debounce,
        spread: o.spread,
        maxRate: o.maxRate,
        transport: o.transport,
        refresh: (batch) => callback.current(batch.message, batch),
        emit: (name, detail) => onEvent.current && onEvent.current(name, detail),
      });
    } catch (e) {
      warnOnce('url:' + o.url, 'bad url ' + o.url + ': ' + e.message);
      return undefined;
    }
    live.current = lg;
    lg.connect();
    return () => {
      live.current = null;
      lg.close();
    };
    // The token is followed by the effect below, on the same connection.
  }, [o.url, o.debounce, o.spread, o.maxRate, o.transport]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (live.current) live.current.setToken(token || '');
    if (isDev()) {
      const problem = checkTokenAge(token, o.maxTokenAge === undefined ? DEFAULT_MAX_TOKEN_AGE_MS : o.maxTokenAge,
        Date.now());
      if (problem) warnOnce(problem.slice(0, 40), problem);
    }
  }, [token]); // eslint-disable-line react-hooks/exhaustive-deps
}
