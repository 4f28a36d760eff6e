// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* writeout.c - turn the session's aggregate into profile files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "writeout.h"

/* "DIR/.NAME.XXXXXX" next to path, with the mode a plain fopen would give */
static FILE *open_temp(const char *path, char *tmp, size_t len)
{
	const char *base = strrchr(path, '/');
	mode_t mask = umask(0);
	FILE *f;
	int fd;

	umask(mask);
	base = base ? base + 1 : path;
	snprintf(tmp, len, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
	fd = mkstemp(tmp);
	if (fd < 0)
		return NULL;
	if (fchmod(fd, 0666 & ~mask) || !(f = fdopen(fd, "w"))) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		return NULL;
	}
	return f;
}

static int write_file(struct session *s, const struct writeout_opts *o,
		      const struct profile_opts *po, const struct pyproc *proc, const char *path)
{
	char tmp[PATH_MAX + 64];
	struct profile p;
	struct stat st;
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
	/* a device or a pipe (-o /dev/null, -o /dev/stdout, -o >(gzip ...))
	 * is written in place: renaming a file over it would replace it */
	tmp[0] = 0;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		f = fopen(path, "w");
	else
		f = open_temp(path, tmp, sizeof(tmp));
	if (!f) {
		err = -errno;
		pb_err("failed to create %s: %s", path, strerror(errno));
		goto out;
	}
	err = o->format->write(f, &p);
	if (!err && fflush(f))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && tmp[0] && rename(tmp, path))
		err = -errno;
	if (err) {
		pb_err("failed to write %s: %s", path, strerror(-err));
		if (tmp[0])
			unlink(tmp);
	}
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
	const struct agg_key *k;
	struct agg_val *v;
	uint64_t n = 0;

	while (agg_next(a, &pos, &k, &v))
		if (k->pid == pid)
			n += v->count;
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

	/* made by writeout_check; again in case it was removed since */
	if (mkdir(o->output, 0755) && errno != EEXIST) {
		err = -errno;
		pb_err("failed to create directory %s: %s", o->output, strerror(-err));
		return err;
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

/* Can a new file be made in dir?  Made and removed again, which also
 * catches read-only mounts and full quotas that access(2) does not. */
static int dir_writable(const char *dir, const char *shown)
{
	char path[PATH_MAX + 8], probe[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/x", dir);
	f = open_temp(path, probe, sizeof(probe));
	if (!f) {
		int err = -errno;

		pb_err("failed to create output %s: %s", shown, strerror(-err));
		return err;
	}
	fclose(f);
	unlink(probe);
	return 0;
}

/* Does name end like a profile file (x.svg, x.json, x.pb.gz ...)? */
static int file_like(const char *name)
{
	static const char *const ext[] = { "svg", "json", "folded", "txt", "gz", "pb", "html" };
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && dot != name && i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcmp(dot + 1, ext[i]))
			return 1;
	return 0;
}

static int check_dir(const char *dir)
{
	const char *base = strrchr(dir, '/');
	struct stat st;

	base = base ? base + 1 : dir;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			pb_err("failed to use output %s: not a directory (--all writes one file per "
			       "process into a directory; --merge writes one file)", dir);
			return -ENOTDIR;
		}
	} else if (file_like(base)) {
		pb_err("failed to use output %s: --all writes one file per process into a "
		       "directory, and %s looks like a file name (give a directory, or --merge "
		       "for one file)", dir, base);
		return -EINVAL;
	} else if (mkdir(dir, 0755)) {
		int err = -errno;

		pb_err("failed to create directory %s: %s", dir, strerror(-err));
		return err;
	}
	return dir_writable(dir, dir);
}

int writeout_check(const struct writeout_opts *o)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(o->output, '/');
	struct stat st;

	if (o->per_process)
		return check_dir(o->output);
	if (stat(o->output, &st) == 0 && S_ISDIR(st.st_mode)) {
		pb_err("failed to use output %s: it is a directory", o->output);
		return -EISDIR;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == o->output)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - o->output), o->output);
	return dir_writable(dir, o->output);
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
