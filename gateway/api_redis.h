/* gateway/api_redis.h - PUBLISH from the API threads: one synchronous Redis
 * connection per thread, reconnected on the next request after an error. */
#ifndef LG_GATEWAY_API_REDIS_H
#define LG_GATEWAY_API_REDIS_H

#include <stddef.h>

#include "redis_url.h"

#define LG_API_REDIS_TIMEOUT_MS 1000

/* Publishes payload on prefix+channel. Returns the receiver count Redis
 * answered (>= 0), or -1 with a reason in err (never a password). */
long long lg_api_publish(const struct ps_redis_url *url, const char *prefix,
                         const char *channel, size_t clen,
                         const char *payload, size_t plen,
                         char *err, size_t errlen);

/* Closes the calling thread's connection (thread exit, shutdown). */
void lg_api_redis_close(void);

#endif
