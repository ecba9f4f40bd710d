/* common/keys.c - the key ring from configuration, at start and on SIGHUP
 * (shared by main and the workers). */
#include "keys.h"
#include "log.h"
#include "regfile.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lg_keys_load(const struct lg_config *cfg, struct lg_keyring **out,
                 char *err, size_t errlen)
{
	struct lg_keyring *kr = lg_keyring_new();
	char why[300];
	const char *var;
	int rc;

	if (!kr) {
		snprintf(err, errlen, "LIVEGATE_SECRET: out of memory");
		return -1;
	}
	why[0] = '\0';
	if (cfg->secret) {
		var = "LIVEGATE_SECRET";
		rc = lg_keyring_add(kr, NULL, (const unsigned char *)cfg->secret,
		                    strlen(cfg->secret), why, sizeof why);
	} else if (cfg->secrets) {
		var = "LIVEGATE_SECRETS";
		rc = lg_keyring_parse_list(kr, cfg->secrets, why, sizeof why);
	} else {
		char *text = NULL;
		size_t len = 0;
		var = "LIVEGATE_SECRETS_FILE";
		rc = lg_regfile_read(cfg->secrets_file, LG_SECRETS_FILE_MAX, &text, &len,
		                     why, sizeof why);
		if (rc == 0) {
			rc = lg_keyring_parse_file_text(kr, text, len, why, sizeof why);
			/* The file held keys; a plain memset before free may be
			 * optimised away. */
			OPENSSL_cleanse(text, len);
			free(text);
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", var, why);
		lg_keyring_free(kr);
		return -1;
	}
	*out = kr;
	return 0;
}

struct lg_keyring *lg_keys_reload(const struct lg_config *cfg)
{
	struct lg_keyring *kr;
	char err[400];

	if (lg_keys_load(cfg, &kr, err, sizeof err) < 0) {
		lg_log_msg(LG_LOG_ERROR, "keys_reload_failed", err);
		return NULL;
	}
	lg_log_msg(LG_LOG_INFO, "keys_reloaded", NULL);
	return kr;
}
