/* livegate: the client core, for any framework. createLivegate() keeps a
 * page live: one connection to livegate for a token, and a refresh function
 * called coalesced and deferred in hidden tabs exactly as the drop-in
 * script refetches. livegate/react and livegate/next build on it. */

export { createLivegate, RENEW_GRACE_MS } from './core/client.js';
export { DEFAULT_DEBOUNCE_MS } from './core/scheduler.js';
export { DEGRADED_GRACE_MS } from './core/health.js';
export { endpoints } from './core/endpoints.js';
export { claimsOf, channelKey, checkTokenAge, expiresAt, issuedAt } from './core/token.js';
