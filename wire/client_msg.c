/* wire/client_msg.c - parse a client's message (client_msg.h). */
#include "client_msg.h"

#include <jansson.h>
#include <string.h>

static enum lg_client_msg_kind bad(struct lg_client_msg *m, const char *why)
{
	m->kind = LG_MSG_BAD;
	m->error = why;
	return m->kind;
}

enum lg_client_msg_kind lg_client_msg_parse(const char *p, size_t n, struct lg_client_msg *m)
{
	json_error_t err;
	json_t *msg, *tok;
	const char *type;

	memset(m, 0, sizeof *m);
	/* Duplicate names are refused: {"type":"ping","type":"subscribe"} must
	 * not mean one thing here and another to a proxy that inspects it. */
	msg = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
	m->json = msg;
	if (!json_is_object(msg))
		return bad(m, "not a JSON object");
	type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		return bad(m, "no type");
	if (strcmp(type, "ping") == 0) {
		m->kind = LG_MSG_PING;
		return m->kind;
	}
	if (strcmp(type, "subscribe") != 0)
		return bad(m, "unknown type");
	tok = json_object_get(msg, "token");
	if (!json_is_string(tok))
		return bad(m, "subscribe without token");
	m->kind = LG_MSG_SUBSCRIBE;
	m->token = json_string_value(tok);
	m->token_len = json_string_length(tok);
	return m->kind;
}

void lg_client_msg_free(struct lg_client_msg *m)
{
	json_decref(m->json);
	m->json = NULL;
	m->token = NULL;
}
