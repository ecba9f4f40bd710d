/* common/config_env.c - LIVEGATE_* variables that are no setting, found
 * so main can name them in a warning (a typo must not pass silently), with
 * the setting each is probably a misspelling of. */
#include "config.h"

#include <stdint.h>
#include <string.h>

/* Edit distance (insert, delete, substitute, swap two neighbours) between
 * a[0..al) and b[0..bl), both at most LG_ENV_NAME_MAX bytes. */
static size_t edit_distance(const char *a, size_t al, const char *b, size_t bl)
{
	size_t d[LG_ENV_NAME_MAX + 1][LG_ENV_NAME_MAX + 1];

	for (size_t i = 0; i <= al; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= bl; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= al; i++)
		for (size_t j = 1; j <= bl; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[al][bl];
}

/* Returns the setting whose name is within a small typing distance of
 * name[0..len) (a dropped, doubled, swapped or wrong letter or two), or
 * NULL when none is close enough to be a confident guess. */
static const char *suggest(const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	if (len > LG_ENV_NAME_MAX)
		return NULL;
	for (size_t i = 0; lg_config_setting_env(i); i++) {
		const char *env = lg_config_setting_env(i);
		size_t d = edit_distance(name, len, env, strlen(env));
		if (d < best_d) {
			best_d = d;
			best = env;
		}
	}
	/* Two edits, and less than a third of the part after the prefix: a
	 * short name two edits off is a different word, not a typo. */
	if (best_d > 2 || 3 * best_d >= len - strlen(LG_ENV_PREFIX))
		return NULL;
	return best;
}

size_t lg_config_unknown_env(char *const *envp, struct lg_env_unknown *out, size_t max)
{
	size_t n = 0;

	for (; envp && *envp; envp++) {
		const char *e = *envp;
		size_t len = strcspn(e, "=");
		size_t k;

		if (strncmp(e, LG_ENV_PREFIX, strlen(LG_ENV_PREFIX)) != 0 ||
		    strncmp(e, LG_ENV_INTERNAL_PREFIX, strlen(LG_ENV_INTERNAL_PREFIX)) == 0)
			continue;
		for (k = 0; lg_config_setting_env(k); k++)
			if (strlen(lg_config_setting_env(k)) == len &&
			    strncmp(lg_config_setting_env(k), e, len) == 0)
				break;
		if (lg_config_setting_env(k))
			continue;
		if (n < max) {
			out[n].name = e;
			out[n].len = len;
			out[n].suggestion = suggest(e, len);
		}
		n++;
	}
	return n;
}
