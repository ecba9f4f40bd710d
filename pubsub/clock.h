/* pubsub/clock.h - the two clocks the Redis links read: monotonic for
 * timeouts and liveness, wall-clock for coverage times that are compared
 * with a token's iat. */
#ifndef LG_PUBSUB_CLOCK_H
#define LG_PUBSUB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t ps_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t ps_mono_ms(void) { return ps_clock_ms(CLOCK_MONOTONIC); }
static inline int64_t ps_wall_ms(void) { return ps_clock_ms(CLOCK_REALTIME); }

#endif
