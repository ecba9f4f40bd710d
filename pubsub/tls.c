/* pubsub/tls.c - OpenSSL client contexts and sessions for Redis links. */
#include "tls.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

struct ps_tls {
	atomic_int refs;
	SSL_CTX   *ctx;
};

/* Writes OpenSSL's newest queued error after what into err. */
static void ssl_err(char *err, size_t n, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "unknown error");
	snprintf(err, n, "%s: %s", what, buf);
	ERR_clear_error();
}

struct ps_tls *ps_tls_new(const char *ca, const char *cert, const char *key,
                          char *err, size_t errlen)
{
	struct ps_tls *t;
	int has_cert = cert && *cert, has_key = key && *key;

	if (has_cert != has_key) {
		snprintf(err, errlen, "a client certificate needs both a certificate and a key file");
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&t->refs, 1);
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		ssl_err(err, errlen, "TLS context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* Partial writes and a moving buffer: the link's write buffer is
	 * compacted between calls. */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca && *ca) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
			ssl_err(err, errlen, "loading the TLS CA file");
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		ssl_err(err, errlen, "loading the system's CA certificates");
		goto fail;
	}
	if (has_cert) {
		if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
			ssl_err(err, errlen, "loading the TLS client certificate");
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1) {
			ssl_err(err, errlen, "loading the TLS client key");
			goto fail;
		}
		if (SSL_CTX_check_private_key(t->ctx) != 1) {
			ssl_err(err, errlen, "the TLS client key does not match its certificate");
			goto fail;
		}
	}
	return t;
fail:
	ps_tls_unref(t);
	return NULL;
}

struct ps_tls *ps_tls_ref(struct ps_tls *t)
{
	if (t)
		atomic_fetch_add(&t->refs, 1);
	return t;
}

void ps_tls_unref(struct ps_tls *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

static int is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

SSL *ps_tls_session(struct ps_tls *t, int fd, const char *host, char *err, size_t errlen)
{
	SSL *ssl;
	int ok;

	ERR_clear_error();
	ssl = SSL_new(t->ctx);
	if (!ssl) {
		ssl_err(err, errlen, "TLS session");
		return NULL;
	}
	if (is_ip(host)) {
		/* An address is checked against the certificate's IP SANs; SNI
		 * carries names only (RFC 6066). */
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
	} else {
		ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
	}
	if (!ok || SSL_set_fd(ssl, fd) != 1) {
		ssl_err(err, errlen, "TLS session setup");
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

void ps_tls_why(SSL *ssl, char *buf, size_t n)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_error();
	char ebuf[200] = "";

	if (e)
		ERR_error_string_n(e, ebuf, sizeof ebuf);
	ERR_clear_error();
	if (v != X509_V_OK)
		snprintf(buf, n, "certificate verify failed: %s", X509_verify_cert_error_string(v));
	else if (ebuf[0])
		snprintf(buf, n, "%s", ebuf);
	else
		snprintf(buf, n, "TLS handshake failed");
}
