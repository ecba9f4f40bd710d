/* auth/keyring_int.h - (internal) read access to a key ring for token.c. */
#ifndef LG_AUTH_KEYRING_INT_H
#define LG_AUTH_KEYRING_INT_H

#include <stddef.h>

#include "token.h"

struct lg_key {
	unsigned char *key;                /* malloc'd, wiped on free        */
	size_t         key_len;
	int            has_kid;            /* 0: key added with kid == NULL  */
	size_t         kid_len;
	char           kid[LG_KID_MAX_LEN + 1];
};

/* Returns key i (0 signs), or NULL when i >= lg_keyring_count(kr). */
const struct lg_key *lg_keyring_key_at(const struct lg_keyring *kr, size_t i);

/* Returns the key whose id is kid[0..kid_len), or NULL. */
const struct lg_key *lg_keyring_find(const struct lg_keyring *kr,
                                     const char *kid, size_t kid_len);

#endif
