/* pubsub/sub_sharded.c - sharded cluster pub/sub (SSUBSCRIBE per channel on
 * the slot's master). Not built yet: creation refuses, so that a cluster
 * URL fails the start with a clear reason instead of running half-done. */
#include "sub_int.h"

#include <stddef.h>

struct sharded *sharded_new(struct ps_sub *s)
{
	(void)s;
	return NULL;
}

void sharded_start(struct sharded *sh) { (void)sh; }
int sharded_ready(const struct sharded *sh) { (void)sh; return 0; }
int64_t sharded_covered_since(const struct sharded *sh, const char *name, size_t len)
{
	(void)sh; (void)name; (void)len;
	return -1;
}
void sharded_free(struct sharded *sh) { (void)sh; }

static int be_sub(void *be, const char *n, size_t l) { (void)be; (void)n; (void)l; return -1; }
const struct ps_backend_ops sharded_backend = { be_sub, be_sub };
