/* pubsub/redis_url.h - parse redis://[[user]:password@]host[:port][/db]. */
#ifndef LG_PUBSUB_REDIS_URL_H
#define LG_PUBSUB_REDIS_URL_H

#include <stddef.h>

#define PS_REDIS_HOST_MAX 255
#define PS_REDIS_USER_MAX 128
#define PS_REDIS_PASS_MAX 512
#define PS_REDIS_DB_MAX   1000000

struct ps_redis_url {
	char host[PS_REDIS_HOST_MAX + 1];   /* brackets of an IPv6 literal removed */
	int  port;                          /* default 6379 */
	char user[PS_REDIS_USER_MAX + 1];   /* empty: no ACL user */
	char password[PS_REDIS_PASS_MAX + 1]; /* percent-decoded; empty: none */
	int  db;                            /* default 0 */
};

/* Parses url into *out. Returns 0, or -1 with a one-line reason in err that
 * never contains the password. */
int ps_redis_url_parse(const char *url, struct ps_redis_url *out,
                       char *err, size_t errlen);

#endif
