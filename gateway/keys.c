/* gateway/keys.c - the key ring from configuration. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the whole file (at most LG_SECRETS_FILE_MAX bytes) into a malloc'd
 * buffer. Returns 0, or -1 with err set. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat stb;
	char *buf;
	size_t got = 0;

	if (fd < 0) {
		snprintf(err, n, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &stb) < 0 || !S_ISREG(stb.st_mode) || stb.st_size > LG_SECRETS_FILE_MAX) {
		snprintf(err, n, "%s must be a regular file of at most %d bytes", path,
		         LG_SECRETS_FILE_MAX);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)stb.st_size + 1);
	if (!buf) {
		snprintf(err, n, "out of memory");
		close(fd);
		return -1;
	}
	while (got < (size_t)stb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)stb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, n, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int lg_keys_load(const struct lg_config *cfg, struct lg_keyring **out,
                 char *err, size_t errlen)
{
	struct lg_keyring *kr = lg_keyring_new();
	char why[200];
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
		rc = read_file(cfg->secrets_file, &text, &len, why, sizeof why);
		if (rc == 0) {
			rc = lg_keyring_parse_file_text(kr, text, len, why, sizeof why);
			memset(text, 0, len);   /* the file held keys */
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
