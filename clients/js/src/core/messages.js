/* What the client tells a developer when livegate refuses a page: the
 * reason livegate gives (a close's reason, never the token) turned into
 * what to fix. Shared by the drop-in script and the React hook. */

export const MINT_PER_RENDER = 'the backend must mint a token for every render (a statically prerendered ' +
  'or cached page keeps one token and cannot stay live)';

// livegate's close 4001 reasons (docs/protocol.md) and their usual cause.
const REFUSALS = {
  malformed: 'not a JWT (three base64url parts)',
  bad_alg: 'signed with another algorithm than HS256',
  unknown_kid: 'its "kid" names no key of LIVEGATE_SECRETS',
  bad_signature: 'signed with another secret than livegate\'s (LIVEGATE_SECRET or LIVEGATE_SECRETS differ ' +
    'between the backend and livegate)',
  bad_claims: 'a claim is missing or wrong ("channels": a non-empty array of names; "exp": seconds)',
  exp_too_far: 'its "exp" lies further ahead than LIVEGATE_MAX_TOKEN_LIFETIME allows: an "exp" written in ' +
    'milliseconds instead of seconds is the usual cause',
  not_yet_valid: 'its "nbf" lies in the future: is the backend\'s clock ahead of livegate\'s?',
};

// ": <cause>" for a refusal reason such as "bad_claims: exp"; '' if unknown.
export function refusalHint(reason) {
  const key = String(reason || '').split(/[:\s]/)[0];
  return REFUSALS[key] ? ': ' + REFUSALS[key] : '';
}

// A WebSocket that never opens shows only close 1006, whatever the cause;
// a stream that never opens, its HTTP status at best. kind: the transport
// that failed last ("websocket" or "stream").
export function connectError(endpoints, kind, code, attempts) {
  const origin = typeof location !== 'undefined' && location.origin && location.origin !== 'null' ? location.origin : '';
  const url = kind === 'stream' ? endpoints.stream : endpoints.ws;
  const path = kind === 'stream'
    ? 'a proxy in between blocks or buffers the event stream (POST ' + endpoints.stream + ': it must pass ' +
      'text/event-stream unbuffered), as well as WebSockets (' + endpoints.ws + ')'
    : 'a proxy in between does not pass WebSocket upgrades (Upgrade and Connection headers; the script ' +
      'then falls back to the event stream at ' + endpoints.stream + ')';
  return {
    type: 'connect', code, attempts, url, transport: kind,
    message: 'cannot connect to ' + url + ' (' + attempts + ' attempts, last close ' + code + '; still trying). ' +
      'Usual causes: livegate refuses this page\'s origin (LIVEGATE_ALLOWED_ORIGINS must list ' +
      (origin || 'it') + '; livegate logs the refusal), the URL is wrong (data-url, or the host of the ' +
      'script\'s src), or ' + path + '.',
  };
}
