/* common/config.h - livegate's settings: environment variables, each also a
 * command-line flag (--foo-bar for LIVEGATE_FOO_BAR), with defaults and
 * validation. A bad value is reported as one line naming the variable. */
#ifndef LG_COMMON_CONFIG_H
#define LG_COMMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "redis_url.h"

#define LG_MAX_WORKERS        64
#define LG_MAX_ORIGINS        64
#define LG_ORIGIN_MAX_LEN     255
#define LG_PREFIX_MAX_LEN     64
#define LG_API_KEY_MIN_LEN    16
#define LG_TOKEN_TTL_MAX      86400
#define LG_DRAIN_MS_MAX       600000
#define LG_MAX_CONNECTIONS_MAX 1000000
#define LG_MAX_TOKEN_LIFETIME_MAX 315360000   /* ten years */
#define LG_RENDER_SLACK_MS_MAX 60000
/* Environment names livegate sets for its own processes: never a user's
 * setting, never warned about as unknown. */
#define LG_ENV_PREFIX          "LIVEGATE_"
#define LG_ENV_INTERNAL_PREFIX "LIVEGATE_INTERNAL_"
#define LG_ENV_NAME_MAX       64    /* longest name a typo suggestion is computed for */

enum lg_log_format { LG_LOG_LOGFMT, LG_LOG_JSON };

/* In Redis Cluster mode: SSUBSCRIBE/SPUBLISH on the slot's node, or plain
 * SUBSCRIBE/PUBLISH broadcast over the cluster bus. */
enum lg_cluster_pubsub { LG_CLUSTER_SHARDED, LG_CLUSTER_GLOBAL };

struct lg_addr {
	struct sockaddr_storage sa;
	socklen_t               len;
	char                    text[64];   /* as given, for logs */
};

struct lg_config {
	char               *secret;         /* exactly one of the three is set */
	char               *secrets;
	char               *secrets_file;
	char               *api_key;        /* NULL: the private API answers 401 */
	struct ps_redis_url redis;
	char               *redis_url;      /* as given, for logs (password masked there) */
	struct lg_addr      public_addr;
	struct lg_addr      private_addr;
	int                 any_origin;
	char               *origins[LG_MAX_ORIGINS];  /* lower-cased scheme://host[:port] */
	size_t              n_origins;
	char               *channel_prefix; /* "" when unset */
	unsigned            token_ttl;
	unsigned            max_token_lifetime; /* s; exp further ahead: exp_too_far */
	unsigned            render_slack_ms;    /* margin before iat for the missed catch-up */
	char               *redis_tls_ca;       /* readable regular files at start; NULL: unset */
	char               *redis_tls_cert;     /* set together with redis_tls_key */
	char               *redis_tls_key;
	enum lg_cluster_pubsub redis_cluster_pubsub;
	unsigned            workers;
	unsigned            max_connections;
	unsigned            drain_ms;
	int                 log_level;      /* LG_LOG_ERROR..LG_LOG_DEBUG (log.h) */
	enum lg_log_format  log_format;
};

/* Fills cfg from argv (flags win) and the environment getenv-style lookup
 * `env` (NULL means getenv). Returns 0; 1 when --help or --version was given
 * and printed to out; -1 with one line in err naming the setting. */
int lg_config_load(struct lg_config *cfg, int argc, char **argv,
                   const char *(*env)(const char *name),
                   FILE *out, char *err, size_t errlen);

/* Frees what lg_config_load allocated. */
void lg_config_free(struct lg_config *cfg);

/* Returns where cfg's Redis is and how to speak to it (the subscriber's
 * and the publisher's shared settings); valid as long as cfg. */
struct ps_redis_target lg_config_redis_target(const struct lg_config *cfg);

/* Writes the --help text (every setting, its default) to out. */
void lg_config_usage(FILE *out);

/* Returns the variable name of setting i (LIVEGATE_...), or NULL past the
 * last one. */
const char *lg_config_setting_env(size_t i);

/* Parses LIVEGATE_ALLOWED_ORIGINS (v) into cfg (origins.c). Returns 0 or -1
 * with the reason in err. */
int lg_origins_parse(struct lg_config *cfg, const char *v, char *err, size_t errlen);

/* Returns 1 if origin[0..len) (the Origin header) is allowed, else 0. */
int lg_config_origin_allowed(const struct lg_config *cfg, const char *origin,
                             size_t len);

/* Parses "a.b.c.d:port", "[v6]:port" or "localhost:port" (127.0.0.1) into
 * a. Other host names are refused, not resolved. Returns 0 or -1 with err
 * set. */
int lg_addr_parse(struct lg_addr *a, const char *text, char *err, size_t errlen);

/* A LIVEGATE_* variable that is no setting (a typo, a setting of another
 * version): name[0..len) points into the environment entry. */
struct lg_env_unknown {
	const char *name;
	size_t      len;
	const char *suggestion;   /* the setting it is probably a typo of, or NULL */
};

/* Finds the LIVEGATE_* entries of envp (NAME=VALUE strings) that name no
 * setting, skipping the reserved LIVEGATE_INTERNAL_* names. Fills up to max
 * of out; returns how many there are. Values are never looked at. */
size_t lg_config_unknown_env(char *const *envp, struct lg_env_unknown *out, size_t max);

#endif
