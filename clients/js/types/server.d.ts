// Types of "livegate/server" (Node.js only).

export interface TokenClaims {
  /** 1 to 64 channel names (1-200 printable ASCII characters, no spaces) */
  channels: string[];
  /** seconds, 1 to 604800; default 3600 */
  ttl?: number;
  sub?: string;
}

export interface ApiTokenClaims extends TokenClaims {
  /** the render time (when the page's data was read), seconds since the epoch; default: the call */
  iat?: number;
}

export interface MintOptions extends TokenClaims {
  /** key id of a LIVEGATE_SECRETS entry */
  kid?: string;
  /** ms since the epoch; default Date.now() */
  now?: number;
}

/** Signs an HS256 token with livegate's secret (LIVEGATE_SECRET, at least 32 bytes). */
export function mintToken(options: MintOptions, secret: string | Uint8Array): string;
export function validChannel(name: string): boolean;
export const DEFAULT_TTL: number;
export const MAX_TTL: number;
export const MAX_CHANNELS: number;

export interface ApiOptions {
  /** the private API, default http://127.0.0.1:8081 (LIVEGATE_PRIVATE_URL for the env helpers) */
  url?: string;
  /** LIVEGATE_API_KEY */
  apiKey?: string;
  /** ms, default 10000 */
  timeout?: number;
  fetch?: typeof fetch;
}

export interface Api {
  createToken(claims: ApiTokenClaims): Promise<{ token: string; expires_at: number }>;
  publish(channel: string, data?: unknown): Promise<number>;
}

export class LivegateApiError extends Error {
  status: number;
  code: string | undefined;
}

export function createApi(options: ApiOptions & { apiKey: string }): Api;
/** POST /v1/tokens with LIVEGATE_PRIVATE_URL / LIVEGATE_API_KEY unless given */
export function createToken(claims: ApiTokenClaims, api?: ApiOptions): Promise<{ token: string; expires_at: number }>;
/** POST /v1/publish with LIVEGATE_PRIVATE_URL / LIVEGATE_API_KEY unless given */
export function publish(channel: string, data?: unknown, api?: ApiOptions): Promise<number>;
