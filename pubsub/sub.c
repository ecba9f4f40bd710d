/* pubsub/sub.c - the subscriber's common part: parameters and defaults,
 * the TLS context, events to the owner, delivery to the registry, and
 * which mode runs (sub_pattern.c or sub_sharded.c). */
#include "sub_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long ps_sub_pattern(const char *prefix, size_t plen, char *buf, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < plen; i++) {
		if (strchr("*?[]\\", prefix[i]) && prefix[i]) {
			if (o + 1 >= n)
				return -1;
			buf[o++] = '\\';
		}
		if (o + 1 >= n)
			return -1;
		buf[o++] = prefix[i];
	}
	if (o + 2 > n)
		return -1;
	buf[o++] = '*';
	buf[o] = '\0';
	return (long)o;
}

static void defaults(struct ps_sub_params *p)
{
	if (!p->connect_timeout_ms)
		p->connect_timeout_ms = 5000;
	if (!p->idle_ms)
		p->idle_ms = 3000;
	if (!p->dead_ms)
		p->dead_ms = 3000;
	if (!p->backoff_base_ms)
		p->backoff_base_ms = 200;
	if (p->backoff_base_ms < 2)
		p->backoff_base_ms = 2;
	if (!p->backoff_cap_ms)
		p->backoff_cap_ms = 10000;
	if (p->backoff_cap_ms < p->backoff_base_ms)
		p->backoff_cap_ms = p->backoff_base_ms;
	if (!p->cluster_refresh_ms)
		p->cluster_refresh_ms = 30000;
}

static int sharded_mode(const struct ps_sub *s)
{
	return s->url.mode == PS_REDIS_CLUSTER && s->p.to.cluster_pubsub == PS_CLUSTER_SHARDED;
}

struct ps_sub *ps_sub_new(const struct ps_sub_params *p, struct ps_registry *reg,
                          const struct ps_loop *loop, const struct ps_sub_events *ev,
                          void *owner, char *err, size_t errlen)
{
	struct ps_sub *s = calloc(1, sizeof *s);
	const char *prefix = p->to.prefix ? p->to.prefix : "";
	size_t cap;

	if (!s)
		goto oom;
	s->p = *p;
	defaults(&s->p);
	s->url = *p->to.url;
	s->p.to.url = &s->url;
	s->reg = reg;
	s->loop = *loop;
	s->ev = *ev;
	s->owner = owner;
	s->prefix_len = strlen(prefix);
	s->prefix = strdup(prefix);
	cap = 2 * s->prefix_len + 2;
	s->pattern = malloc(cap);
	if (!s->prefix || !s->pattern)
		goto oom;
	s->p.to.prefix = s->prefix;
	s->pattern_len = (size_t)ps_sub_pattern(s->prefix, s->prefix_len, s->pattern, cap);
	if (s->url.tls) {
		s->tls = ps_tls_new(p->to.tls_ca, p->to.tls_cert, p->to.tls_key, err, errlen);
		if (!s->tls)
			goto fail;
	}
	if (sharded_mode(s)) {
		s->sh = sharded_new(s);
		if (!s->sh)
			goto oom;
		ps_registry_set_backend(reg, &sharded_backend, s->sh);
	} else {
		s->plink = plink_new(s);
		if (!s->plink)
			goto oom;
		ps_registry_set_backend(reg, &plink_backend, s->plink);
	}
	return s;
oom:
	snprintf(err, errlen, "out of memory creating the Redis subscriber");
fail:
	if (s) {
		ps_tls_unref(s->tls);
		free(s->prefix);
		free(s->pattern);
		free(s);
	}
	return NULL;
}

void ps_sub_start(struct ps_sub *s)
{
	if (s->started)
		return;
	s->started = 1;
	if (s->sh)
		sharded_start(s->sh);
	else
		plink_start(s->plink);
}

int ps_sub_ready(const struct ps_sub *s)
{
	return s->sh ? sharded_ready(s->sh) : plink_ready(s->plink);
}

int64_t ps_sub_covered_since(const struct ps_sub *s, const char *name, size_t len)
{
	return s->sh ? sharded_covered_since(s->sh, name, len) : plink_covered_since(s->plink);
}

void ps_sub_stats(const struct ps_sub *s, struct ps_sub_stats *out)
{
	*out = s->stats;
}

void ps_sub_free(struct ps_sub *s)
{
	if (!s)
		return;
	ps_registry_set_backend(s->reg, NULL, NULL);
	if (s->sh)
		sharded_free(s->sh);
	else
		plink_free(s->plink);
	ps_tls_unref(s->tls);
	free(s->prefix);
	free(s->pattern);
	free(s);
}

/* --- for the modes ------------------------------------------------------------- */

void sub_conn_params(const struct ps_sub *s, enum ps_link_role role, const char *host,
                     int port, struct ps_conn_params *cp)
{
	memset(cp, 0, sizeof *cp);
	cp->host = host;
	cp->port = port;
	cp->user = s->url.user;
	cp->password = s->url.password;
	/* Pub/sub ignores the database, but a URL's /db is honoured on the
	 * data link so that an ACL or a proxy sees what the user wrote. */
	cp->db = role == PS_ROLE_DATA && s->url.mode != PS_REDIS_CLUSTER ? s->url.db : 0;
	cp->tls = s->tls;
	cp->auth_optional = role == PS_ROLE_SENTINEL;
	cp->connect_timeout_ms = s->p.connect_timeout_ms;
	cp->idle_ms = s->p.idle_ms;
	cp->dead_ms = s->p.dead_ms;
	ps_conn_defaults(cp);
}

void sub_link_event(struct ps_sub *s, enum ps_link_state st, enum ps_link_role role,
                    const char *addr, enum ps_conn_fail cause, const char *detail,
                    unsigned retry_ms)
{
	struct ps_link_event e = { st, role, addr, cause, detail ? detail : "", retry_ms };

	if (role == PS_ROLE_DATA) {
		if (st == PS_LINK_DOWN)
			s->stats.link_downs++;
	}
	if (s->ev.link)
		s->ev.link(s->owner, &e);
}

void sub_update_ready(struct ps_sub *s)
{
	int r = ps_sub_ready(s);

	if (r == s->ready)
		return;
	s->ready = r;
	if (s->ev.ready)
		s->ev.ready(s->owner, r);
}

unsigned sub_backoff(const struct ps_sub *s, unsigned *attempts)
{
	unsigned d = s->p.backoff_base_ms;

	for (unsigned i = 0; i < *attempts && d < s->p.backoff_cap_ms; i++)
		d *= 2;
	if (d > s->p.backoff_cap_ms)
		d = s->p.backoff_cap_ms;
	if (*attempts < 32)
		(*attempts)++;
	return d / 2 + (unsigned)(random() % (d / 2 + 1));
}

void sub_deliver(struct ps_sub *s, const char *chan, size_t len, const char *payload,
                 size_t plen)
{
	const char *name;
	size_t nlen;

	if (len <= s->prefix_len || memcmp(chan, s->prefix, s->prefix_len) != 0)
		return;
	name = chan + s->prefix_len;
	nlen = len - s->prefix_len;
	s->stats.messages++;
	/* The last-publish record first: a check that runs from inside the
	 * delivery must already see this message. */
	if (s->ev.observe)
		s->ev.observe(s->owner, name, nlen);
	ps_registry_message(s->reg, name, nlen, payload, plen);
}
