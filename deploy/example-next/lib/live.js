// A livegate token for this render, minted locally with the shared secret
// (no round trip). Test hook: ?ttl=N (1..3600 s) gives short-lived tokens.
import 'server-only';
import { mintToken } from 'livegate/server';

export function liveToken(channels, searchParams) {
  const hook = Number(searchParams && searchParams.ttl);
  const ttl = Number.isInteger(hook) && hook >= 1 && hook <= 3600 ? hook
    : Number(process.env.LIVEGATE_TOKEN_TTL) || undefined;
  return mintToken({ channels, ttl }, process.env.LIVEGATE_SECRET);
}

// Where browsers reach livegate; read at request time, so one build runs
// anywhere (LiveRefresh would otherwise use NEXT_PUBLIC_LIVEGATE_URL, which
// Next.js fixes at build time).
export const livegateUrl = () => process.env.LIVEGATE_PUBLIC_URL || 'http://127.0.0.1:8080';
