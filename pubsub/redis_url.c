/* pubsub/redis_url.c - parse redis://[[user]:password@]host[:port][/db]. */
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

int ps_redis_url_parse(const char *url, struct ps_redis_url *out,
                       char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	const char *p, *at, *hostend, *end, *slash, *colon;

	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (strncmp(url, scheme, sizeof scheme - 1) != 0)
		return fail(err, errlen, "must start with redis://");
	p = url + sizeof scheme - 1;
	end = p + strlen(p);
	slash = strchr(p, '/');
	hostend = slash ? slash : end;

	/* userinfo: the last '@' before the path, since passwords may hold '@' */
	at = NULL;
	for (const char *q = p; q < hostend; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *sep = memchr(p, ':', (size_t)(at - p));
		if (!sep)
			return fail(err, errlen, "userinfo must be [user]:password@");
		if (pct_decode(out->user, sizeof out->user, p, (size_t)(sep - p)) < 0)
			return fail(err, errlen, "bad or too long user");
		if (pct_decode(out->password, sizeof out->password, sep + 1,
		               (size_t)(at - sep - 1)) < 0)
			return fail(err, errlen, "bad or too long password");
		p = at + 1;
	}

	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(hostend - p));
		if (!rb || rb - p - 1 <= 0 || (size_t)(rb - p - 1) > PS_REDIS_HOST_MAX)
			return fail(err, errlen, "bad IPv6 host");
		memcpy(out->host, p + 1, (size_t)(rb - p - 1));
		colon = rb + 1 < hostend ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return fail(err, errlen, "junk after IPv6 host");
	} else {
		colon = memchr(p, ':', (size_t)(hostend - p));
		size_t hl = (size_t)((colon ? colon : hostend) - p);
		if (hl == 0)
			return fail(err, errlen, "missing host");
		if (hl > PS_REDIS_HOST_MAX)
			return fail(err, errlen, "host too long");
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '.' && p[i] != '-' && p[i] != '_')
				return fail(err, errlen, "bad character in host");
		memcpy(out->host, p, hl);
	}
	if (colon && parse_int(colon + 1, (size_t)(hostend - colon - 1), 1, 65535, &out->port) < 0)
		return fail(err, errlen, "port must be 1-65535");
	if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, PS_REDIS_DB_MAX, &out->db) < 0)
		return fail(err, errlen, "db must be a number");
	return 0;
}
