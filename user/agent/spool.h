/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* spool.h - the agent's queue of profiles waiting to be pushed, oldest
 * first: in memory, or in a directory (one file per profile, named by
 * its sequence number) so that a restart resends what it holds.  Bounded
 * in bytes: a profile that does not fit drops the oldest ones, each drop
 * counted and logged.  Thread-safe: the sampling loop puts, the sender
 * thread takes. */
#ifndef PYBPF_SPOOL_H
#define PYBPF_SPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct spool_item {
	uint64_t seq;
	char *meta;              /* one line: what the sender needs besides the body */
	void *body;              /* NULL when it lives in a file */
	size_t len;              /* body bytes */
	uint64_t size;           /* bytes counted against the limit */
	int busy;                /* being sent: not dropped under the sender's feet */
};

struct spool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *dir;               /* NULL: memory only */
	uint64_t max_bytes, bytes;
	uint64_t next_seq;
	struct spool_item *items;  /* by seq, oldest first */
	size_t n, cap;
	uint64_t dropped;        /* profiles dropped for room (or unwritable) */
	int wake;                /* spool_wake() was called */
};

/* dir may be NULL.  Profiles a previous run left in dir are queued first
 * (*recovered says how many).  0 or -errno (printed). */
int spool_open(struct spool *s, const char *dir, uint64_t max_bytes, size_t *recovered);
void spool_close(struct spool *s);

/* Queue a copy of (meta, body).  0, or -errno when it could not be kept
 * (counted as dropped, printed). */
int spool_put(struct spool *s, const char *meta, const void *body, size_t len);

/* The oldest profile, marked busy, as copies the caller frees: 0, or
 * -ENOENT when the spool is empty, -EIO when its file could not be read
 * (the item is then dropped). */
int spool_take(struct spool *s, uint64_t *seq, char **meta, void **body, size_t *len);
/* After spool_take: remove the item (delivered, or refused for good) or
 * give it back (it stays first in line). */
void spool_done(struct spool *s, uint64_t seq, int remove);

/* Wait until ms pass or spool_wake() is called; with for_item, also
 * return as soon as the spool holds an item. */
void spool_wait(struct spool *s, int ms, int for_item);
void spool_wake(struct spool *s);

/* Items queued, their bytes, profiles dropped so far. */
void spool_counts(struct spool *s, size_t *n, uint64_t *bytes, uint64_t *dropped);

#endif /* PYBPF_SPOOL_H */
