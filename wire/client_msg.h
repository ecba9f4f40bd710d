/* wire/client_msg.h - the messages a client sends (contract, "Public
 * endpoint" 1 and 4): {"type":"subscribe","token":"<jwt>"} and
 * {"type":"ping"}. Pure; fuzzed by fuzz/fuzz_client_msg.c. */
#ifndef LG_WIRE_CLIENT_MSG_H
#define LG_WIRE_CLIENT_MSG_H

#include <stddef.h>

enum lg_client_msg_kind { LG_MSG_SUBSCRIBE, LG_MSG_PING, LG_MSG_BAD };

struct lg_client_msg {
	enum lg_client_msg_kind kind;
	const char *token;      /* LG_MSG_SUBSCRIBE: the token, NUL-terminated */
	size_t      token_len;
	const char *error;      /* LG_MSG_BAD: why, for the close reason */
	void       *json;       /* owns token's storage */
};

/* Parses the UTF-8 text p[0..n). Returns m->kind; m must be freed with
 * lg_client_msg_free whatever the result. */
enum lg_client_msg_kind lg_client_msg_parse(const char *p, size_t n, struct lg_client_msg *m);

void lg_client_msg_free(struct lg_client_msg *m);

#endif
