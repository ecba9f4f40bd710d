/* common/origins.c - the origin policy: LIVEGATE_ALLOWED_ORIGINS parsed
 * at start, and the check of a handshake's Origin header against it. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Checks one origin: scheme://host[:port], no path, no userinfo. */
static int origin_valid(const char *o, size_t len)
{
	const char *host;

	if (len == 0 || len > LG_ORIGIN_MAX_LEN)
		return 0;
	if (len > 7 && strncmp(o, "http://", 7) == 0)
		host = o + 7;
	else if (len > 8 && strncmp(o, "https://", 8) == 0)
		host = o + 8;
	else
		return 0;
	if (host == o + len)
		return 0;
	for (const char *p = host; p < o + len; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]_", *p))
			return 0;
	return 1;
}

int lg_origins_parse(struct lg_config *c, const char *v, char *e, size_t n)
{
	const char *p = v;

	if (strcmp(v, "*") == 0) {
		c->any_origin = 1;
		return 0;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && isspace((unsigned char)*p)) { p++; len--; }
		while (len && isspace((unsigned char)p[len - 1])) len--;
		if (len == 1 && *p == '*') {
			snprintf(e, n, "'*' must stand alone");
			return -1;
		}
		if (!origin_valid(p, len)) {
			snprintf(e, n, "entry %zu is not an origin like https://app.example[:port]",
			         c->n_origins + 1);
			return -1;
		}
		if (c->n_origins == LG_MAX_ORIGINS) {
			snprintf(e, n, "at most %d origins", LG_MAX_ORIGINS);
			return -1;
		}
		c->origins[c->n_origins] = strndup(p, len);
		if (!c->origins[c->n_origins]) {
			snprintf(e, n, "out of memory");
			return -1;
		}
		for (char *q = c->origins[c->n_origins]; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		c->n_origins++;
		p = end ? end + 1 : p + strlen(p);   /* len left trailing spaces out */
	}
	if (!c->n_origins) {
		snprintf(e, n, "must list at least one origin, or be '*'");
		return -1;
	}
	return 0;
}

int lg_config_origin_allowed(const struct lg_config *cfg, const char *origin,
                             size_t len)
{
	if (cfg->any_origin)
		return 1;
	for (size_t i = 0; i < cfg->n_origins; i++)
		if (strlen(cfg->origins[i]) == len && strncasecmp(cfg->origins[i], origin, len) == 0)
			return 1;
	return 0;
}
