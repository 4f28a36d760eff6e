// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* writeout.c - turn the session's aggregate into profile files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "log.h"
#include "writeout.h"

static int write_file(struct session *s, const struct writeout_opts *o,
		      const struct profile_opts *po, const struct pyproc *proc, const char *path)
{
	struct profile p;
	FILE *f;
	int err;

	err = profile_build(&s->agg, &s->syms, po, &p);
	if (err) {
		pb_err("failed to build profile: %s", strerror(-err));
		return err;
	}
	p.title = proc && proc->cmdline[0] ? proc->cmdline : s->o.all ? "all Python processes" : "python";
	p.rate_hz = s->o.rate_hz;
	p.duration_ns = (uint64_t)(session_elapsed(s) * 1e9);
	p.start_unix_ns = s->start_unix_ns;
	p.python_version = proc ? proc->version : "";
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		pb_err("failed to open %s: %s", path, strerror(errno));
		goto out;
	}
	err = o->format->write(f, &p);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		pb_err("failed to write %s: %s", path, strerror(-err));
out:
	profile_free(&p);
	return err;
}

/* "dir/name.ext" -> "dir/name-STAMP.ext" (before the file's own extension) */
static void stamped(char *buf, size_t len, const char *path, const char *stamp)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strchr(base, '.');
	if (!stamp)
		snprintf(buf, len, "%s", path);
	else if (dot && dot != base)
		snprintf(buf, len, "%.*s-%s%s", (int)(dot - path), path, stamp, dot);
	else
		snprintf(buf, len, "%s-%s", path, stamp);
}

static uint64_t process_samples(const struct aggregate *a, uint32_t pid)
{
	size_t pos = 0;
	const void *k;
	void *v;
	uint64_t n = 0;

	while (htab_next(&a->stacks, &pos, &k, &v))
		if (((const struct agg_key *)k)->pid == pid)
			n += ((const struct agg_val *)v)->count;
	return n;
}

/* One file per process: DIR/PID-COMM[-STAMP].EXT */
static int write_each(struct session *s, const struct writeout_opts *o, const char *stamp,
		      int *files)
{
	struct profile_opts po = o->profile;
	char path[PATH_MAX + 128], comm[64];
	size_t i;
	int err = 0;

	if (mkdir(o->output, 0755) && errno != EEXIST) {
		pb_err("failed to create directory %s: %s", o->output, strerror(errno));
		return -errno;
	}
	po.process_roots = 0;
	for (i = 0; i < s->nkids && !err; i++) {
		const struct pyproc *p = s->kids[i];
		uint64_t n = process_samples(&s->agg, p->pid);
		size_t c;

		if (!n || n < o->min_samples)
			continue;
		snprintf(comm, sizeof(comm), "%s", p->comm[0] ? p->comm : "python");
		for (c = 0; comm[c]; c++)
			if (comm[c] == '/' || comm[c] == ' ')
				comm[c] = '_';
		if (stamp)
			snprintf(path, sizeof(path), "%s/%d-%s-%s.%s", o->output, p->pid, comm, stamp,
				 o->format->extension);
		else
			snprintf(path, sizeof(path), "%s/%d-%s.%s", o->output, p->pid, comm,
				 o->format->extension);
		po.only_pid = (uint32_t)p->pid;
		err = write_file(s, o, &po, p, path);
		*files += !err;
	}
	return err;
}

int writeout(struct session *s, const struct writeout_opts *o, const char *stamp, int *files)
{
	char path[PATH_MAX + 64];
	int err;

	*files = 0;
	if (o->per_process)
		return write_each(s, o, stamp, files);
	stamped(path, sizeof(path), o->output, stamp);
	err = write_file(s, o, &o->profile, s->o.all ? NULL : &s->proc, path);
	*files = !err;
	return err;
}
