// Types of "livegate/react".
import type { InvalidateBatch, InvalidateMessage, LivegateEventName } from './index.js';

export interface UseLivegateOptions {
  /** livegate's public base URL (https://gateway.example) or its WebSocket URL */
  url: string | undefined;
  /** ms, default 150 */
  debounce?: number;
  /** ms, default 0 */
  spread?: number;
  /** refreshes per second at most */
  maxRate?: number;
  /** "auto" (default: WebSocket, the event stream where it is blocked), "websocket" or "stream" */
  transport?: 'auto' | 'websocket' | 'stream';
  /** connected, disconnected, error, degraded, restored */
  onEvent?(name: LivegateEventName, detail: unknown): void;
  /** development only: warn when the token is older than this (ms; default 60000, 0: never) */
  maxTokenAge?: number;
}

export function useLivegate(
  token: string | null | undefined,
  onInvalidate: (message: InvalidateMessage | null, batch: InvalidateBatch) => unknown | Promise<unknown>,
  options: UseLivegateOptions,
): void;

export const DEFAULT_MAX_TOKEN_AGE_MS: number;
export function checkTokenAge(token: string, maxAgeMs: number, now: number): string;
