// One Redis connection per server process (todos are stored in Redis and
// changes are published on the same connection), kept on globalThis so
// that module reloads do not open more.
import 'server-only';
import { createClient } from '@redis/client';

export function redis() {
  if (!globalThis.__exampleRedis) {
    const client = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
    client.on('error', (e) => console.error('redis:', e.message));
    globalThis.__exampleRedis = client.connect().then(() => client, (e) => {
      globalThis.__exampleRedis = null; // the next request tries again
      throw e;
    });
  }
  return globalThis.__exampleRedis;
}
