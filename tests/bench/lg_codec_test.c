/* Checks of loadgen's client codecs (lg_http.c, lg_sse.c, the WebSocket
 * accept): run.sh builds and runs it before any measurement, so a client
 * that misreads the server cannot produce figures. Exits non-zero on the
 * first failed check, naming it. */
#define _GNU_SOURCE
#include "lg.h"

#include <stdio.h>
#include <string.h>

static int failed;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "lg_codec_test: FAILED: %s\n", what);
        failed = 1;
    }
}

/* Feeds s to the event parser one prefix at a time, as recv() may deliver
 * it: no prefix short of an event's blank line yields it or changes the
 * bytes; the whole yields want (NULL: a comment-only event). */
static void event_case(const char *s, const char *want, const char *what)
{
    unsigned char buf[LG_RBUF], copy[LG_RBUF];
    size_t n = strlen(s), dl, el;
    unsigned char *d;
    memcpy(buf, s, n);
    for (size_t k = 0; k < n; k++) {
        memcpy(copy, buf, n);
        int r = lg_sse_parse(buf, k, &d, &dl, &el);
        check(r == 0 && memcmp(copy, buf, n) == 0, what);
    }
    int r = lg_sse_parse(buf, n, &d, &dl, &el);
    check(r == 1 && el == n, what);
    if (want) check(d && dl == strlen(want) && memcmp(d, want, dl) == 0, what);
    else check(r == 1 && !d && dl == 0, what);
}

static void events(void)
{
    event_case("data: {\"type\":\"subscribed\"}\n\n", "{\"type\":\"subscribed\"}", "one data line");
    event_case(": ping\n\n", NULL, "a comment is an event without data");
    event_case("data:x\n\n", "x", "no space after the colon");
    event_case("data: a\ndata: b\n\n", "a\nb", "data lines are joined by a newline");
    event_case("event: m\nid: 7\ndata: a\r\n\r\n", "a", "other fields and CRLF line breaks");
    event_case("data: \n\n", "", "empty data");

    /* Two events in one read: the first, then the rest from its end. */
    unsigned char buf[64];
    const char *two = "data: 1\n\n: ping\n\ndata: 2\n\n";
    size_t n = strlen(two), off = 0, dl, el;
    unsigned char *d;
    memcpy(buf, two, n);
    const char *want[] = {"1", NULL, "2"};
    for (int i = 0; i < 3; i++) {
        int r = lg_sse_parse(buf + off, n - off, &d, &dl, &el);
        check(r == 1, "three events in one buffer");
        if (r != 1) return;
        if (want[i]) check(d && dl == 1 && *d == *want[i], "three events: data");
        else check(!d, "three events: the comment");
        off += el;
    }
    check(off == n && lg_sse_parse(buf + off, 0, &d, &dl, &el) == 0, "nothing after the last");

    /* The bound: an event that fills the client's whole buffer without its
     * blank line is incomplete; the client refuses it (on_readable). */
    unsigned char big[LG_RBUF];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    big[sizeof big - 1] = '\n';
    check(lg_sse_parse(big, sizeof big, &d, &dl, &el) == 0, "an event over the buffer never completes");
}

static void heads(void)
{
    const char *ok = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     "cache-control: no-store\r\nconnection: close\r\n\r\n";
    check(lg_sse_head_ok(ok, strlen(ok)), "a 200 event stream");
    const char *mixed = "HTTP/1.1 200 OK\r\nContent-Type:Text/Event-Stream; charset=utf-8\r\n\r\n";
    check(lg_sse_head_ok(mixed, strlen(mixed)), "header names and values in any case");
    const char *refused = "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"
                          "content-length: 10\r\n\r\n";
    check(!lg_sse_head_ok(refused, strlen(refused)), "a 401 is a refusal");
    const char *busy = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/event-stream\r\n\r\n";
    check(!lg_sse_head_ok(busy, strlen(busy)), "a 503 is a refusal");
    const char *chunked = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                          "transfer-encoding: chunked\r\n\r\n";
    check(!lg_sse_head_ok(chunked, strlen(chunked)), "a chunked stream is not read as events");
    const char *plain = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n";
    check(!lg_sse_head_ok(plain, strlen(plain)), "a 200 that is not an event stream");
    check(lg_http_status("HTTP/1.1 20", 11) == -1, "a status line cut short");

    /* A header is looked up inside the head only, never in the status line. */
    size_t vl;
    const char *h = "HTTP/1.1 200 content-type: no\r\nx-a: 1\r\n\r\n";
    check(!lg_http_header(h, strlen(h), "content-type", &vl), "the status line is no header");
    const char *v = lg_http_header(h, strlen(h), "X-A", &vl);
    check(v && vl == 1 && *v == '1', "a header's value");
    check(!lg_http_header(h, 12, "x-a", &vl), "no header past the given length");

    /* The WebSocket accept of RFC 6455's example key. */
    const char *ws = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    check(lg_ws_accept_ok("dGhlIHNhbXBsZSBub25jZQ==", ws, strlen(ws)), "RFC 6455's accept");
    check(!lg_ws_accept_ok("AAAAAAAAAAAAAAAAAAAAAA==", ws, strlen(ws)), "a wrong accept");
}

int main(void)
{
    events();
    heads();
    if (!failed) printf("lg_codec_test: all checks passed\n");
    return failed;
}
