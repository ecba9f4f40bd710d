/* auth/hs256.c - HMAC-SHA-256 over OpenSSL. See hs256.h. */
#include "hs256.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int lg_hs256(const unsigned char *key, size_t key_len,
             const unsigned char *msg, size_t msg_len,
             unsigned char mac[LG_HS256_LEN])
{
	unsigned int mac_len = 0;

	if (!key || !mac || (msg_len && !msg) || key_len > INT_MAX)
		return -1;
	/* HMAC() rejects a NULL data pointer even for zero bytes. */
	if (!msg)
		msg = (const unsigned char *)"";
	if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, mac, &mac_len))
		return -1;
	return mac_len == LG_HS256_LEN ? 0 : -1;
}

int lg_hs256_check(const unsigned char *key, size_t key_len,
                   const unsigned char *msg, size_t msg_len,
                   const unsigned char *sig, size_t sig_len)
{
	unsigned char mac[LG_HS256_LEN];
	int ok;

	/* The length of a signature is public: only its bytes need a
	 * constant-time compare. */
	if (!sig || sig_len != LG_HS256_LEN)
		return 0;
	if (lg_hs256(key, key_len, msg, msg_len, mac) != 0)
		return 0;
	ok = CRYPTO_memcmp(mac, sig, LG_HS256_LEN) == 0;
	/* The expected MAC is a valid signature for this message: do not
	 * leave it on the stack. */
	OPENSSL_cleanse(mac, sizeof mac);
	return ok;
}
