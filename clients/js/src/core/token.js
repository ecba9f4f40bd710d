/* What the client reads in a token without verifying it (livegate does
 * that): the claims, to compare channel sets, to tell an expired token
 * from a refused one, and to know when the page it came with was rendered. */

function base64urlDecode(s) {
  let b = s.replace(/-/g, '+').replace(/_/g, '/');
  while (b.length % 4) b += '=';
  const bin = atob(b);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

// The token's claims, or null when it is not a readable JWT.
export function claimsOf(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const c = JSON.parse(base64urlDecode(parts[1]));
    return c && typeof c === 'object' && !Array.isArray(c) ? c : null;
  } catch (e) {
    return null;
  }
}

// A key equal for two tokens naming the same channels, in any order. A
// token that cannot be read is its own key (so a change is never missed).
export function channelKey(token) {
  const c = claimsOf(token);
  return c && Array.isArray(c.channels) ? c.channels.slice().sort().join(' ') : 'token:' + token;
}

function claimMs(token, name) {
  const c = claimsOf(token);
  return c && typeof c[name] === 'number' ? c[name] * 1000 : null;
}

// When the token expires / was issued (the page rendered), in ms; null if absent.
export function expiresAt(token) {
  return claimMs(token, 'exp');
}

export function issuedAt(token) {
  return claimMs(token, 'iat');
}

// In development: a token much older than the page showing it means the
// page was not rendered for this request (statically prerendered, or cached):
// it is stale by construction and its token will expire unrenewed.
export function checkTokenAge(token, maxAgeMs, now) {
  if (!token || !(maxAgeMs > 0)) return '';
  const iat = issuedAt(token);
  if (iat === null) {
    return 'the token has no iat claim: livegate cannot tell which publishes the page missed ' +
      'between its render and its subscription (mint it with livegate/server\'s mintToken)';
  }
  const age = now - iat;
  if (age > maxAgeMs) {
    const exp = expiresAt(token);
    return 'the token was minted ' + Math.round(age / 1000) + ' s before this page showed it' +
      (exp !== null && exp <= now ? ' and has expired' : '') + ': the page was not rendered for this ' +
      'request (statically prerendered or cached), so it is stale by construction. Render it ' +
      'dynamically (docs/react.md, "Static routes").';
  }
  return '';
}
