/* worker/catchup.c - last-seen times by channel (see catchup.h). */
#include "catchup.h"

#include <stdlib.h>

struct lg_catchup {
	uint64_t seed;
	int64_t  last_ms[LG_CATCHUP_SLOTS];
};

/* FNV-1a over the name, started from the seed: a name an outsider picks
 * cannot aim at another channel's slot without knowing the seed. */
static size_t slot_of(const struct lg_catchup *t, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	return (size_t)(h & (LG_CATCHUP_SLOTS - 1));
}

struct lg_catchup *lg_catchup_new(uint64_t seed)
{
	struct lg_catchup *t = calloc(1, sizeof *t);

	if (t)
		t->seed = seed;
	return t;
}

void lg_catchup_free(struct lg_catchup *t)
{
	free(t);
}

void lg_catchup_seen(struct lg_catchup *t, const char *name, size_t len, int64_t now_ms)
{
	int64_t *slot = &t->last_ms[slot_of(t, name, len)];

	if (now_ms > *slot)
		*slot = now_ms;
}

int lg_catchup_missed(const struct lg_catchup *t, const char *name, size_t len,
                      int64_t iat_ms, unsigned slack_ms, int64_t covered_since_ms)
{
	int64_t from = iat_ms - (int64_t)slack_ms;

	if (covered_since_ms < 0 || covered_since_ms > from)
		return 1;   /* not watching then: cannot know */
	return t->last_ms[slot_of(t, name, len)] >= from;
}
