// Test hook: counts the requests that reach the app, so the browser tests
// see at the origin how many refreshes a burst of publishes cost. Next.js
// strips its RSC headers before the proxy sees a request, so the kinds are
// told apart by what browsers send:
//   documents[path]  page loads (Sec-Fetch-Mode: navigate)
//   refreshes[path]  fetches of the page the browser shows (Referer: that
//                    same page): router.refresh()
//   fetches[path]    fetches of another page: prefetches, client navigations
//   actions          POSTs (server actions)
// GET /__stats answers them as JSON. Remove this file in a real app.
import { NextResponse } from 'next/server';

const stats = (globalThis.__exampleStats ??= { documents: {}, refreshes: {}, fetches: {}, actions: 0 });

function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

export function proxy(request) {
  const path = request.nextUrl.pathname;
  if (path === '/__stats') return NextResponse.json(stats, { headers: { 'Cache-Control': 'no-store' } });
  const h = request.headers;
  const bump = (kind) => { stats[kind][path] = (stats[kind][path] || 0) + 1; };
  if (request.method === 'POST') stats.actions++;
  else if (h.get('sec-fetch-mode') === 'navigate') bump('documents');
  else if (pathOf(h.get('referer')) === path) bump('refreshes');
  else bump('fetches');
  return NextResponse.next();
}

export const config = { matcher: ['/((?!_next/|favicon.ico).*)'] };
