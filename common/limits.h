/* common/limits.h - the protocol limits both sides of livegate enforce, so
 * the private API refuses what the workers could not forward. */
#ifndef LG_COMMON_LIMITS_H
#define LG_COMMON_LIMITS_H

/* Largest Redis payload embedded in a frame; larger ones are forwarded as
 * "data":null with "reason":"payload_too_large" (counted, never cut), and
 * /v1/publish refuses them (413). */
#define LG_MAX_PAYLOAD 65536

/* Open files a worker keeps free of clients (Redis, signals, the
 * listener...): past LIVEGATE_MAX_CONNECTIONS + this, the open-file limit
 * binds. */
#define LG_FD_RESERVE 64

#endif
