/* worker/out_queue.c - bounded per-connection frame FIFO. */
#include "out_queue.h"

#include <stdlib.h>
#include <string.h>

static struct lg_outq_ent *at(struct lg_outq *q, size_t i)
{
	return &q->e[(q->head + i) % q->cap];
}

/* Grows the ring to hold at least one more entry, up to limit. Returns 0,
 * or -1 when at the limit or out of memory. */
static int grow(struct lg_outq *q, size_t limit)
{
	size_t ncap = q->cap ? (size_t)q->cap * 2 : 4;
	struct lg_outq_ent *ne;

	if (q->len >= limit)
		return -1;
	if (ncap > limit)
		ncap = limit;
	ne = malloc(ncap * sizeof *ne);
	if (!ne)
		return -1;
	for (size_t i = 0; i < q->len; i++)
		ne[i] = *at(q, i);
	free(q->e);
	q->e = ne;
	q->head = 0;
	q->cap = (uint16_t)ncap;
	return 0;
}

int lg_outq_push(struct lg_outq *q, const void *key, struct lg_frame *f, size_t limit,
                 size_t max_bytes)
{
	if (limit > LG_OUTQ_MAX)
		limit = LG_OUTQ_MAX;
	if (q->len && (q->len >= limit || q->bytes + f->len > max_bytes))
		return LG_OUTQ_FULL;
	if (q->len == q->cap && grow(q, limit ? limit : 1) < 0)
		return -1;
	*at(q, q->len) = (struct lg_outq_ent){ key, lg_frame_ref(f) };
	q->len++;
	q->bytes += f->len;
	return 0;
}

struct lg_frame *lg_outq_pop(struct lg_outq *q)
{
	struct lg_frame *f;

	if (!q->len)
		return NULL;
	f = at(q, 0)->f;
	q->head = (uint16_t)((q->head + 1) % q->cap);
	q->len--;
	q->bytes -= f->len;
	if (!q->len && q->cap > LG_OUTQ_KEEP_CAP) {
		/* a burst grew it; an idle connection goes back to costing nothing */
		free(q->e);
		q->e = NULL;
		q->cap = 0;
		q->head = 0;
	}
	return f;
}

int lg_outq_empty(const struct lg_outq *q)
{
	return q->len == 0;
}

void lg_outq_rekey(struct lg_outq *q, const void *(*map)(const void *key, void *arg),
                   void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < q->len; i++) {
		struct lg_outq_ent ent = *at(q, i);
		ent.key = map(ent.key, arg);
		if (ent.key) {
			*at(q, kept++) = ent;
		} else {
			q->bytes -= ent.f->len;
			lg_frame_unref(ent.f);
		}
	}
	q->len = (uint16_t)kept;
}

void lg_outq_clear(struct lg_outq *q,
                   void (*each)(const void *key, struct lg_frame *f, void *arg), void *arg)
{
	while (q->len) {
		const void *key = at(q, 0)->key;
		struct lg_frame *f = lg_outq_pop(q);
		if (each)
			each(key, f, arg);
		lg_frame_unref(f);
	}
	free(q->e);
	memset(q, 0, sizeof *q);
}
