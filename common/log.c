/* common/log.c - structured log lines on stderr. */
#include "log.h"
#include "json_escape.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int  log_level = LG_LOG_INFO;
static int  log_json;
static char log_proc[32] = "main";

const char *const lg_log_level_names[LG_LOG_LEVELS] = { "error", "warn", "info", "debug" };

int lg_log_level_parse(const char *name)
{
	for (int i = 0; i < LG_LOG_LEVELS; i++)
		if (strcmp(name, lg_log_level_names[i]) == 0)
			return i;
	return -1;
}

void lg_log_setup(int level, int json, const char *proc)
{
	log_level = level;
	log_json = json;
	snprintf(log_proc, sizeof log_proc, "%s", proc);
}

int lg_log_enabled(int level)
{
	return level <= log_level;
}

/* Appends raw bytes; sets truncated (keeping room for the marker). */
static void put(struct lg_logline *l, const char *s, size_t n)
{
	const size_t room = sizeof l->buf - 40;   /* marker + closing + newline */

	if (l->truncated)
		return;
	if (l->len + n > room) {
		l->truncated = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_s(struct lg_logline *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_key(struct lg_logline *l, const char *key)
{
	if (log_json) {
		put_s(l, ",\"");
		put_s(l, key);
		put_s(l, "\":");
	} else {
		put_s(l, " ");
		put_s(l, key);
		put_s(l, "=");
	}
}

/* Appends key and val, val escaped with JSON's string rules (lg_json_escape: '"', '\\'
 * and control bytes escaped, UTF-8 kept, invalid bytes as \ufffd), in
 * quotes for JSON and for any logfmt value that is empty or holds a byte
 * outside 0x21..0x7e, '=', '"' or '\\'. logfmt parsers (go-logfmt and its
 * ports, Loki's) read an unquoted value byte for byte and unescape JSON-style
 * inside quotes only, so this reads back exactly; a bare backslash would come
 * back doubled. */
static void put_pair(struct lg_logline *l, const char *key, const char *v, size_t n)
{
	const size_t room = sizeof l->buf - 40;
	char tmp[6 * sizeof l->buf];
	int quote = log_json || n == 0;
	size_t m;

	for (size_t i = 0; i < n && !quote; i++)
		quote = v[i] == '=' || v[i] == '"' || v[i] == '\\' ||
		        (unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e;
	if (l->truncated || l->len + strlen(key) + n + 4 > room) {
		l->truncated = 1;   /* cannot fit even unescaped */
		return;
	}
	m = lg_json_escape(tmp, v, n);
	if (l->len + strlen(key) + m + 6 > room) {
		l->truncated = 1;   /* the pair is left out whole, never cut */
		return;
	}
	put_key(l, key);
	if (quote)
		put(l, "\"", 1);
	put(l, tmp, m);
	if (quote)
		put(l, "\"", 1);
}

int lg_log_begin(struct lg_logline *l, int level, const char *event)
{
	struct timespec ts;
	struct tm tm;
	char tbuf[64];

	if (!lg_log_enabled(level))
		return 0;
	l->len = 0;
	l->truncated = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(tbuf, sizeof tbuf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (log_json) {
		put_s(l, "{\"ts\":\"");
		put_s(l, tbuf);
		put_s(l, "\"");
	} else {
		put_s(l, "ts=");
		put_s(l, tbuf);
	}
	lg_log_str(l, "level", lg_log_level_names[level]);
	lg_log_str(l, "proc", log_proc);
	lg_log_str(l, "event", event);
	return 1;
}

void lg_log_strn(struct lg_logline *l, const char *key, const char *val, size_t n)
{
	put_pair(l, key, val ? val : "", val ? n : 0);
}

void lg_log_str(struct lg_logline *l, const char *key, const char *val)
{
	lg_log_strn(l, key, val, val ? strlen(val) : 0);
}

void lg_log_int(struct lg_logline *l, const char *key, long long val)
{
	char b[24];

	snprintf(b, sizeof b, "%lld", val);
	if (l->truncated || l->len + strlen(key) + strlen(b) + 4 > sizeof l->buf - 40) {
		l->truncated = 1;   /* the pair is left out whole, never cut */
		return;
	}
	put_key(l, key);
	put_s(l, b);
}

void lg_log_end(struct lg_logline *l)
{
	ssize_t w;

	if (l->truncated) {
		l->truncated = 0;
		put_s(l, log_json ? ",\"truncated\":true" : " truncated=true");
	}
	if (log_json)
		put_s(l, "}");
	put_s(l, "\n");
	/* One write keeps lines from several processes whole. A failed write to
	 * stderr has nowhere to be reported. */
	w = write(STDERR_FILENO, l->buf, l->len);
	(void)w;
}

void lg_log_msg(int level, const char *event, const char *msg)
{
	struct lg_logline l;

	if (!lg_log_begin(&l, level, event))
		return;
	if (msg)
		lg_log_str(&l, "msg", msg);
	lg_log_end(&l);
}
