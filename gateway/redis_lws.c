/* gateway/redis_lws.c - hiredis async on the libwebsockets loop.
 *
 * Ownership: lws owns the fd once adopted. When hiredis frees its context it
 * calls cleanup, where we hide the fd from hiredis (fd = -1, so redisFree
 * does not close it) and ask lws to close the wsi. When lws closes the wsi
 * first (hang-up, context destroy), we free the hiredis context, which
 * reports the loss through its disconnect callback. `ac` is NULL once the
 * hiredis side is gone, `wsi` NULL once the lws side is gone; whichever goes
 * second frees the adapter.
 */
#include "redis_lws.h"
#include "raw_source.h"

#include <stdlib.h>

struct redis_lws {
	struct lg_raw_source src;   /* first: raw dispatch */
	redisAsyncContext   *ac;
	struct lws          *wsi;
};

static void on_add_read(void *p)
{
	struct redis_lws *r = p;
	if (r->wsi)
		lws_rx_flow_control(r->wsi, 1);
}

static void on_del_read(void *p)
{
	(void)p;   /* hiredis 0.14 never stops reading; nothing to undo */
}

static void on_add_write(void *p)
{
	struct redis_lws *r = p;
	if (r->wsi)
		lws_callback_on_writable(r->wsi);
}

static void on_del_write(void *p)
{
	(void)p;   /* the raw-file role drops POLLOUT after each writeable */
}

static void on_cleanup(void *p)
{
	struct redis_lws *r = p;

	r->ac->c.fd = -1;
	r->ac = NULL;
	if (r->wsi)
		lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	else
		free(r);
}

static int handle(struct lg_raw_source *src, struct lws *wsi, int reason)
{
	struct redis_lws *r = (struct redis_lws *)src;

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (!r->ac)
			return -1;
		redisAsyncHandleRead(r->ac);
		return r->ac ? 0 : -1;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (!r->ac)
			return -1;
		redisAsyncHandleWrite(r->ac);
		return r->ac ? 0 : -1;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		lws_set_opaque_user_data(wsi, NULL);
		r->wsi = NULL;
		if (r->ac) {
			redisAsyncContext *ac = r->ac;
			ac->c.fd = -1;       /* lws has closed it */
			redisAsyncFree(ac);  /* -> on_cleanup frees r */
		} else {
			free(r);
		}
		return 0;
	}
	return 0;
}

int lg_redis_lws_attach(struct lws_vhost *vh, redisAsyncContext *ac)
{
	struct redis_lws *r = calloc(1, sizeof *r);
	lws_sock_file_fd_type fd;

	if (!r)
		return -1;
	r->src.handle = handle;
	r->ac = ac;
	fd.filefd = ac->c.fd;
	r->wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd,
	                                    LG_RAW_PROTOCOL, NULL);
	if (!r->wsi) {
		free(r);
		return -1;
	}
	lws_set_opaque_user_data(r->wsi, r);
	ac->ev.data = r;
	ac->ev.addRead = on_add_read;
	ac->ev.delRead = on_del_read;
	ac->ev.addWrite = on_add_write;
	ac->ev.delWrite = on_del_write;
	ac->ev.cleanup = on_cleanup;
	/* hiredis arms writing only with its first command; the connect must
	 * complete anyway, so ask for POLLOUT now. */
	lws_callback_on_writable(r->wsi);
	return 0;
}
