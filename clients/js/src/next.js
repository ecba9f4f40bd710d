'use client';
/* livegate/next: <LiveRefresh token={...} url={...} /> for the App Router.
 * Renders nothing; on invalidations it calls router.refresh() through
 * useLivegate, so the server components render again and React reconciles
 * the new payload with the page: client state (useState, typed inputs,
 * focus, scroll) survives. The refreshed tree brings a fresh token prop, so
 * token expiry and reconnects are handled by a refresh too: never an HTML
 * refetch, never a morph. */

import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, useTransition } from 'react';
import { useLivegate } from './react.js';

// A refresh that never settles (a navigation replaced it) must not hold
// the scheduler's one slot forever.
const REFRESH_TIMEOUT_MS = 30000;

function envUrl() {
  try {
    return process.env.NEXT_PUBLIC_LIVEGATE_URL; // inlined by Next.js at build time
  } catch (e) {
    return undefined;
  }
}

export function LiveRefresh({ token, url, debounce, spread, maxRate, transport, onEvent, maxTokenAge }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const waiting = useRef([]);

  // router.refresh() returns nothing: the transition around it is pending
  // until the refreshed payload is committed, which is when a refresh ends.
  const settle = useCallback(() => {
    const list = waiting.current;
    waiting.current = [];
    for (const done of list) done(true);
  }, []);
  useEffect(() => {
    if (!pending) settle();
  }, [pending, settle]);
  useEffect(() => settle, [settle]);

  const refresh = useCallback(() => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), REFRESH_TIMEOUT_MS);
    waiting.current.push((ok) => {
      clearTimeout(timer);
      resolve(ok);
    });
    startTransition(() => router.refresh());
  }), [router]);

  useLivegate(token, refresh, { url: url || envUrl(), debounce, spread, maxRate, transport, onEvent,
    maxTokenAge });
  return null;
}

export default LiveRefresh;
