/* common/keys.h - build the token key ring from the configured secret
 * (LIVEGATE_SECRET, LIVEGATE_SECRETS or LIVEGATE_SECRETS_FILE). */
#ifndef LG_COMMON_KEYS_H
#define LG_COMMON_KEYS_H

#include <stddef.h>

#include "config.h"
#include "token.h"

#define LG_SECRETS_FILE_MAX 65536

/* Builds a new ring into *out. Returns 0, or -1 with one line in err that
 * names the variable (and never shows a key). A secrets file that is not a
 * regular file (a FIFO, a directory) is refused without blocking. */
int lg_keys_load(const struct lg_config *cfg, struct lg_keyring **out,
                 char *err, size_t errlen);

/* The SIGHUP path of main and of every worker: builds a new ring and logs
 * the outcome (keys_reloaded, or keys_reload_failed with the reason).
 * Returns the ring for the caller to install, or NULL: the caller then
 * keeps its current keys. */
struct lg_keyring *lg_keys_reload(const struct lg_config *cfg);

#endif
