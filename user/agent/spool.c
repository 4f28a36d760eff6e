// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* spool.c - the bounded queue of profiles waiting for the backend (see
 * spool.h).  On disk, a profile is DIR/<20-digit seq>.pybpf-spool: a
 * magic line, the meta line, then the body; written to a temporary file
 * and renamed, so a crash leaves a whole profile or none. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "spool.h"

#define MAGIC "PYBPF-SPOOL 1\n"
#define SUFFIX ".pybpf-spool"

static void item_path(const struct spool *s, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%020llu" SUFFIX, s->dir, (unsigned long long)seq);
}

static void item_free(struct spool_item *it)
{
	free(it->meta);
	free(it->body);
}

/* Remove items[i] (its file too) and close the gap. */
static void remove_at(struct spool *s, size_t i)
{
	char path[4096];

	if (s->dir) {
		item_path(s, s->items[i].seq, path, sizeof(path));
		unlink(path);
	}
	s->bytes -= s->items[i].size;
	item_free(&s->items[i]);
	memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof(s->items[0]));
	s->n--;
}

static int grow(struct spool *s)
{
	struct spool_item *n;
	size_t cap = s->cap ? s->cap * 2 : 64;

	if (s->n < s->cap)
		return 0;
	n = realloc(s->items, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->items = n;
	s->cap = cap;
	return 0;
}

/* Drop the oldest items not being sent until need more bytes fit. */
static void make_room(struct spool *s, uint64_t need, const char *why)
{
	size_t i = 0;

	while (s->bytes + need > s->max_bytes && i < s->n) {
		if (s->items[i].busy) {
			i++;
			continue;
		}
		s->dropped++;
		pb_warn("spool full (%llu of %llu bytes%s): dropped the oldest profile (%s), %llu dropped so far",
			(unsigned long long)s->bytes, (unsigned long long)s->max_bytes, why,
			s->items[i].meta ? s->items[i].meta : "?", (unsigned long long)s->dropped);
		remove_at(s, i);
	}
}

static int by_seq(const void *a, const void *b)
{
	const struct spool_item *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Read the meta line of a spooled file; NULL if it is not one of ours. */
static char *read_meta(const char *path, size_t *body_off)
{
	char buf[8192], *nl, *meta;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < (ssize_t)strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)))
		return NULL;
	buf[n] = 0;
	nl = strchr(buf + strlen(MAGIC), '\n');
	if (!nl)
		return NULL;
	*body_off = (size_t)(nl + 1 - buf);
	meta = strndup(buf + strlen(MAGIC), (size_t)(nl - buf) - strlen(MAGIC));
	return meta;
}

/* What a previous run left: queued in sequence order. */
static int recover(struct spool *s, size_t *recovered)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	char path[4096];
	size_t i;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned long long seq;
		char tail[32];
		struct stat st;
		size_t off;

		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		if (sscanf(e->d_name, ".%20llu%31s", &seq, tail) == 2 && !strcmp(tail, ".tmp") &&
		    strlen(e->d_name) == 25) {
			unlink(path);  /* our write, cut short by a crash */
			continue;
		}
		if (sscanf(e->d_name, "%20llu%31s", &seq, tail) != 2 || strcmp(tail, SUFFIX) ||
		    stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (grow(s)) {
			closedir(d);
			return -ENOMEM;
		}
		memset(&s->items[s->n], 0, sizeof(s->items[0]));
		s->items[s->n].meta = read_meta(path, &off);
		if (!s->items[s->n].meta) {
			pb_warn("spool: %s is not a spooled profile, left alone", path);
			continue;
		}
		s->items[s->n].seq = seq;
		s->items[s->n].len = (size_t)st.st_size - off;
		s->items[s->n].size = (uint64_t)st.st_size;
		s->bytes += (uint64_t)st.st_size;
		s->n++;
		if (seq >= s->next_seq)
			s->next_seq = seq + 1;
	}
	closedir(d);
	if (s->n)
		qsort(s->items, s->n, sizeof(s->items[0]), by_seq);
	*recovered = s->n;
	make_room(s, 0, ", left by the previous run");
	for (i = 0; i < s->n; i++)
		s->items[i].busy = 0;
	return 0;
}

int spool_open(struct spool *s, const char *dir, uint64_t max_bytes, size_t *recovered)
{
	int err;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->max_bytes = max_bytes;
	s->next_seq = 1;
	*recovered = 0;
	if (!dir)
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pb_err("failed to create spool directory %s: %s", dir, strerror(-err));
		return err;
	}
	s->dir = strdup(dir);
	if (!s->dir)
		return -ENOMEM;
	err = recover(s, recovered);
	if (err)
		pb_err("failed to read spool directory %s: %s", dir, strerror(-err));
	return err;
}

void spool_close(struct spool *s)
{
	while (s->n)
		item_free(&s->items[--s->n]);
	free(s->items);
	free(s->dir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	memset(s, 0, sizeof(*s));
}

/* DIR/.<seq>.tmp written whole, then renamed into place. */
static int write_file(struct spool *s, uint64_t seq, const char *meta, const void *body,
		      size_t len)
{
	char tmp[4096], path[4096];
	FILE *f;
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%020llu.tmp", s->dir, (unsigned long long)seq);
	item_path(s, seq, path, sizeof(path));
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fputs(MAGIC, f) < 0 || fprintf(f, "%s\n", meta) < 0 ||
	    (len && fwrite(body, 1, len, f) != len))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int spool_put(struct spool *s, const char *meta, const void *body, size_t len)
{
	uint64_t size = len + strlen(meta) + (s->dir ? strlen(MAGIC) + 1 : 0);
	struct spool_item it = { .len = len, .size = size };
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (size > s->max_bytes) {
		s->dropped++;
		pb_warn("spool: a profile of %llu bytes is larger than the whole spool (%llu bytes): dropped (%s), %llu dropped so far",
			(unsigned long long)size, (unsigned long long)s->max_bytes, meta,
			(unsigned long long)s->dropped);
		err = -E2BIG;
		goto out;
	}
	make_room(s, size, "");
	it.seq = s->next_seq++;
	it.meta = strdup(meta);
	if (!it.meta || grow(s)) {
		err = -ENOMEM;
		goto fail;
	}
	if (s->dir) {
		err = write_file(s, it.seq, meta, body, len);
		if (err)
			goto fail;
	} else {
		it.body = malloc(len ? len : 1);
		if (!it.body) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(it.body, body, len);
	}
	s->items[s->n++] = it;
	s->bytes += size;
	pthread_cond_broadcast(&s->cond);
	goto out;
fail:
	s->dropped++;
	pb_err("failed to spool a profile (%s): %s; %llu dropped so far", meta, strerror(-err),
	       (unsigned long long)s->dropped);
	free(it.meta);
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int read_body(const char *path, size_t len, void **out)
{
	size_t off;
	char *meta = read_meta(path, &off);
	char *buf;
	FILE *f;
	int err = 0;

	if (!meta)
		return -EIO;
	free(meta);
	buf = malloc(len ? len : 1);
	f = fopen(path, "re");
	if (!buf || !f || fseek(f, (long)off, SEEK_SET) || fread(buf, 1, len, f) != len)
		err = -EIO;
	if (f)
		fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

int spool_take(struct spool *s, uint64_t *seq, char **meta, void **body, size_t *len)
{
	struct spool_item *it;
	char path[4096];
	int err = 0;

	*meta = NULL;
	*body = NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->n) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	it = &s->items[0];
	it->busy = 1;
	*seq = it->seq;
	*len = it->len;
	*meta = strdup(it->meta);
	if (!*meta)
		err = -ENOMEM;
	else if (it->body && !(*body = malloc(it->len ? it->len : 1)))
		err = -ENOMEM;
	else if (it->body)
		memcpy(*body, it->body, it->len);
	if (s->dir)
		item_path(s, it->seq, path, sizeof(path));
	pthread_mutex_unlock(&s->lock);
	/* the file is read outside the lock: the sampling loop never waits on disk reads */
	if (!err && s->dir)
		err = read_body(path, *len, body);
	if (err == -EIO) {
		pb_err("spool: failed to read %s: dropped", path);
		pthread_mutex_lock(&s->lock);
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		spool_done(s, *seq, 1);
	} else if (err) {
		spool_done(s, *seq, 0);
	}
	if (err) {
		free(*meta);
		*meta = NULL;
	}
	return err;
}

void spool_done(struct spool *s, uint64_t seq, int remove)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++)
		if (s->items[i].seq == seq) {
			if (remove)
				remove_at(s, i);
			else
				s->items[i].busy = 0;
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

void spool_wait(struct spool *s, int ms, int for_item)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->wake && !(for_item && s->n))
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	s->wake = 0;
	pthread_mutex_unlock(&s->lock);
}

void spool_wake(struct spool *s)
{
	pthread_mutex_lock(&s->lock);
	s->wake = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void spool_counts(struct spool *s, size_t *n, uint64_t *bytes, uint64_t *dropped)
{
	pthread_mutex_lock(&s->lock);
	*n = s->n;
	*bytes = s->bytes;
	*dropped = s->dropped;
	pthread_mutex_unlock(&s->lock);
}
