/* worker/script.h - GET /livegate.js: the browser script, bundled from
 * clients/js at build time and embedded, with an ETag so browsers
 * revalidate with a 304. */
#ifndef LG_WORKER_SCRIPT_H
#define LG_WORKER_SCRIPT_H

#include "frame.h"

/* Builds the responses once. Returns 0, or -1 when out of memory. */
int script_init(void);

/* Returns the response (a shared raw frame): 304 when if_none_match (may be
 * NULL) matches, else 200 with the body unless head. close adds
 * "connection: close". */
struct lg_frame *script_response(int head, const char *if_none_match, size_t inm_len,
                                 int close);

void script_free(void);

#endif
