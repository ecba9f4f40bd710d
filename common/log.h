/* common/log.h - one line per event on stderr, logfmt or JSON.
 *
 *   struct lg_logline l;
 *   if (lg_log_begin(&l, LG_LOG_INFO, "redis_up")) {
 *       lg_log_int(&l, "worker", 1);
 *       lg_log_end(&l);
 *   }
 *
 * Values are escaped for the format. A line longer than the buffer ends with
 * truncated=true instead of being cut silently. Never pass a token or key.
 */
#ifndef LG_COMMON_LOG_H
#define LG_COMMON_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { LG_LOG_ERROR, LG_LOG_WARN, LG_LOG_INFO, LG_LOG_DEBUG, LG_LOG_LEVELS };

/* Level names indexed by level: "error", "warn", "info", "debug" (the
 * values of LIVEGATE_LOG_LEVEL and of level= in every line). */
extern const char *const lg_log_level_names[LG_LOG_LEVELS];

/* Returns the level named name, or -1. */
int lg_log_level_parse(const char *name);

#define LG_LOGLINE_MAX 2048

struct lg_logline {
	char   buf[LG_LOGLINE_MAX];
	size_t len;
	int    truncated;
};

/* Sets the level, the format (json when non-zero) and the process name put
 * on every line ("main", "worker-1"). */
void lg_log_setup(int level, int json, const char *proc);

/* Returns 1 if level is enabled. */
int lg_log_enabled(int level);

/* Starts a line; returns 0 (and does nothing) when level is disabled. */
int lg_log_begin(struct lg_logline *l, int level, const char *event);
void lg_log_str(struct lg_logline *l, const char *key, const char *val);
void lg_log_strn(struct lg_logline *l, const char *key, const char *val, size_t n);
void lg_log_int(struct lg_logline *l, const char *key, long long val);
/* Writes the line to stderr with one write(2). */
void lg_log_end(struct lg_logline *l);

/* One-call form for a line with a message only. */
void lg_log_msg(int level, const char *event, const char *msg);

#endif
