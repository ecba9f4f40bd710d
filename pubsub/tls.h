/* pubsub/tls.h - TLS for Redis links through OpenSSL: one client context
 * per configuration (CA, client certificate), one SSL per connection with
 * the server certificate and its host name (or IP address) verified and
 * SNI set. TLS 1.2 at least. */
#ifndef LG_PUBSUB_TLS_H
#define LG_PUBSUB_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct ps_tls;

/* Returns a context trusting ca (a PEM file; NULL or "": the system's CAs)
 * and presenting cert/key (PEM files; both or neither), or NULL with a
 * one-line reason in err. Safe to share between threads. */
struct ps_tls *ps_tls_new(const char *ca, const char *cert, const char *key,
                          char *err, size_t errlen);

/* Takes another reference (a subscriber and its links share one). */
struct ps_tls *ps_tls_ref(struct ps_tls *t);
void ps_tls_unref(struct ps_tls *t);

/* Returns an SSL for a client connection on fd to host (a name or an IP
 * literal: both are verified against the certificate), or NULL with err. */
SSL *ps_tls_session(struct ps_tls *t, int fd, const char *host, char *err, size_t errlen);

/* Describes why the last TLS call on ssl failed (verification result
 * first: "certificate verify failed: hostname mismatch"). */
void ps_tls_why(SSL *ssl, char *buf, size_t n);

#endif
