/* gateway/redis_lws.h - drive a hiredis async context from the
 * libwebsockets loop: its fd is adopted as a raw file descriptor, and
 * hiredis' read/write hooks become POLLIN/POLLOUT requests. */
#ifndef LG_GATEWAY_REDIS_LWS_H
#define LG_GATEWAY_REDIS_LWS_H

#include <hiredis/async.h>
#include <libwebsockets.h>

/* Hooks ac into vh's loop. Returns 0, or -1 (ac untouched, caller frees). */
int lg_redis_lws_attach(struct lws_vhost *vh, redisAsyncContext *ac);

#endif
