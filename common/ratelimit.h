/* common/ratelimit.h - at most `burst` log lines per window: what an
 * unauthenticated peer can make livegate write is bounded, and the lines
 * held back are counted in the next one that goes out. Single-threaded. */
#ifndef LG_COMMON_RATELIMIT_H
#define LG_COMMON_RATELIMIT_H

#include <stdint.h>

struct lg_ratelimit {
	uint64_t window_start_ms;
	unsigned used;
	unsigned suppressed;   /* held back since the last line that went out */
};

/* Returns 1 if a line may go out at now_ms (burst per window_ms), with the
 * count of lines held back before it in *held (then reset); 0 when this
 * one is held back too. */
static inline int lg_ratelimit_ok(struct lg_ratelimit *r, uint64_t now_ms, unsigned burst,
                                  unsigned window_ms, unsigned *held)
{
	if (now_ms - r->window_start_ms >= window_ms) {
		r->window_start_ms = now_ms;
		r->used = 0;
	}
	if (r->used >= burst) {
		r->suppressed++;
		return 0;
	}
	r->used++;
	*held = r->suppressed;
	r->suppressed = 0;
	return 1;
}

#endif
