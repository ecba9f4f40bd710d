// Test hook: counts the requests that reach the app, so the browser tests
// can see at the origin how many refreshes a burst of publishes cost.
// GET /__stats answers { html, rsc: {path: n}, prefetch, actions }.
// Remove this file in a real app.
import { NextResponse } from 'next/server';

const stats = (globalThis.__exampleStats ??= { html: {}, rsc: {}, prefetch: 0, actions: 0 });

export function proxy(request) {
  const path = request.nextUrl.pathname;
  if (path === '/__stats') return NextResponse.json(stats, { headers: { 'Cache-Control': 'no-store' } });
  const h = request.headers;
  if (h.get('next-action')) stats.actions++;
  else if (h.get('next-router-prefetch')) stats.prefetch++;
  else if (h.get('rsc') === '1') stats.rsc[path] = (stats.rsc[path] || 0) + 1;
  else if (request.method === 'GET') stats.html[path] = (stats.html[path] || 0) + 1;
  return NextResponse.next();
}

export const config = { matcher: ['/((?!_next/|favicon.ico).*)'] };
