/* common/regfile.h - files given by a setting (the secrets file, Redis TLS
 * certificates) opened and read without ever blocking on one that is not a
 * regular file: a FIFO put in a secret's place would otherwise hang open(2)
 * until a writer appears, and with it main's signal handling or a worker's
 * event loop. */
#ifndef LG_COMMON_REGFILE_H
#define LG_COMMON_REGFILE_H

#include <stddef.h>

/* Opens path read-only and non-blocking; returns the fd if it is a regular
 * file, else -1 with a reason in err ("<path>: ..."). */
int lg_regfile_open(const char *path, char *err, size_t errlen);

/* Reads the regular file path to its end, at most max bytes, into a
 * malloc'd NUL-terminated buffer (*out, *len; the caller wipes and frees
 * it). A larger file is refused, never cut. Returns 0, or -1 with a reason
 * in err. */
int lg_regfile_read(const char *path, size_t max, char **out, size_t *len,
                    char *err, size_t errlen);

#endif
