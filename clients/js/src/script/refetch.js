/* One refresh of a classic page: fetch its own URL again (as it is when
 * the refresh starts: a user who navigated meanwhile is not dragged back)
 * and morph the answer in, only if it is this page:
 *
 * - redirected (the session ended and the app sends /login) or 401/403:
 *   never morphed (that would put the login form at this URL and lose
 *   what the user typed); livegate:error type "session", and a reload
 *   with data-fallback="reload", so the browser shows the login page at
 *   its own URL.
 * - 404 (the page is gone) or 405 (a page rendered in answer to a POST,
 *   which a GET cannot fetch again): refetching it is pointless, so the
 *   page stops refetching and says why, once.
 * - anything else that is not 200 HTML: livegate:error type "refresh".
 *
 * Returns true when the page is up to date, after handing the fetched
 * page's token (the data-token of its livegate <script>) to adopt(). */

import { emit } from './events.js';
import { morph, morphParts } from './morph.js';
import { parseHtml } from './parse.js';
import { partialParts } from './partial.js';
import { PageScan } from './tagtree.js';

// The baseline (partial.js) is kept for pages up to this size; its tree is
// made in slices of SLICE_MS when the main thread is idle.
const MAX_BASELINE = 8 * 1024 * 1024;
const SLICE_MS = 8;

// Where a page is, for comparing: the fragment is the browser's, not the server's.
function pageKey(url) {
  const u = new URL(url, location.href);
  u.hash = '';
  return u.href;
}

// The data-token of the fetched page's livegate <script>.
function tokenIn(doc, srcPath) {
  for (const tag of doc.querySelectorAll('script[src][data-token]')) {
    if (new URL(tag.getAttribute('src'), location.href).pathname === srcPath) return tag.dataset.token;
  }
  return '';
}

// The next frame, when the browser lays the page out anyway (or soon, in
// a hidden tab that has no frames).
function nextFrame() {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

// The page at url, fetched by this tab: what refetchPage needs of the answer.
export async function fetchPage(url) {
  const res = await fetch(url, {
    credentials: 'include',
    cache: 'no-store',
    headers: { 'X-Livegate-Refetch': '1' },
  });
  return {
    status: res.status,
    type: res.headers.get('Content-Type') || '',
    redirected: res.redirected,
    url: res.url,
    body: res, // read by parse.js as it streams in
  };
}

function whenIdle(fn) {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 500 });
  else setTimeout(fn, 0);
}

// The page just morphed in, for the next refresh to parse only what changed.
function keepBaseline(page, key, html) {
  if (html.length > MAX_BASELINE) {
    page.baseline = null;
    return;
  }
  const base = { key, html, tree: null, scan: new PageScan(html) };
  page.baseline = base;
  const step = () => {
    if (page.baseline !== base || !base.scan) return;
    if (base.scan.run(performance.now() + SLICE_MS)) treeNow(base);
    else whenIdle(step);
  };
  whenIdle(step);
}

// The baseline's tree, finished now if the idle slices have not.
function treeNow(base) {
  if (base.scan) {
    base.scan.run();
    base.tree = base.scan.tree;
    base.refused = base.scan.refused;
    base.scan = null;
  }
  return base.tree;
}

function fail(page, detail, reload) {
  page.report(detail);
  if (reload && page.reloadFallback) location.reload();
  return false;
}

/* page: { me, srcPath, reloadFallback, report(detail), adopt(token),
 *         rerun(), stopped: null | detail,
 *         get(url, shareable) -> Promise of the answer (shared-fetch.js) }
 * shareable: only invalidations asked for this refresh (not the page's own
 * livegate.refresh()), so another tab's fetch may answer it. */
export async function refetchPage(page, shareable) {
  if (page.stopped) return false;
  const url = location.href;
  const key = pageKey(url);
  const base = page.baseline && page.baseline.key === key ? page.baseline : null;
  let res;
  try {
    const answer = page.get(url, shareable);
    if (base) treeNow(base); // while the request is out
    res = await answer;
  } catch (e) {
    // Origin unreachable: a reload would only show an error page.
    return fail(page, { type: 'fetch', message: 'refetch of ' + url + ' failed: ' + e }, false);
  }
  const status = res.status;
  if (res.redirected || (res.url && pageKey(res.url) !== pageKey(url))) {
    return fail(page, { type: 'session', status, url: res.url, message: 'the refetch of ' + url +
      ' was redirected to ' + res.url + ' (has the session ended?): not morphed into this page' +
      (page.reloadFallback ? ', reloading' : '') }, true);
  }
  if (status === 401 || status === 403) {
    return fail(page, { type: 'session', status, url, message: 'the refetch of ' + url + ' answered ' + status +
      ' (has the session ended?): not morphed into this page' + (page.reloadFallback ? ', reloading' : '') }, true);
  }
  if (status === 404 || status === 405) {
    page.stopped = { type: 'refresh', status, url, message: 'the refetch of ' + url + ' answered ' + status +
      (status === 405 ? ' (a page rendered in answer to a POST cannot be fetched again with GET)' :
        ' (the page is gone)') + ': this page is no longer refreshed' };
    return fail(page, page.stopped, status === 404); // reloading a POST's answer would post again
  }
  if (status !== 200 || !/^(text\/html|application\/xhtml\+xml)/i.test(res.type)) {
    return fail(page, { type: 'refresh', status, url, message: 'refetch answered ' + status + ' ' + res.type }, true);
  }
  let html;
  let parts = null;
  let parsed = null;
  let whole = base ? '' : 'first refresh of this page';
  try {
    performance.mark('livegate:parse');
    if (base) {
      html = typeof res.body === 'string' ? res.body : await res.body.text();
      parts = partialParts(base, html, document);
      if (typeof parts === 'string') {
        whole = parts;
        parts = null;
      }
    }
    if (!parts) parsed = await parseHtml(html === undefined ? res.body : html);
    performance.measure('livegate:parse', 'livegate:parse');
  } catch (e) {
    return fail(page, { type: 'fetch', message: 'reading the refetch of ' + url + ' failed: ' + e }, false);
  }
  if (pageKey(location.href) !== key) {
    page.rerun(); // the user navigated meanwhile: this answer is not for the page shown now
    return true;
  }
  let restoreScroll = null;
  page.baseline = null; // until the morph is done
  try {
    performance.mark('livegate:morph');
    if (parts) restoreScroll = morphParts(parts, page.me);
    if (!restoreScroll) {
      if (parts) whole = 'a change idiomorph must morph whole';
      parts = null;
      if (!parsed) parsed = await parseHtml(html);
      restoreScroll = morph(parsed.doc, page.me);
    }
    performance.measure('livegate:morph', 'livegate:morph');
  } catch (e) {
    return fail(page, { type: 'refresh', status, message: 'morph failed: ' + e }, true);
  }
  keepBaseline(page, key, parsed ? parsed.html : html);
  await nextFrame();
  restoreScroll();
  for (const doc of parts ? parts.map((p) => p.doc) : [parsed.doc]) {
    const next = tokenIn(doc, page.srcPath);
    if (next) {
      page.adopt(next);
      break;
    }
  }
  emit('refreshed', parts ? { url, partial: true } : { url, partial: false, whole });
  return true;
}
