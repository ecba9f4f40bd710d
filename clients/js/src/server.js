/* livegate/server: for Node.js backends (a Next.js server component, an
 * API route). mintToken() signs a token locally with the shared secret
 * (HS256, node:crypto: no round trip, one line in a render); createToken()
 * and publish() call livegate's private API (POST /v1/tokens, /v1/publish)
 * for backends that hold an API key rather than the secret.
 *
 * The token carries exactly the contract's claims: channels, exp (whole
 * seconds), iat (the render time, as a NumericDate with a millisecond
 * fraction: livegate's "missed" catch-up compares publishes with it), and
 * sub when given. */

import { createHmac } from 'node:crypto';

export const DEFAULT_TTL = 3600; // livegate's LIVEGATE_TOKEN_TTL default
export const MAX_TTL = 604800; // livegate's LIVEGATE_MAX_TOKEN_LIFETIME default
export const MAX_CHANNELS = 64;
const MAX_SUB_BYTES = 256;
const MIN_SECRET_BYTES = 32;
const CHANNEL = /^[\x21-\x7e]{1,200}$/; // printable ASCII, no space
const API_TIMEOUT_MS = 10000;

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

export function validChannel(name) {
  return typeof name === 'string' && CHANNEL.test(name);
}

function checkChannels(channels) {
  if (!Array.isArray(channels) || channels.length === 0 || channels.length > MAX_CHANNELS) {
    throw new TypeError('livegate: channels must be an array of 1 to ' + MAX_CHANNELS + ' names');
  }
  for (const c of channels) {
    if (!validChannel(c)) {
      throw new TypeError('livegate: bad channel name ' + JSON.stringify(c) +
        ' (1 to 200 printable ASCII characters, no spaces)');
    }
  }
}

/* mintToken({ channels, ttl?, sub?, kid?, now? }, secret) -> JWT string
 *   ttl: seconds, 1..MAX_TTL (default DEFAULT_TTL); kid: the key id of a
 *   LIVEGATE_SECRETS entry; now: ms since the epoch (default Date.now()). */
export function mintToken({ channels, ttl = DEFAULT_TTL, sub, kid, now } = {}, secret) {
  checkChannels(channels);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) {
    throw new TypeError('livegate: ttl must be a whole number of seconds from 1 to ' + MAX_TTL);
  }
  if (sub !== undefined && (typeof sub !== 'string' || Buffer.byteLength(sub) > MAX_SUB_BYTES)) {
    throw new TypeError('livegate: sub must be a string of at most ' + MAX_SUB_BYTES + ' bytes');
  }
  if (kid !== undefined && (typeof kid !== 'string' || !kid)) {
    throw new TypeError('livegate: kid must be a non-empty string');
  }
  const key = typeof secret === 'string' ? Buffer.from(secret) : secret;
  if (!key || typeof key.length !== 'number' || key.length < MIN_SECRET_BYTES) {
    throw new TypeError('livegate: the secret must be at least ' + MIN_SECRET_BYTES +
      ' bytes (the LIVEGATE_SECRET livegate runs with)');
  }
  const ms = Math.floor(now === undefined ? Date.now() : now);
  const header = kid === undefined ? { alg: 'HS256', typ: 'JWT' } : { alg: 'HS256', typ: 'JWT', kid };
  const claims = { channels: channels.slice(), iat: ms / 1000, exp: Math.floor(ms / 1000) + ttl };
  if (sub !== undefined) claims.sub = sub;
  const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims));
  return input + '.' + createHmac('sha256', key).update(input).digest('base64url');
}

export class LivegateApiError extends Error {
  constructor(status, code, message) {
    super('livegate API ' + status + (code ? ' ' + code : '') + ': ' + message);
    this.name = 'LivegateApiError';
    this.status = status;
    this.code = code;
  }
}

/* A client of livegate's private API (http://127.0.0.1:8081 by default,
 * the key is LIVEGATE_API_KEY). */
export function createApi({ url = 'http://127.0.0.1:8081', apiKey, timeout = API_TIMEOUT_MS, fetch: f = fetch } = {}) {
  if (!apiKey) throw new TypeError('livegate: createApi needs the apiKey (LIVEGATE_API_KEY)');
  const base = url.endsWith('/') ? url : url + '/';

  async function call(path, body, want) {
    const res = await f(new URL(path, base), {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch (e) {
      // not JSON: reported below with the text
    }
    if (res.status !== want) {
      throw new LivegateApiError(res.status, json && json.error, (json && json.message) || text.slice(0, 200));
    }
    return json;
  }

  return {
    // { token, expires_at } for { channels, ttl?, sub? }
    // iat: the render time in seconds (when the page's data was read), for
    // a render that may wait on this call; livegate's clock by default.
    async createToken({ channels, ttl, sub, iat } = {}) {
      checkChannels(channels);
      if (iat !== undefined && !Number.isFinite(iat)) throw new TypeError('livegate: iat must be seconds since the epoch');
      const body = { channels };
      if (ttl !== undefined) body.ttl = ttl;
      if (sub !== undefined) body.sub = sub;
      if (iat !== undefined) body.iat = iat;
      return call('v1/tokens', body, 201);
    },
    // Publishes data (any JSON value) on channel; resolves to Redis's receiver count.
    async publish(channel, data) {
      if (!validChannel(channel)) throw new TypeError('livegate: bad channel name ' + JSON.stringify(channel));
      const body = data === undefined ? { channel } : { channel, data };
      return (await call('v1/publish', body, 202)).receivers;
    },
  };
}

// The private API from the environment: LIVEGATE_PRIVATE_URL (default
// http://127.0.0.1:8081) and LIVEGATE_API_KEY.
function envApi(api) {
  return createApi({
    url: (api && api.url) || process.env.LIVEGATE_PRIVATE_URL || undefined,
    apiKey: (api && api.apiKey) || process.env.LIVEGATE_API_KEY,
    timeout: api && api.timeout,
  });
}

// POST /v1/tokens: resolves to { token, expires_at }.
export function createToken(claims, api) {
  return envApi(api).createToken(claims);
}

// POST /v1/publish: resolves to Redis's receiver count.
export function publish(channel, data, api) {
  return envApi(api).publish(channel, data);
}
