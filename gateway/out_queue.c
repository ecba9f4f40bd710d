/* gateway/out_queue.c - bounded per-connection frame FIFO with collapse. */
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

/* Removes entry i (0 = oldest), dropping its frame, keeping the order. */
static void remove_at(struct lg_outq *q, size_t i)
{
	q->bytes -= at(q, i)->f->len;
	lg_frame_unref(at(q, i)->f);
	for (; i + 1 < q->len; i++)
		*at(q, i) = *at(q, i + 1);
	q->len--;
}

/* Drops the oldest entry of key, else the oldest of all. */
static void collapse_one(struct lg_outq *q, const void *key)
{
	size_t victim = 0;

	for (size_t i = 0; i < q->len; i++)
		if (at(q, i)->key == key) {
			victim = i;
			break;
		}
	remove_at(q, victim);
}

int lg_outq_push(struct lg_outq *q, const void *key, struct lg_frame *f, size_t limit,
                 size_t max_bytes)
{
	int dropped = 0;

	if (limit > LG_OUTQ_MAX)
		limit = LG_OUTQ_MAX;
	if (limit == 0)
		return -1;
	while (q->len && q->bytes + f->len > max_bytes) {
		collapse_one(q, key);
		dropped++;
	}
	if (q->len == q->cap && grow(q, limit) < 0) {
		if (q->len == 0)
			return -1;   /* out of memory with nothing to give back */
		collapse_one(q, key);
		dropped++;
	}
	*at(q, q->len) = (struct lg_outq_ent){ key, lg_frame_ref(f) };
	q->len++;
	q->bytes += f->len;
	return dropped;
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

void lg_outq_clear(struct lg_outq *q)
{
	while (q->len)
		lg_frame_unref(lg_outq_pop(q));
	free(q->e);
	memset(q, 0, sizeof *q);
}
