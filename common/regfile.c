/* common/regfile.c - opening and reading setting files that must be
 * regular, without blocking (see regfile.h). */
#include "regfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lg_regfile_open(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: open(2) of a FIFO without a writer returns at once
	 * instead of waiting; the fstat below then refuses it. On a regular
	 * file the flag changes nothing. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file (%s)", path,
		         S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" :
		         S_ISSOCK(st.st_mode) ? "a socket" : "a device");
		close(fd);
		return -1;
	}
	return fd;
}

int lg_regfile_read(const char *path, size_t max, char **out, size_t *len,
                    char *err, size_t errlen)
{
	int fd = lg_regfile_open(path, err, errlen);
	char *buf;
	size_t got = 0;
	int failed = 0;

	if (fd < 0)
		return -1;
	/* Room for one byte more than allowed: reading it means too big. */
	buf = malloc(max + 2);
	if (!buf) {
		snprintf(err, errlen, "out of memory reading %s", path);
		close(fd);
		return -1;
	}
	/* To end of file, not to the size fstat saw: a file rewritten in place
	 * meanwhile is read whole or refused, never cut. */
	while (got <= max) {
		ssize_t r = read(fd, buf + got, max + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			failed = 1;
			break;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!failed && got > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
		failed = 1;
	}
	if (failed) {
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}
