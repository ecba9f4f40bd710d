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
import { morph } from './morph.js';
import { parseHtml } from './parse.js';

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
  let res;
  try {
    res = await page.get(url, shareable);
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
  let parsed;
  try {
    performance.mark('livegate:parse');
    parsed = await parseHtml(res.body);
    performance.measure('livegate:parse', 'livegate:parse');
  } catch (e) {
    return fail(page, { type: 'fetch', message: 'reading the refetch of ' + url + ' failed: ' + e }, false);
  }
  if (pageKey(location.href) !== pageKey(url)) {
    page.rerun(); // the user navigated meanwhile: this answer is not for the page shown now
    return true;
  }
  let restoreScroll;
  try {
    performance.mark('livegate:morph');
    restoreScroll = morph(parsed.doc, page.me);
    performance.measure('livegate:morph', 'livegate:morph');
  } catch (e) {
    return fail(page, { type: 'refresh', status, message: 'morph failed: ' + e }, true);
  }
  await nextFrame();
  restoreScroll();
  const next = tokenIn(parsed.doc, page.srcPath);
  if (next) page.adopt(next);
  emit('refreshed', { url });
  return true;
}
