// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* threadfilter.c - which threads a command shows (see threadfilter.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "log.h"
#include "threadfilter.h"

int thread_filter_tids(struct thread_filter *f, const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		if (f->ntids == THREAD_FILTER_TIDS) {
			pb_err("too many thread ids (at most %d)", THREAD_FILTER_TIDS);
			err = -EINVAL;
		} else {
			err = cli_u32(tok, "thread id", 1, 0x7fffffff, &f->tids[f->ntids++]);
		}
	}
	free(copy);
	return err;
}

int thread_filter_name(struct thread_filter *f, const char *re)
{
	if (f->has_name_re)
		regfree(&f->name_re);
	f->has_name_re = 0;
	if (regcomp(&f->name_re, re, REG_EXTENDED | REG_NOSUB)) {
		pb_err("invalid --thread-name regular expression: %s", re);
		return -EINVAL;
	}
	f->has_name_re = 1;
	return 0;
}

int thread_filter_active(const struct thread_filter *f)
{
	return f->ntids || f->has_name_re;
}

int thread_filter_match(const struct thread_filter *f, uint32_t tid, const char *name)
{
	size_t i;

	if (f->ntids) {
		for (i = 0; i < f->ntids && f->tids[i] != tid; i++)
			;
		if (i == f->ntids)
			return 0;
	}
	return !f->has_name_re || regexec(&f->name_re, name ? name : "", 0, NULL, 0) == 0;
}

void thread_filter_free(struct thread_filter *f)
{
	if (f->has_name_re)
		regfree(&f->name_re);
	f->has_name_re = 0;
}
