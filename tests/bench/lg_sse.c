/* Event-stream client codec for loadgen (POST /sse, text/event-stream).
 *
 * livegate's stream is a 200 response delimited by the connection's close
 * (no chunked encoding); its events are "data: <frame JSON>" lines ended by
 * a blank line, and ": ping" comments. The parser works on the client's
 * bounded receive buffer in place: an event that does not fit is the
 * caller's to refuse (its buffer is full without a blank line). */
#define _GNU_SOURCE
#include "lg.h"

#include <string.h>
#include <strings.h>

int lg_sse_head_ok(const char *head, size_t len)
{
    size_t n;
    const char *v;
    if (lg_http_status(head, len) != 200) return 0;
    v = lg_http_header(head, len, "content-type", &n);
    if (!v || n < 17 || strncasecmp(v, "text/event-stream", 17) != 0) return 0;
    /* This client reads a close-delimited body only: chunk sizes would be
     * taken for event bytes. */
    return lg_http_header(head, len, "transfer-encoding", &n) == NULL;
}

/* One line at p (up to end): its length without the line break, and the
 * length with it; 0 when the line break has not come yet. */
static int line_at(const unsigned char *p, const unsigned char *end, size_t *l, size_t *with)
{
    const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return 0;
    *with = (size_t)(nl - p) + 1;
    *l = (size_t)(nl - p);
    if (*l && p[*l - 1] == '\r') (*l)--;
    return 1;
}

int lg_sse_parse(unsigned char *buf, size_t len, unsigned char **data, size_t *dlen,
                 size_t *event_len)
{
    const unsigned char *end = buf + len;
    unsigned char *p = buf, *out = buf;
    size_t l, with;
    /* First find the blank line that ends the event: nothing is rewritten
     * while it may still be incomplete. */
    for (;;) {
        if (!line_at(p, end, &l, &with)) return 0;
        p += with;
        if (l == 0) break;
    }
    *event_len = (size_t)(p - buf);
    int any = 0;
    for (p = buf; line_at(p, end, &l, &with) && l; p += with) {
        /* "data:" lines carry the payload (one optional space after the
         * colon); several are joined by "\n". Comments (":") and other
         * fields (event:, id:, retry:) carry nothing this client uses. */
        if (l < 5 || memcmp(p, "data:", 5) != 0) continue;
        size_t skip = (l > 5 && p[5] == ' ') ? 6 : 5;
        if (any) *out++ = '\n';
        /* The joined data is never longer than the lines it comes from, so
         * it is rewritten in place, at or before them. */
        memmove(out, p + skip, l - skip);
        out += l - skip;
        any = 1;
    }
    *data = any ? buf : NULL;
    *dlen = any ? (size_t)(out - buf) : 0;
    return 1;
}
