/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* threadfilter.h - --tid and --thread-name, shared by record, top and dump. */
#ifndef PYBPF_THREADFILTER_H
#define PYBPF_THREADFILTER_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#define THREAD_FILTER_TIDS 64

struct thread_filter {
	uint32_t tids[THREAD_FILTER_TIDS];
	size_t ntids;
	regex_t name_re;
	int has_name_re;
};

/* "TID[,TID...]"; 0 or -EINVAL (printed). */
int thread_filter_tids(struct thread_filter *f, const char *arg);
/* POSIX extended regular expression; 0 or -EINVAL (printed). */
int thread_filter_name(struct thread_filter *f, const char *re);
/* Does a thread pass?  An empty filter passes everything. */
int thread_filter_match(const struct thread_filter *f, uint32_t tid, const char *name);
int thread_filter_active(const struct thread_filter *f);
void thread_filter_free(struct thread_filter *f);

#endif /* PYBPF_THREADFILTER_H */
