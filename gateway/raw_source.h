/* gateway/raw_source.h - file descriptors other than HTTP/WebSocket sockets
 * that the worker adopts into the libwebsockets loop (the listener, the
 * Redis connection, the signalfd). Each adopted wsi's opaque user data
 * points at a struct starting with one of these, so one raw protocol
 * callback can dispatch by kind. */
#ifndef LG_GATEWAY_RAW_SOURCE_H
#define LG_GATEWAY_RAW_SOURCE_H

#include <libwebsockets.h>

#define LG_RAW_PROTOCOL "lg-raw"

struct lg_raw_source {
	/* Returns 0 to keep the wsi, -1 to close it. reason is one of
	 * LWS_CALLBACK_RAW_RX_FILE, _RAW_WRITEABLE_FILE, _RAW_CLOSE_FILE. */
	int (*handle)(struct lg_raw_source *src, struct lws *wsi, int reason);
};

/* The callback of the LG_RAW_PROTOCOL protocol. */
int lg_raw_callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len);

#endif
