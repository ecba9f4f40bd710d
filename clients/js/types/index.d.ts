// Types of "livegate": the client core (src/index.js).

/** A frame livegate sent, or one the client made up for a reconnect or an expiry. */
export interface InvalidateMessage {
  type: 'invalidate';
  /** null for a reconnect or an expiry */
  channel: string | null;
  /** what was published (JSON where it was JSON, else a string); null when none */
  data: unknown;
  /** "missed" / "resync" from livegate; "reconnect" / "expired" from the client */
  reason?: 'missed' | 'resync' | 'reconnect' | 'expired' | string;
  spread?: number;
  [field: string]: unknown;
}

/** What one refresh answers: the invalidations coalesced into it. */
export interface InvalidateBatch {
  /** the latest message (null for a refresh nobody's message asked for) */
  message: InvalidateMessage | null;
  /** the last 64 messages */
  messages: InvalidateMessage[];
  /** how many there were */
  count: number;
  /** distinct channel names among them */
  channels: string[];
}

export type LivegateEventName = 'connected' | 'disconnected' | 'error' | 'degraded' | 'restored' | 'transport';

/** The connection changed transport (options.transport "auto"). */
export interface LivegateTransportDetail {
  transport: 'websocket' | 'stream';
  /** websocket-failed, stream-failed: 2 failures in a row; probe: the WebSocket is back;
   *  remembered: this tab session streamed before */
  reason: 'websocket-failed' | 'stream-failed' | 'probe' | 'remembered' | string;
}

export interface LivegateErrorDetail {
  /** auth: a refused or unrenewable token; connect: the WebSocket never opens;
   *  session, refresh, fetch: the drop-in script's refetch; config */
  type: 'auth' | 'connect' | 'session' | 'refresh' | 'fetch' | 'config' | string;
  message: string;
  code?: number;
  /** livegate's close reason (bad_signature, exp_too_far, ...) */
  reason?: string;
  status?: number;
  url?: string;
  attempts?: number;
}

/** The page has not been live for a grace period (3 s). */
export interface LivegateDegradedDetail {
  reason: 'redis' | 'subscribe' | 'connection';
  /** when it stopped being live (ms since the epoch) */
  since: number;
  message: string;
}

/** Live again after a degraded event. */
export interface LivegateRestoredDetail {
  /** ms it was not live */
  after: number;
}

export interface LivegateOptions {
  /** livegate's public base URL (https://gateway.example) or its WebSocket URL */
  url: string;
  /** base for a relative url (the page's URL) */
  relativeTo?: string;
  token?: string;
  /** what a refresh is; resolve to false when it failed */
  refresh(batch: InvalidateBatch): unknown | Promise<unknown>;
  /** false: someone else handles this refresh */
  dispatch?(message: InvalidateMessage): boolean;
  emit?(name: LivegateEventName, detail: unknown): void;
  log?(detail: LivegateErrorDetail): void;
  /** ms, default 150 */
  debounce?: number;
  /** ms, default 0 */
  spread?: number;
  /** refreshes per second at most (0.5: one every 2 s); default: no limit but the debounce window */
  maxRate?: number;
  /** "auto" (default): a WebSocket, or livegate's HTTP stream (POST /sse) where none gets through;
   *  "websocket" or "stream": that one alone */
  transport?: 'auto' | 'websocket' | 'stream';
  /** ms before the first probe of the WebSocket while on the stream (default 60000) */
  probeInterval?: number;
}

export interface Livegate {
  readonly token: string;
  readonly connected: boolean;
  setToken(token: string): void;
  connect(): void;
  disconnect(): void;
  refresh(): Promise<boolean>;
  close(): void;
}

export function createLivegate(options: LivegateOptions): Livegate;
export const RENEW_GRACE_MS: number;
export const DEFAULT_DEBOUNCE_MS: number;
export const DEGRADED_GRACE_MS: number;
export function endpoints(url: string, relativeTo?: string): { ws: string; stream: string };
export function claimsOf(token: string): Record<string, unknown> | null;
export function channelKey(token: string): string;
export function expiresAt(token: string): number | null;
export function issuedAt(token: string): number | null;
export function checkTokenAge(token: string, maxAgeMs: number, now: number): string;
