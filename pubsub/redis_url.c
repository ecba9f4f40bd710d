/* pubsub/redis_url.c - parse the Redis URL forms of redis_url.h. */
#include "redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* Copies src[0..len) into dst (capacity cap including NUL), decoding %XX.
 * Returns 0, or -1 on a bad escape, an encoded NUL or overflow. */
static int pct_decode(char *dst, size_t cap, const char *src, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

/* Parses a decimal in s[0..len) within [lo, hi]. Returns 0 or -1. */
static int parse_int(const char *s, size_t len, long lo, long hi, int *out)
{
	long v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

static const struct {
	const char        *prefix;
	enum ps_redis_mode mode;
	int                tls;
	int                port;
} schemes[] = {
	{ "redis://", PS_REDIS_SINGLE, 0, 6379 },
	{ "rediss://", PS_REDIS_SINGLE, 1, 6379 },
	{ "redis+sentinel://", PS_REDIS_SENTINEL, 0, 26379 },
	{ "rediss+sentinel://", PS_REDIS_SENTINEL, 1, 26379 },
	{ "redis+cluster://", PS_REDIS_CLUSTER, 0, 6379 },
	{ "rediss+cluster://", PS_REDIS_CLUSTER, 1, 6379 },
};

/* Parses one host[:port] of s[0..len) into h. Returns NULL or a reason. */
static const char *parse_host(const char *s, size_t len, int defport, struct ps_redis_host *h)
{
	const char *colon;

	h->port = defport;
	if (len && *s == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb || rb - s - 1 <= 0 || (size_t)(rb - s - 1) > PS_REDIS_HOST_MAX)
			return "bad IPv6 host (write it as [addr]:port)";
		for (const char *q = s + 1; q < rb; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return "bad IPv6 host (write it as [addr]:port)";
		memcpy(h->host, s + 1, (size_t)(rb - s - 1));
		h->host[rb - s - 1] = '\0';
		colon = rb + 1 < s + len ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return "junk after an IPv6 host";
	} else {
		size_t hl;
		colon = memchr(s, ':', len);
		if (colon && memchr(colon + 1, ':', (size_t)(s + len - colon - 1)))
			return "an IPv6 address needs brackets: [addr]:port";
		hl = (size_t)((colon ? colon : s + len) - s);
		if (hl == 0)
			return "missing host";
		if (hl > PS_REDIS_HOST_MAX)
			return "host too long";
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
				return "bad character in host (an IPv6 address needs brackets)";
		memcpy(h->host, s, hl);
		h->host[hl] = '\0';
	}
	if (colon && parse_int(colon + 1, (size_t)(s + len - colon - 1), 1, 65535, &h->port) < 0)
		return "port must be 1-65535";
	return NULL;
}

/* Parses the comma-separated host list of s[0..len). */
static const char *parse_hosts(const char *s, size_t len, int defport, struct ps_redis_url *u)
{
	const char *end = s + len;

	if (len == 0)
		return "missing host";
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s)), *why;
		const char *stop = comma ? comma : end;

		if (u->nhosts == PS_REDIS_HOSTS_MAX)
			return "too many hosts (at most 16)";
		why = parse_host(s, (size_t)(stop - s), defport, &u->hosts[u->nhosts]);
		if (why)
			return why;
		u->nhosts++;
		if (!comma)
			break;
		s = comma + 1;
	}
	return NULL;
}

/* Parses the path: [/db] for one server, /<master>[/db] for sentinel,
 * nothing (or "/", "/0") for cluster. */
static const char *parse_path(const char *path, struct ps_redis_url *u)
{
	const char *name, *slash;

	if (u->mode != PS_REDIS_SENTINEL) {
		if (!*path || !path[1])
			return NULL;
		if (parse_int(path + 1, strlen(path + 1), 0, PS_REDIS_DB_MAX, &u->db) < 0)
			return "db must be a number";
		if (u->mode == PS_REDIS_CLUSTER && u->db != 0)
			return "a cluster has only db 0";
		return NULL;
	}
	if (!*path || !path[1])
		return "sentinel URL needs the master name: redis+sentinel://host:port/<master>";
	name = path + 1;
	slash = strchr(name, '/');
	if (pct_decode(u->master, sizeof u->master, name,
	               slash ? (size_t)(slash - name) : strlen(name)) < 0 || !u->master[0])
		return "bad or too long master name";
	if (slash && slash[1] &&
	    parse_int(slash + 1, strlen(slash + 1), 0, PS_REDIS_DB_MAX, &u->db) < 0)
		return "db must be a number";
	return NULL;
}

int ps_redis_url_parse(const char *url, struct ps_redis_url *out,
                       char *err, size_t errlen)
{
	const char *p = NULL, *at, *slash, *why;
	int defport = 6379;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		if (strncmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0) {
			p = url + strlen(schemes[i].prefix);
			out->mode = schemes[i].mode;
			out->tls = schemes[i].tls;
			defport = schemes[i].port;
			break;
		}
	}
	if (!p)
		return fail(err, errlen, "must start with redis://, rediss://, redis+sentinel:// "
		            "or redis+cluster://");
	if (strpbrk(p, "?#"))
		return fail(err, errlen, "query strings and fragments are not supported");

	/* userinfo: up to the last '@', so passwords may hold '@' and '/' */
	at = strrchr(p, '@');
	if (at) {
		const char *sep = memchr(p, ':', (size_t)(at - p));
		if (!sep)
			return fail(err, errlen, "userinfo must be [user]:password@");
		if (pct_decode(out->user, sizeof out->user, p, (size_t)(sep - p)) < 0)
			return fail(err, errlen, "bad or too long user");
		if (pct_decode(out->password, sizeof out->password, sep + 1,
		               (size_t)(at - sep - 1)) < 0)
			return fail(err, errlen, "bad or too long password (write % as %25)");
		p = at + 1;
	}
	slash = strchr(p, '/');
	why = parse_hosts(p, slash ? (size_t)(slash - p) : strlen(p), defport, out);
	if (!why && out->mode == PS_REDIS_SINGLE && out->nhosts > 1)
		why = "several hosts need redis+sentinel:// or redis+cluster://";
	if (!why)
		why = parse_path(slash ? slash : "", out);
	if (why) {
		memset(out, 0, sizeof *out);   /* leave no half-parsed password */
		return fail(err, errlen, why);
	}
	memcpy(out->host, out->hosts[0].host, sizeof out->host);
	out->port = out->hosts[0].port;
	return 0;
}

const char *ps_redis_hostport(const char *host, int port, char *buf, size_t n)
{
	snprintf(buf, n, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	return buf;
}
