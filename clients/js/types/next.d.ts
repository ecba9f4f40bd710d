// Types of "livegate/next".
import type { LivegateEventName } from './index.js';

export interface LiveRefreshProps {
  /** the token minted for this render (livegate/server's mintToken) */
  token: string;
  /** livegate's public base URL; default process.env.NEXT_PUBLIC_LIVEGATE_URL */
  url?: string;
  debounce?: number;
  spread?: number;
  /** refreshes per second at most */
  maxRate?: number;
  /** "auto" (default: WebSocket, the event stream where it is blocked), "websocket" or "stream" */
  transport?: 'auto' | 'websocket' | 'stream';
  /** connected, disconnected, error, degraded, restored */
  onEvent?(name: LivegateEventName, detail: unknown): void;
  maxTokenAge?: number;
}

export function LiveRefresh(props: LiveRefreshProps): null;
export default LiveRefresh;
