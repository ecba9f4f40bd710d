/* HTTP/1.1 response heads as loadgen's clients read them (the WebSocket's
 * 101 and the event stream's 200): the status and one header, looked up
 * case-insensitively inside the bounded head, never past it. */
#define _GNU_SOURCE
#include "lg.h"

#include <string.h>
#include <strings.h>

int lg_http_status(const char *head, size_t len)
{
    /* "HTTP/1.1 200 ..." : the three digits after the version and a space. */
    if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ') return -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9') return -1;
        st = st * 10 + (head[i] - '0');
    }
    return st;
}

const char *lg_http_header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    /* Header lines start after a CRLF; the status line is never a header. */
    for (size_t i = 0; i + 2 + nl < len; i++) {
        if (head[i] != '\r' || head[i + 1] != '\n') continue;
        size_t k = i + 2;
        if (strncasecmp(head + k, name, nl) != 0 || head[k + nl] != ':') continue;
        size_t v = k + nl + 1, ve;
        while (v < len && (head[v] == ' ' || head[v] == '\t')) v++;
        for (ve = v; ve < len && head[ve] != '\r' && head[ve] != '\n'; ve++) {}
        while (ve > v && (head[ve - 1] == ' ' || head[ve - 1] == '\t')) ve--;
        *vlen = ve - v;
        return head + v;
    }
    return NULL;
}
