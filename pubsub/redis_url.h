/* pubsub/redis_url.h - parse LIVEGATE_REDIS_URL.
 *
 *   redis://[[user]:password@]host[:port][/db]          one server
 *   rediss://...                                        the same over TLS
 *   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/<master>[/db]
 *   redis+cluster://[[user]:password@]host[:port][,host[:port]...]   seed nodes
 *   rediss+sentinel://, rediss+cluster://               TLS to every node
 *
 * Hosts are names, IPv4 or [IPv6] literals. The user and password are
 * percent-decoded (write '%' as %25); the userinfo ends at the URL's last
 * '@', so a raw '@', ':' or '/' in a password needs no escaping. Sentinel
 * credentials are the data nodes' (also offered to the sentinels).
 */
#ifndef LG_PUBSUB_REDIS_URL_H
#define LG_PUBSUB_REDIS_URL_H

#include <stddef.h>

#define PS_REDIS_HOST_MAX   255
#define PS_REDIS_USER_MAX   128
#define PS_REDIS_PASS_MAX   512
#define PS_REDIS_DB_MAX     1000000
#define PS_REDIS_HOSTS_MAX  16
#define PS_REDIS_MASTER_MAX 128

enum ps_redis_mode {
	PS_REDIS_SINGLE = 0,
	PS_REDIS_SENTINEL,
	PS_REDIS_CLUSTER,
};

struct ps_redis_host {
	char host[PS_REDIS_HOST_MAX + 1];   /* brackets of an IPv6 literal removed */
	int  port;
};

struct ps_redis_url {
	/* The first host, kept apart for the callers that name one server. */
	char host[PS_REDIS_HOST_MAX + 1];
	int  port;                          /* 6379; 26379 for a sentinel      */
	char user[PS_REDIS_USER_MAX + 1];   /* empty: no ACL user              */
	char password[PS_REDIS_PASS_MAX + 1]; /* empty: none                   */
	int  db;                            /* default 0                       */
	enum ps_redis_mode mode;
	int  tls;                           /* rediss...                       */
	int  nhosts;                        /* 1.. PS_REDIS_HOSTS_MAX          */
	struct ps_redis_host hosts[PS_REDIS_HOSTS_MAX];
	char master[PS_REDIS_MASTER_MAX + 1]; /* sentinel: the master's name  */
};

enum ps_cluster_pubsub {
	PS_CLUSTER_SHARDED = 0,   /* SSUBSCRIBE / SPUBLISH (the default)      */
	PS_CLUSTER_GLOBAL,        /* SUBSCRIBE / PUBLISH, broadcast by the bus */
};

/* Where Redis is and how to speak to it: what the subscriber and the
 * publisher both take (from LIVEGATE_REDIS_URL, LIVEGATE_CHANNEL_PREFIX,
 * LIVEGATE_REDIS_CLUSTER_PUBSUB and LIVEGATE_REDIS_TLS_*). */
struct ps_redis_target {
	const struct ps_redis_url *url;
	const char *prefix;                       /* may be "" (NULL: "")        */
	enum ps_cluster_pubsub cluster_pubsub;
	const char *tls_ca, *tls_cert, *tls_key;  /* NULL: unset                 */
};

/* Parses url into *out. Returns 0, or -1 with a one-line reason in err that
 * never contains the password. */
int ps_redis_url_parse(const char *url, struct ps_redis_url *out,
                       char *err, size_t errlen);

/* Writes "host:port" (IPv6 in brackets) into buf, for logs. Returns buf. */
const char *ps_redis_hostport(const char *host, int port, char *buf, size_t n);

#endif
