/* common/clock.h - the one monotonic clock every process of livegate reads. */
#ifndef LG_COMMON_CLOCK_H
#define LG_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Returns CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Returns CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t lg_now_ms(void)
{
	return lg_now_ns() / 1000000u;
}

/* Returns the wall clock in milliseconds since the epoch (token times). */
static inline int64_t lg_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
