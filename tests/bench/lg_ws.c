/* WebSocket client codec (RFC 6455) and HS256 token minting for loadgen. */
#define _GNU_SOURCE
#include "lg.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

size_t lg_b64(const unsigned char *in, size_t n, char *out, int url)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char urls[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *t = url ? urls : std;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63];  out[o++] = t[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
        if (i + 1 < n) out[o++] = t[v >> 6 & 63];
        else if (!url) out[o++] = '=';
        if (!url) out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* A per-client key: distinct, deterministic (so the accept can be checked
 * later without storing it), 16 bytes as RFC 6455 requires. */
void lg_ws_key(unsigned idx, char key[32])
{
    unsigned char raw[16];
    uint64_t a = 0x9e3779b97f4a7c15ull * (idx + 1), b = a ^ (a >> 29) ^ 0xbf58476d1ce4e5b9ull;
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    lg_b64(raw, 16, key, 0);
}

/* 1 when the HTTP response head is a 101 whose Sec-WebSocket-Accept matches key. */
int lg_ws_accept_ok(const char *key, const char *resp, size_t len)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char cat[96], want[32];
    unsigned char sha[SHA_DIGEST_LENGTH];
    if (lg_http_status(resp, len) != 101) return 0;
    int n = snprintf(cat, sizeof cat, "%s%s", key, guid);
    SHA1((const unsigned char *)cat, (size_t)n, sha);
    size_t wl = lg_b64(sha, sizeof sha, want, 0), vl;
    const char *v = lg_http_header(resp, len, "sec-websocket-accept", &vl);
    return v && vl == wl && memcmp(v, want, wl) == 0;
}

/* Builds one masked client frame; returns its length or 0 if cap is short. */
size_t lg_ws_frame(unsigned char *out, size_t cap, int opcode, const void *payload, size_t n,
                   uint32_t mask)
{
    size_t h = n < 126 ? 2 : n < 65536 ? 4 : 10;
    if (cap < h + 4 + n) return 0;
    out[0] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        out[1] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        out[1] = 0x80 | 126; out[2] = (unsigned char)(n >> 8); out[3] = (unsigned char)n;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) out[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    }
    unsigned char m[4] = {(unsigned char)(mask >> 24), (unsigned char)(mask >> 16),
                          (unsigned char)(mask >> 8), (unsigned char)mask};
    memcpy(out + h, m, 4);
    const unsigned char *src = payload;
    for (size_t i = 0; i < n; i++) out[h + 4 + i] = src[i] ^ m[i & 3];
    return h + 4 + n;
}

/* Parses one server frame at buf. Returns 1 with the frame's parts, 0 if more
 * bytes are needed, -1 on a frame a server must not send (masked, or longer
 * than the generator accepts). */
int lg_ws_parse(const unsigned char *buf, size_t len, int *opcode, const unsigned char **payload,
                uint64_t *plen, size_t *frame_len)
{
    if (len < 2) return 0;
    if (buf[1] & 0x80) return -1;
    uint64_t n = buf[1] & 0x7f;
    size_t h = 2;
    if (n == 126) {
        if (len < 4) return 0;
        n = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (n == 127) {
        if (len < 10) return 0;
        n = 0;
        for (int i = 0; i < 8; i++) n = n << 8 | buf[2 + i];
        h = 10;
    }
    if (n > LG_RBUF - h) return -1;
    if (len < h + n) return 0;
    *opcode = buf[0] & 0x0f;
    *payload = buf + h;
    *plen = n;
    *frame_len = h + (size_t)n;
    return 1;
}

/* Mints {"alg":"HS256","typ":"JWT"}.{"channels":[...],"iat","exp"} signed
 * with secret, as a backend's JWT library would. channels_fmt is a comma
 * list in which "%u" stands for idx (a client's own channel). */
int lg_jwt_mint(const char *secret, const char *channels_fmt, unsigned idx, long ttl,
                char *out, size_t cap)
{
    char chans[512], claims[700], b64c[1000];
    size_t o = 0;
    const char *p = channels_fmt;
    /* Expand the comma list into a JSON array of strings. */
    o += (size_t)snprintf(chans + o, sizeof chans - o, "[");
    while (*p && o < sizeof chans - 40) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        char one[220];
        if (l >= sizeof one - 12) return -1;
        memcpy(one, p, l);
        one[l] = '\0';
        char exp[240];
        if (strstr(one, "%u")) {
            char *pct = strstr(one, "%u");
            *pct = '\0';
            snprintf(exp, sizeof exp, "%s%u%s", one, idx, pct + 2);
        } else {
            snprintf(exp, sizeof exp, "%s", one);
        }
        o += (size_t)snprintf(chans + o, sizeof chans - o, "%s\"%s\"", o > 1 ? "," : "", exp);
        p = comma ? comma + 1 : p + l;
    }
    if (o >= sizeof chans - 2) return -1;
    chans[o++] = ']';
    chans[o] = '\0';
    long now = (long)time(NULL);
    int cl = snprintf(claims, sizeof claims, "{\"channels\":%s,\"iat\":%ld,\"exp\":%ld}", chans,
                      now, now + ttl);
    if (cl < 0 || (size_t)cl >= sizeof claims) return -1;
    static const char hdr[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; /* {"alg":"HS256","typ":"JWT"} */
    lg_b64((const unsigned char *)claims, (size_t)cl, b64c, 1);
    char signing[1100];
    int sl = snprintf(signing, sizeof signing, "%s.%s", hdr, b64c);
    if (sl < 0 || (size_t)sl >= sizeof signing) return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing,
              (size_t)sl, mac, &ml))
        return -1;
    char sig[64];
    lg_b64(mac, ml, sig, 1);
    int tl = snprintf(out, cap, "%s.%s", signing, sig);
    return (tl < 0 || (size_t)tl >= cap) ? -1 : tl;
}
