// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* targets.c - which processes a session profiles: the target (-p or the
 * launched command), its Python descendants (-s), every CPython process
 * on the host (--all), and when they are gone.  Each one found is handed
 * to the sampler by session_add_proc. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"
#include "log.h"
#include "nativesample.h"
#include "session.h"
#include "target.h"
#include "targets.h"

struct pyproc *targets_find(struct session *s, pid_t pid)
{
	size_t i;

	if (pid == s->proc.pid)
		return &s->proc;
	for (i = 0; i < s->nkids; i++)
		if (s->kids[i]->pid == pid)
			return s->kids[i];
	return NULL;
}

/* A child is CPython, or not yet (it may exec later), or never: children
 * seen not to be Python are rechecked only when their executable changes. */
static void follow_child(struct session *s, pid_t pid)
{
	struct pyproc *p = targets_find(s, pid), fresh;
	char exe[PATH_MAX];
	uint64_t h;
	uint64_t *seen;

	int err;

	if (p && !p->gone && sampler_has_proc(s->sampler, pid))
		return;
	proc_exe(pid, exe, sizeof(exe));
	h = hash_bytes(exe, strlen(exe), 1);
	seen = htab_get(&s->not_python, &(uint64_t){ (uint64_t)pid });
	if (seen && *seen == h)
		return;
	err = pyproc_inspect(pid, &fresh);
	if (err == -EAGAIN || err == -ESRCH || err == -EPROTO) {
		/* not yet, gone, or a state read mid-change: look again next scan */
		if (err == -EPROTO)
			pb_debug("pid %d: %s (will retry)", pid, fresh.err);
		return;
	}
	if (err) {
		uint64_t key = (uint64_t)pid, *v = htab_put(&s->not_python, &key, NULL);

		if (v)
			*v = h;
		if (err != -ENOEXEC)
			pb_debug("skipping pid %d: %s", pid, fresh.err);
		return;
	}
	if (!p) {
		struct pyproc **n = s->kids;

		if (s->nkids == s->capkids) {
			s->capkids = s->capkids ? s->capkids * 2 : 8;
			n = realloc(s->kids, s->capkids * sizeof(*n));
			if (!n)
				return;
			s->kids = n;
		}
		p = malloc(sizeof(*p));
		if (!p)
			return;
		s->kids[s->nkids++] = p;
	}
	*p = fresh;
	if (session_add_proc(s, p)) {
		/* refused (map full): not retried on every scan */
		uint64_t key = (uint64_t)pid, *v = htab_put(&s->not_python, &key, NULL);

		if (v)
			*v = h;
		p->gone = 1;
	}
}

static int wanted(struct session *s, pid_t pid)
{
	char comm[64] = "", path[64];
	FILE *f;
	size_t i;

	if (pid == getpid())
		return 0;
	for (i = 0; s->o.exclude && s->o.exclude[i]; i++)
		if (s->o.exclude[i] == pid)
			return 0;
	if (!s->o.comm_re)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	return regexec(s->o.comm_re, comm, 0, NULL, 0) == 0;
}

/* Processes that exited: out of the BPF map, kept for output. */
static void reap_gone(struct session *s)
{
	size_t i;

	for (i = 0; i < s->nkids; i++) {
		struct pyproc *p = s->kids[i];

		if (!p->gone && kill(p->pid, 0) && errno == ESRCH) {
			p->gone = 1;
			sampler_remove_proc(s->sampler, p->pid);
		}
	}
}

/* -s: the target's descendants; --all: every process on the host. */
void targets_scan(struct session *s)
{
	static pid_t pids[65536];
	struct dirent *e;
	size_t n = 0, i;
	DIR *dir;

	if (now_ns() < s->next_scan_ns)
		return;
	s->next_scan_ns = now_ns() + (s->o.all ? 500000000ull : 250000000ull);
	if (s->o.all) {
		dir = opendir("/proc");
		while (dir && (e = readdir(dir)) && n < sizeof(pids) / sizeof(pids[0]))
			if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
				pids[n++] = atoi(e->d_name);
		if (dir)
			closedir(dir);
		i = 0;
	} else {
		n = proc_descendants(s->proc.pid, pids, sizeof(pids) / sizeof(pids[0]));
		i = 1;
	}
	for (; i < n; i++)
		if (wanted(s, pids[i]))
			follow_child(s, pids[i]);
	reap_gone(s);
}

int targets_inspect(struct session *s)
{
	int err = target_inspect(s->proc.pid, s->child, &s->proc, &s->child_exited,
				 &s->child_code);

	if (err && s->child && !s->child_exited) {
		usleep(10000); /* an exiting child: let it become reapable */
		s->child_exited = launch_reaped(s->child, &s->child_code);
	}
	if (err && s->child_exited)
		pb_err("%s exited (status %d) without running Python", s->o.cmd[0], s->child_code);
	else if (err)
		pb_err("%s", s->proc.err);
	return err;
}

static int alive_pid(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static int keep_not_python(void *ctx, const void *key, void *val)
{
	(void)ctx;
	(void)val;
	return alive_pid((pid_t)*(const uint64_t *)key);
}

/* After a rotation: processes that exited and left the sampler are
 * forgotten, so are pids seen not to be Python that exited.  Returns how
 * many processes were forgotten. */
size_t targets_forget(struct session *s)
{
	size_t i, n = 0, was = s->nkids;

	htab_retain(&s->not_python, keep_not_python, NULL);
	for (i = 0; i < s->nkids; i++) {
		if (s->kids[i]->gone && !sampler_has_proc(s->sampler, s->kids[i]->pid)) {
			if (sampler_native(s->sampler))
				native_sampler_remove(sampler_native(s->sampler), s->kids[i]->pid);
			free(s->kids[i]);
		}
		else
			s->kids[n++] = s->kids[i];
	}
	s->nkids = n;
	return was - n;
}

void targets_free(struct session *s)
{
	htab_free(&s->not_python);
	while (s->nkids)
		free(s->kids[--s->nkids]);
	free(s->kids);
	s->kids = NULL;
	s->capkids = 0;
}
