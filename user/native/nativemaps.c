// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativemaps.c - executable mappings per process, kept in step with
 * /proc/PID/maps and mirrored into the BPF trie native_maps; each file
 * mapping holds a reference on its unwind table. */
#include <bpf/bpf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "htab.h"
#include "nativemaps.h"
#include "unwindtables.h"

struct nm_proc {
	pid_t pid;
	uint64_t sig;                /* hash of the executable lines last read */
	struct native_mapping *m;    /* sorted by start */
	size_t n;
};

struct native_maps {
	struct native_maps_opts o;
	struct htab procs;           /* pid -> struct nm_proc * */
	size_t entries, entries_failed, refreshes, changes;
};

int native_maps_new(const struct native_maps_opts *o, struct native_maps **out)
{
	struct native_maps *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return -ENOMEM;
	nm->o = *o;
	htab_init(&nm->procs, sizeof(pid_t), sizeof(struct nm_proc *));
	*out = nm;
	return 0;
}

/* ---- parsing ---- */

int native_maps_parse(const char *line, struct native_mapping *m)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int major, minor;
	char perms[8];
	int pos = 0;
	const char *path;
	size_t len;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &pgoff, &major,
		   &minor, &ino, &pos) < 7 || !pos || end <= start)
		return -1;
	if (strlen(perms) < 3 || perms[2] != 'x')
		return 0;
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->pgoff = pgoff;
	m->dev = (uint64_t)major << 32 | minor;
	m->ino = ino;
	path = line + pos;
	len = strcspn(path, "\n");
	/* a file replaced or removed since it was mapped (an upgrade):
	 * map_files still opens the mapped one */
	if (len > 10 && memcmp(path + len - 10, " (deleted)", 10) == 0)
		len -= 10;
	if (!len || (path[0] == '[' && strncmp(path, "[vdso]", 6)))
		m->kind = NATIVE_MAP_ANON; /* anonymous, [vsyscall], [anon:...] */
	else if (path[0] == '[')
		m->kind = NATIVE_MAP_VDSO;
	else
		m->kind = NATIVE_MAP_FILE;
	m->path = strndup(m->kind == NATIVE_MAP_ANON ? "" : path, len);
	return m->path ? 1 : -1;
}

size_t native_maps_blocks(pid_t pid, uint64_t start, uint64_t end, struct native_map_key *out,
			  size_t max)
{
	size_t n = 0;

	while (start < end) {
		unsigned k = start ? (unsigned)__builtin_ctzll(start) : 63;

		/* the largest aligned block from start that ends by end */
		while (k > 0 && (k > 63 || end - start < (1ull << k)))
			k--;
		if (n < max) {
			out[n].prefixlen = 32 + (64 - k);
			out[n].pid_be = htobe32((uint32_t)pid);
			out[n].addr_be = htobe64(start);
		}
		n++;
		start += 1ull << k;
		if (!start)
			break; /* the top of the address space */
	}
	return n;
}

/* ---- tables and trie entries of one mapping ---- */

int native_maps_open_path(pid_t pid, const struct native_mapping *m, char *buf, size_t len)
{
	if (m->kind != NATIVE_MAP_FILE)
		return -ENOENT;
	snprintf(buf, len, "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	if (access(buf, R_OK) == 0)
		return 0;
	if (snprintf(buf, len, "/proc/%d/root%s", (int)pid, m->path) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* The vdso has no file: a copy of the process's own, read from its
 * memory, is the ELF image its table comes from (it is the same for every
 * process of one kernel, so the build id makes it one table). */
static int vdso_acquire(struct native_maps *nm, pid_t pid, struct native_mapping *m)
{
	char path[64];
	size_t len = m->end - m->start;
	enum unwind_tables_miss miss;
	int mem, fd = -1, err;
	void *buf;

	if (len > (1u << 20))
		return -EFBIG;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	err = mem < 0 ? -errno : 0;
	if (!err && pread(mem, buf, len, (off_t)m->start) != (ssize_t)len)
		err = -EIO;
	if (!err) {
		fd = memfd_create("pybpf-vdso", MFD_CLOEXEC);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
			err = fd < 0 ? -errno : -EIO;
	}
	if (!err) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		err = unwind_tables_acquire(nm->o.tables, path, &m->file_id, &miss);
		if (!err) {
			m->held = 1;
			m->miss = (uint8_t)miss;
		}
	}
	if (fd >= 0)
		close(fd);
	if (mem >= 0)
		close(mem);
	free(buf);
	return err;
}

static void tables_acquire(struct native_maps *nm, pid_t pid, struct native_mapping *m)
{
	enum unwind_tables_miss miss = UT_MISS_NONE;
	char path[PATH_MAX + 64];
	int err = -ENOENT;

	if (!nm->o.tables || m->kind == NATIVE_MAP_ANON)
		return;
	if (m->kind == NATIVE_MAP_VDSO) {
		err = vdso_acquire(nm, pid, m);
		if (err) {
			m->file_id = 0;
			m->miss = UT_MISS_ERROR;
		}
		return;
	}
	if (native_maps_open_path(pid, m, path, sizeof(path)) == 0)
		err = unwind_tables_acquire(nm->o.tables, path, &m->file_id, &miss);
	if (err) {
		m->file_id = 0;
		m->miss = UT_MISS_ERROR;
		return;
	}
	m->held = 1;
	m->miss = (uint8_t)miss;
}

#define MAX_BLOCKS 128 /* 2 * 64 bounds any range */

static void publish(struct native_maps *nm, pid_t pid, struct native_mapping *m)
{
	struct native_map_key keys[MAX_BLOCKS];
	struct native_map_val v = { 0 };
	size_t n, i;

	tables_acquire(nm, pid, m);
	if (nm->o.lpm_fd < 0)
		return;
	/* the file id whether or not its rows made it: BPF falls back to
	 * frame pointers while unwind_files lacks it (NO_TABLE), and finds
	 * the rows once a later quiesce makes room for them */
	v.file_id = m->file_id;
	v.off_base = m->pgoff - m->start;
	v.kind = m->kind;
	n = native_maps_blocks(pid, m->start, m->end, keys, MAX_BLOCKS);
	for (i = 0; i < n && i < MAX_BLOCKS; i++) {
		if (bpf_map_update_elem(nm->o.lpm_fd, &keys[i], &v, BPF_ANY)) {
			nm->entries_failed++;
			m->unresolvable = 1;
		} else {
			nm->entries++;
		}
	}
}

static void unpublish(struct native_maps *nm, pid_t pid, struct native_mapping *m)
{
	struct native_map_key keys[MAX_BLOCKS];
	size_t n, i;

	if (nm->o.lpm_fd >= 0) {
		n = native_maps_blocks(pid, m->start, m->end, keys, MAX_BLOCKS);
		for (i = 0; i < n && i < MAX_BLOCKS; i++)
			if (bpf_map_delete_elem(nm->o.lpm_fd, &keys[i]) == 0)
				nm->entries--;
	}
	if (m->held)
		unwind_tables_release(nm->o.tables, m->file_id);
	m->held = 0;
	free(m->path);
	m->path = NULL;
}

/* ---- one process ---- */

static void proc_free(struct native_maps *nm, struct nm_proc *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		unpublish(nm, p->pid, &p->m[i]);
	free(p->m);
	free(p);
}

static int same(const struct native_mapping *a, const struct native_mapping *b)
{
	return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff &&
	       a->dev == b->dev && a->ino == b->ino && a->kind == b->kind &&
	       strcmp(a->path, b->path) == 0;
}

/* Read the executable mappings of pid (sorted, as the kernel lists them). */
static int read_maps(pid_t pid, struct native_mapping **out, size_t *n, uint64_t *sig)
{
	char path[64], line[PATH_MAX + 256];
	struct native_mapping *v = NULL, m;
	size_t cap = 0;
	FILE *f;
	int r;

	*n = 0;
	*sig = 0x6e61746976656d61ull;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		r = native_maps_parse(line, &m);
		if (r <= 0)
			continue;
		*sig = hash_bytes(line, strlen(line), *sig);
		if (*n == cap) {
			struct native_mapping *p;

			cap = cap ? 2 * cap : 32;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				free(m.path);
				goto oom;
			}
			v = p;
		}
		v[(*n)++] = m;
	}
	fclose(f);
	*out = v;
	return 0;
oom:
	fclose(f);
	while (*n)
		free(v[--*n].path);
	free(v);
	return -ENOMEM;
}

int native_maps_update(struct native_maps *nm, pid_t pid, int *changed)
{
	struct nm_proc **slot, *p;
	struct native_mapping *nw = NULL;
	size_t nn = 0, i, j;
	uint64_t sig;
	int err, created;

	if (changed)
		*changed = 0;
	err = read_maps(pid, &nw, &nn, &sig);
	if (err)
		return err;
	nm->refreshes++;
	slot = htab_put(&nm->procs, &pid, &created);
	if (!slot) {
		err = -ENOMEM;
		goto out;
	}
	if (!*slot) {
		created = 1;
		*slot = calloc(1, sizeof(**slot));
		if (!*slot) {
			err = -ENOMEM; /* an empty slot: the next update fills it */
			goto out;
		}
		(*slot)->pid = pid;
	}
	p = *slot;
	if (!created && p->sig == sig && p->n == nn)
		goto out;
	nm->changes++;
	if (changed)
		*changed = 1;
	/* what went first: a new mapping may reuse an old one's blocks */
	for (i = 0, j = 0; i < p->n; i++) {
		while (j < nn && nw[j].start < p->m[i].start)
			j++;
		if (j < nn && same(&p->m[i], &nw[j])) {
			free(nw[j].path);
			nw[j] = p->m[i]; /* kept, with its table reference */
			p->m[i].path = NULL;
			nw[j].kept = 1;
		} else {
			unpublish(nm, pid, &p->m[i]);
		}
	}
	for (j = 0; j < nn; j++) {
		if (nw[j].kept)
			nw[j].kept = 0;
		else
			publish(nm, pid, &nw[j]);
	}
	for (i = 0; i < p->n; i++)
		free(p->m[i].path);
	free(p->m);
	p->m = nw;
	p->n = nn;
	p->sig = sig;
	return 0;
out:
	for (j = 0; j < nn; j++)
		free(nw[j].path);
	free(nw);
	return err;
}

static int keep_pid(void *ctx, const void *key, void *val)
{
	(void)val;
	return *(const pid_t *)key != *(const pid_t *)ctx;
}

void native_maps_remove(struct native_maps *nm, pid_t pid)
{
	struct nm_proc **slot = htab_get(&nm->procs, &pid);

	if (!slot)
		return;
	proc_free(nm, *slot);
	*slot = NULL;
	htab_retain(&nm->procs, keep_pid, &pid); /* ENOMEM: an empty slot stays */
}

void native_maps_free(struct native_maps *nm)
{
	const void *key;
	void *val;
	size_t pos = 0;

	if (!nm)
		return;
	while (htab_next(&nm->procs, &pos, &key, &val))
		proc_free(nm, *(struct nm_proc **)val);
	htab_free(&nm->procs);
	free(nm);
}

/* ---- look-ups and totals ---- */

const struct native_mapping *native_maps_find(const struct native_maps *nm, pid_t pid,
					      uint64_t addr, uint64_t *off)
{
	struct nm_proc **slot = htab_get(&nm->procs, &pid);
	const struct nm_proc *p;
	size_t lo = 0, hi;

	if (!slot || !*slot)
		return NULL;
	p = *slot;
	hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->m[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= p->m[lo - 1].end)
		return NULL;
	if (off)
		*off = addr - p->m[lo - 1].start + p->m[lo - 1].pgoff;
	return &p->m[lo - 1];
}

void native_maps_stats(const struct native_maps *nm, struct native_maps_stats *st)
{
	const void *key;
	void *val;
	size_t pos = 0, i;

	memset(st, 0, sizeof(*st));
	st->entries = nm->entries;
	st->entries_failed = nm->entries_failed;
	st->refreshes = nm->refreshes;
	st->changes = nm->changes;
	while (htab_next(&nm->procs, &pos, &key, &val)) {
		const struct nm_proc *p = *(struct nm_proc **)val;

		if (!p)
			continue;
		st->processes++;
		for (i = 0; i < p->n; i++) {
			const struct native_mapping *m = &p->m[i];

			st->mappings++;
			if (m->kind < 3)
				st->by_kind[m->kind]++;
			if (m->kind == NATIVE_MAP_ANON)
				continue;
			if (m->held && m->miss == UT_MISS_NONE)
				st->with_table++;
			else if (m->kind == NATIVE_MAP_VDSO)
				st->vdso_fp++;
			else if (m->miss == UT_MISS_ERROR)
				st->unreadable++;
			else
				st->no_table++;
		}
	}
}
