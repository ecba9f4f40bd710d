/* tests/unit/test_keys.c - unit tests of common/keys: the key ring built
 * from whichever secret setting is set (LIVEGATE_SECRET, LIVEGATE_SECRETS,
 * LIVEGATE_SECRETS_FILE), errors that name the variable and never show a
 * key, secrets files that are not regular files refused without blocking,
 * the file size limit, and the SIGHUP reload's log lines. */
#include <check.h>
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"

#define MARK  "SeCrEt"
#define KEY32 MARK "-0123456789abcdef012345678"   /* 32 bytes */

static char dir[] = "/tmp/livegate-test-keys-XXXXXX";
static char path[64];

static void make_dir(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/keys", dir);
}

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void write_file(const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static void write_str(const char *text)
{
	write_file(text, strlen(text));
}

/* Loads with one secret setting; returns the rc, the ring's key count in
 * *count (0 on failure) and the error in err. */
static int load(const char *secret, const char *secrets, const char *file, size_t *count,
                char *err, size_t errlen)
{
	struct lg_config cfg;
	struct lg_keyring *kr = NULL;
	int rc;

	memset(&cfg, 0, sizeof cfg);
	cfg.secret = (char *)secret;
	cfg.secrets = (char *)secrets;
	cfg.secrets_file = (char *)file;
	err[0] = '\0';
	rc = lg_keys_load(&cfg, &kr, err, errlen);
	*count = rc == 0 ? lg_keyring_count(kr) : 0;
	if (rc == 0)
		lg_keyring_free(kr);
	else
		ck_assert_msg(!strstr(err, MARK), "the error shows a key: %s", err);
	return rc;
}

START_TEST(each_source)
{
	char err[400];
	size_t n;

	ck_assert_int_eq(load(KEY32, NULL, NULL, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(load(NULL, "k1:" KEY32 ",k2:" KEY32 "x", NULL, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 2);
	make_dir();
	write_str("# keys\nk1:" KEY32 "\n\nk2:" KEY32 "y\nk3:" KEY32 "z");
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 3);
	remove_dir();
}
END_TEST

START_TEST(errors_name_the_variable)
{
	char err[400];
	size_t n;

	ck_assert_int_eq(load(MARK "-short", NULL, NULL, &n, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "LIVEGATE_SECRET: key is shorter", 31) == 0, "%s", err);
	ck_assert_int_eq(load(NULL, "k1:" KEY32 ",k2:" MARK, NULL, &n, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "LIVEGATE_SECRETS: entry 2: ", 27) == 0, "%s", err);
	make_dir();
	write_str("k1:" KEY32 "\nk1:" KEY32 "\n");
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "LIVEGATE_SECRETS_FILE: line 2: duplicate", 40) == 0, "%s", err);
	write_str("");
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "LIVEGATE_SECRETS_FILE: no keys found"), "%s", err);
	unlink(path);
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "LIVEGATE_SECRETS_FILE: cannot open", 34) == 0, "%s", err);
	remove_dir();
}
END_TEST

/* A FIFO or a directory in the file's place is refused at once: opening
 * a FIFO without a writer would otherwise block main's start or a
 * worker's loop on SIGHUP. */
START_TEST(not_a_regular_file)
{
	char err[400];
	size_t n;

	make_dir();
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "LIVEGATE_SECRETS_FILE:") && strstr(err, "a FIFO"), "%s", err);
	unlink(path);
	ck_assert_int_eq(load(NULL, NULL, dir, &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "a directory"), "%s", err);
	ck_assert_int_eq(load(NULL, NULL, "/dev/null", &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "a device"), "%s", err);
	remove_dir();
}
END_TEST

/* LG_SECRETS_FILE_MAX bytes are read; one more is refused, never cut. */
START_TEST(the_file_size_limit)
{
	char *text = malloc(LG_SECRETS_FILE_MAX + 2), err[400];
	size_t n, head = strlen("k1:" KEY32 "\n");

	ck_assert_ptr_nonnull(text);
	memcpy(text, "k1:" KEY32 "\n", head);
	memset(text + head, '#', LG_SECRETS_FILE_MAX + 1 - head);   /* one long comment */
	make_dir();
	write_file(text, LG_SECRETS_FILE_MAX);
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 1);
	write_file(text, LG_SECRETS_FILE_MAX + 1);
	ck_assert_int_eq(load(NULL, NULL, path, &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "larger than 65536 bytes"), "%s", err);
	remove_dir();
	free(text);
}
END_TEST

/* Runs lg_keys_reload with stderr captured; returns the ring (or NULL)
 * and what was logged in out. */
static struct lg_keyring *reload_logged(const struct lg_config *cfg, char *out, size_t cap)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	struct lg_keyring *kr;
	size_t got;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
	lg_log_setup(LG_LOG_INFO, 0, "test");
	kr = lg_keys_reload(cfg);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(tmp);
	got = fread(out, 1, cap - 1, tmp);
	fclose(tmp);
	out[got] = '\0';
	return kr;
}

START_TEST(reload_logs_its_outcome)
{
	struct lg_config cfg;
	struct lg_keyring *kr;
	char log[4096];

	memset(&cfg, 0, sizeof cfg);
	make_dir();
	cfg.secrets_file = path;
	write_str("k1:" KEY32 "\n");
	kr = reload_logged(&cfg, log, sizeof log);
	ck_assert_ptr_nonnull(kr);
	ck_assert_uint_eq(lg_keyring_count(kr), 1);
	ck_assert_msg(strstr(log, "event=keys_reloaded"), "%s", log);
	lg_keyring_free(kr);
	/* A broken file: NULL (the caller keeps its keys), one error line
	 * naming the variable, no key in it. */
	write_str("k1:" KEY32 "\nk2:" MARK "\n");
	kr = reload_logged(&cfg, log, sizeof log);
	ck_assert_ptr_null(kr);
	ck_assert_msg(strstr(log, "level=error") && strstr(log, "event=keys_reload_failed") &&
	              strstr(log, "LIVEGATE_SECRETS_FILE: line 2"), "%s", log);
	ck_assert_msg(!strstr(log, MARK), "the log shows a key: %s", log);
	ck_assert_ptr_eq(strchr(log, '\n'), log + strlen(log) - 1);   /* one line */
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, each_source);
	tcase_add_test(tc, errors_name_the_variable);
	tcase_add_test(tc, not_a_regular_file);
	tcase_add_test(tc, the_file_size_limit);
	tcase_add_test(tc, reload_logs_its_outcome);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
