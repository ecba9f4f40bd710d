/* livegate.js, the drop-in script: on each invalidation from livegate,
 * refetch this page and morph it in. Attributes, events, API:
 * docs/script.md. The connection, the scheduler and the token renewal are
 * the npm package's core (../core/), bundled in by tools/bundle.py. */

import { createLivegate } from '../core/client.js';
import { browserEnv } from '../core/env.js';
import { MODES, autoTransport } from '../core/transport-auto.js';
import { tabsTransport } from '../core/transport-tabs.js';
import { emit } from './events.js';
import { reactOwner } from './react-owned.js';
import { fetchPage, refetchPage } from './refetch.js';
import { sharedFetch } from './shared-fetch.js';

const me = document.currentScript;

function num(v, dflt) {
  const n = parseFloat(v);
  return n >= 0 ? n : dflt;
}

function report(detail) {
  console.error('livegate: ' + detail.message);
  emit('error', detail);
}

let warnedReact = false;

// A document React owns is never morphed (react-owned.js); says so once.
function reactRefuses() {
  const owner = reactOwner(document);
  if (owner && !warnedReact) {
    warnedReact = true;
    console.warn('livegate: this page is rendered by ' + owner + ', so the drop-in script does not refetch ' +
      'and morph it (that would break React\'s state). Use <LiveRefresh> from "livegate/next" or ' +
      'useLivegate from "livegate/react" instead, or handle livegate:invalidate yourself and call ' +
      'preventDefault().');
  }
  return !!owner;
}

function start() {
  const ds = me.dataset;
  const srcUrl = new URL(me.src, location.href);
  const env = browserEnv();
  const mode = ds.transport || 'auto';
  if (MODES.indexOf(mode) < 0) {
    report({ type: 'config', message: 'data-transport must be one of ' + MODES.join(', ') + ', not "' + mode +
      '": using auto' });
  }
  // One connection per browser for the tabs following the same channels,
  // carried by a WebSocket or, where none gets through, the HTTP stream.
  const transport = tabsTransport(autoTransport({
    mode,
    emit: (name, detail) => emit(name, detail),
    probeMs: num(ds.transportProbe, 0), // ms before the first probe of the WebSocket (for tests)
  }))(env);
  let lg;
  const page = {
    me: me,
    srcPath: srcUrl.pathname,
    reloadFallback: ds.fallback === 'reload',
    report: report,
    adopt: (t) => lg.setToken(t),
    rerun: () => lg.refresh(),
    stopped: null, // a 404 or 405: this page is no longer refetched (refetch.js)
    baseline: null, // the last page morphed in, for parsing only what changes (refetch.js)
    get: transport.group ? sharedFetch(transport.group, fetchPage, env) : fetchPage,
  };
  try {
    lg = createLivegate({
      // "ws" next to the script, so a path prefix (/livegate/livegate.js
      // behind a proxy) carries over to the socket (/livegate/ws).
      url: ds.url || new URL('.', srcUrl).href,
      relativeTo: location.href,
      env,
      transport: () => transport,
      token: ds.token || '',
      debounce: num(ds.debounce, 150),
      spread: num(ds.spread, 0),
      maxRate: num(ds.maxRate, 0),
      refresh: (batch) => (reactRefuses() ? false : refetchPage(page, batch.count > 0)),
      // Every refresh the script would start is first offered to the page.
      dispatch: (message) => emit('invalidate', message, true) && !reactRefuses(),
      emit: (name, detail) => {
        if (name === 'degraded') console.warn('livegate: ' + detail.message);
        emit(name, detail);
      },
      log: (detail) => console.error('livegate: ' + detail.message),
    });
  } catch (e) {
    report({ type: 'config', message: 'bad livegate URL ' + (ds.url || me.src) + ': ' + e.message });
    return;
  }

  window.livegate = {
    // Resolves to true once the page is up to date.
    refresh: () => lg.refresh(),
    connect: () => lg.connect(),
    disconnect: () => lg.disconnect(),
    // For a page that took over an "expired" invalidation: the fresh token.
    setToken: (t) => lg.setToken(t),
  };

  if (ds.token) lg.connect();
  else report({ type: 'config', message: 'the script tag has no data-token' });
}

// Loaded twice, or not from a <script src>: do nothing.
if (me && me.src && !window.livegate) start();
