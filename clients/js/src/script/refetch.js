/* One refresh of a classic page: fetch its own URL again and morph the
 * answer in. Returns true when the page is up to date, after handing the
 * fetched page's token (the data-token of its livegate <script>) to
 * adopt(). */

import { emit } from './events.js';
import { morph } from './morph.js';

// The data-token of the fetched page's livegate <script>.
function tokenIn(doc, srcPath) {
  for (const tag of doc.querySelectorAll('script[src][data-token]')) {
    if (new URL(tag.getAttribute('src'), location.href).pathname === srcPath) return tag.dataset.token;
  }
  return '';
}

// page: { me, srcPath, reloadFallback, report(detail), adopt(token) }
export async function refetchPage(page) {
  let res, html;
  try {
    res = await fetch(location.href, {
      credentials: 'include',
      cache: 'no-store',
      headers: { 'X-Livegate-Refetch': '1' },
    });
    html = await res.text();
  } catch (e) {
    // Origin unreachable: a reload would only show an error page.
    page.report({ type: 'fetch', message: 'refetch failed: ' + e });
    return false;
  }
  const type = res.headers.get('Content-Type') || '';
  if (res.status !== 200 || !/^(text\/html|application\/xhtml\+xml)/i.test(type)) {
    return fail(page, 'refetch answered ' + res.status + ' ' + type, res.status);
  }
  let next;
  try {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    next = tokenIn(doc, page.srcPath);
    morph(doc, page.me);
  } catch (e) {
    return fail(page, 'morph failed: ' + e, res.status);
  }
  if (next) page.adopt(next);
  emit('refreshed', { url: location.href });
  return true;
}

function fail(page, message, status) {
  page.report({ type: 'refresh', message: message, status: status });
  if (page.reloadFallback) location.reload();
  return false;
}
