// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* dumpnative.c - the native and kernel frames of `dump --native`: unwind
 * each stopped thread from its registers, symbolize each pc, classify the
 * eval-loop frames for the process's CPython version and merge them with
 * the Python frames (nm_merge), the kernel frames on top. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dumpnative.h"
#include "json.h"
#include "nativemaps.h"
#include "nativemerge.h"
#include "nativesyms.h"
#include "nativeunwind.h"
#include "ptrace_stop.h"
#include "pyframe.h"

#define DN_MAX_NATIVE 1024       /* native frames per thread */
#define DN_MAX_KERNEL 64
#define DN_MAX_TASKS 4096

/* One thread's kernel stack as /proc/PID/task/TID/stack showed it before
 * the stop (while stopped it would show the ptrace stop itself). */
struct ktask {
	pid_t tid;
	int err;                 /* 0, or why the file was unreadable */
	size_t n;
	char (*names)[64];
};

struct dump_native {
	struct native_unwind *nu;
	struct native_syms *syms;
	struct ktask *tasks;
	size_t ntasks;
	pid_t *tids;
	uint64_t *pcs;
};

int dump_native_new(struct dump_native **out)
{
	struct dump_native *dn = calloc(1, sizeof(*dn));
	int err = -ENOMEM;

	*out = NULL;
	if (!dn)
		return err;
	dn->pcs = calloc(DN_MAX_NATIVE, sizeof(*dn->pcs));
	dn->tasks = calloc(DN_MAX_TASKS, sizeof(*dn->tasks));
	dn->tids = calloc(DN_MAX_TASKS, sizeof(*dn->tids));
	if (!dn->pcs || !dn->tasks || !dn->tids)
		goto fail;
	err = native_unwind_new(&dn->nu);
	if (!err)
		err = native_syms_new(&dn->syms);
	if (!err) {
		*out = dn;
		return 0;
	}
fail:
	dump_native_free(dn);
	return err;
}

static void forget_tasks(struct dump_native *dn)
{
	size_t i;

	for (i = 0; i < dn->ntasks; i++)
		free(dn->tasks[i].names);
	dn->ntasks = 0;
}

void dump_native_free(struct dump_native *dn)
{
	if (!dn)
		return;
	forget_tasks(dn);
	native_unwind_free(dn->nu);
	native_syms_free(dn->syms);
	free(dn->tasks);
	free(dn->tids);
	free(dn->pcs);
	free(dn);
}

/* "[<0>] do_nanosleep+0x6d/0x1a0" lines, innermost first */
static void read_kstack(pid_t pid, struct ktask *t)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, t->tid);
	f = fopen(path, "r");
	if (!f) {
		t->err = errno;
		return;
	}
	t->names = calloc(DN_MAX_KERNEL, sizeof(*t->names));
	while (t->names && t->n < DN_MAX_KERNEL && fgets(line, sizeof(line), f)) {
		char *s = strchr(line, ']'), *e;

		if (!s)
			continue;
		s += strspn(s + 1, " ") + 1;
		e = s + strcspn(s, "+ \n");
		*e = 0;
		if (*s)
			snprintf(t->names[t->n++], sizeof(t->names[0]), "%s", s);
	}
	if (ferror(f))
		t->err = errno ? errno : EIO; /* EACCES without CAP_SYS_ADMIN */
	fclose(f);
}

int dump_native_snapshot(struct dump_native *dn, pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;

	forget_tasks(dn);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && dn->ntasks < DN_MAX_TASKS) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
		struct ktask *t = &dn->tasks[dn->ntasks];

		if (tid <= 0)
			continue;
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		read_kstack(pid, t);
		dn->tids[dn->ntasks++] = tid;
	}
	closedir(dir);
	return 0;
}

size_t dump_native_tids(const struct dump_native *dn, const pid_t **tids)
{
	*tids = dn->tids;
	return dn->ntasks;
}

int dump_native_maps(struct dump_native *dn, pid_t pid)
{
	return native_unwind_maps(dn->nu, pid);
}

/* ---- which Python frames end an activation (nativemerge.h) ---- */

/* 3.11: _PyInterpreterFrame.is_entry, a bool */
static int is_entry_311(const struct pyproc *p, uint64_t frame)
{
	uint8_t b = 0;

	if (p->off.frame_is_entry < 0 ||
	    proc_read(p->pid, frame + (uint64_t)p->off.frame_is_entry, &b, 1))
		return 0;
	return b != 0;
}

/* 3.12+: the frame whose caller is an entry shim the eval loop links in */
static int caller_is_shim(const struct pyproc *p, uint64_t frame)
{
	uint8_t buf[PYBPF_FRAME_READ + 8] = {};
	uint64_t back;

	if (proc_read(p->pid, frame, buf, PYBPF_FRAME_READ))
		return 0;
	back = pyframe_back(&p->off, buf);
	if (!back)
		return 1;
	memset(buf, 0, sizeof(buf));
	if (proc_read(p->pid, back, buf, PYBPF_FRAME_READ))
		return 0;
	return pyframe_is_shim(&p->off, buf);
}

void dump_native_py_flags(const struct pyproc *p, const struct pyframe_ref *py, size_t npy,
			  uint8_t *flags)
{
	size_t i;

	for (i = 0; i < npy; i++) {
		if (p->major < 3 || p->minor <= 10)
			flags[i] = NM_PY_ENTRY; /* one frame per eval-loop call */
		else if (p->off.frame_is_entry >= 0) /* 3.11 */
			flags[i] = is_entry_311(p, py[i].frame) ? NM_PY_ENTRY : 0;
		else
			flags[i] = p->off.owner_shim_min >= 0 && caller_is_shim(p, py[i].frame)
					   ? NM_PY_ENTRY : 0;
	}
}

/* ---- one thread ---- */

static struct dn_frame *push(struct dn_stack *st, uint8_t kind)
{
	struct dn_frame *f;

	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;

		f = realloc(st->f, cap * sizeof(*f));
		if (!f)
			return NULL;
		st->f = f;
		st->cap = cap;
	}
	f = &st->f[st->n++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	return f;
}

/* The name of pc (a return address looked up at pc - 1) into f. */
static void symbolize(struct dump_native *dn, pid_t pid, uint64_t pc, int caller,
		      struct dn_frame *f)
{
	const struct native_mapping *m;
	const struct nsym_file *sf = NULL;
	uint64_t off = 0, at = caller ? pc - 1 : pc;
	char path[PATH_MAX + 64];
	const char *name = NULL;

	f->pc = pc;
	m = native_maps_find(native_unwind_mappings(dn->nu), pid, at, &off);
	if (!m) {
		snprintf(f->name, sizeof(f->name), "0x%llx", (unsigned long long)pc);
		return;
	}
	f->off = off + (at != pc); /* the offset of pc itself */
	snprintf(f->lib, sizeof(f->lib), "%s", m->path ? m->path : "");
	if (m->kind == NATIVE_MAP_FILE && !native_maps_open_path(pid, m, path, sizeof(path)) &&
	    !native_syms_file(dn->syms, path, m->path, &sf))
		name = nsym_lookup(sf, off, NULL);
	if (name) {
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->symbolized = 1;
	} else if (m->kind == NATIVE_MAP_ANON) {
		snprintf(f->name, sizeof(f->name), "0x%llx", (unsigned long long)pc);
	} else {
		const char *base = strrchr(f->lib, '/');

		snprintf(f->name, sizeof(f->name), "%.120s+0x%llx", base ? base + 1 : f->lib,
			 (unsigned long long)f->off);
	}
}

static const struct ktask *ktask_of(const struct dump_native *dn, pid_t tid)
{
	size_t i;

	for (i = 0; i < dn->ntasks; i++)
		if (dn->tasks[i].tid == tid)
			return &dn->tasks[i];
	return NULL;
}

static int put_kernel(const struct dump_native *dn, pid_t tid, struct dn_stack *st)
{
	const struct ktask *t = ktask_of(dn, tid);
	size_t i;

	if (!t) {
		st->kernel_note = "kernel stack not read (thread born during the dump)";
		return 0;
	}
	if (t->err) {
		st->kernel_note = t->err == ENOENT ? "kernel stack unavailable (no /proc/PID/stack)"
				: "kernel stack unreadable (needs root: /proc/PID/task/TID/stack)";
		return 0;
	}
	for (i = 0; i < t->n; i++) {
		struct dn_frame *f = push(st, DN_KERNEL);

		if (!f)
			return -ENOMEM;
		snprintf(f->name, sizeof(f->name), "%s", t->names[i]);
	}
	return 0;
}

int dump_native_thread(struct dump_native *dn, const struct pyproc *p, const struct ptrace_stop *s,
		       pid_t tid, const struct pyframe_ref *py, size_t npy, int py_complete,
		       struct dn_stack *out)
{
	struct native_regs regs = {};
	struct native_walk w = { .stop = NATIVE_STAT_NO_MAPPING };
	struct dn_frame *natives = NULL, *f;
	struct nm_frame *merged = NULL;
	uint8_t *kinds = NULL, *flags = NULL;
	struct nm_input in = {};
	struct nm_result res;
	size_t i, nmerged = 0;
	uint64_t pc = 0, sp = 0, bp = 0;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (put_kernel(dn, tid, out))
		goto out;
	out->regs_ok = tid > 0 && !ptrace_user_regs(s, tid, &pc, &sp, &bp);
	regs = (struct native_regs){ .pc = pc, .sp = sp, .bp = bp };
	if (out->regs_ok)
		native_unwind_walk(dn->nu, s->pid, &regs, dn->pcs, DN_MAX_NATIVE, &w);
	out->native_stop = w.stop;
	out->native_complete = native_walk_complete(&w);

	natives = calloc(w.n ? w.n : 1, sizeof(*natives));
	kinds = calloc(w.n ? w.n : 1, 1);
	flags = calloc(npy ? npy : 1, 1);
	merged = calloc(NM_MERGE_MAX(w.n, npy), sizeof(*merged));
	if (!natives || !kinds || !flags || !merged)
		goto out;
	for (i = 0; i < w.n; i++) {
		symbolize(dn, s->pid, dn->pcs[i], i > 0, &natives[i]);
		kinds[i] = p && natives[i].symbolized
				   ? (uint8_t)nm_classify(natives[i].name, p->major, p->minor)
				   : NM_NATIVE;
	}
	if (p)
		dump_native_py_flags(p, py, npy, flags);
	in.native = kinds;
	in.n_native = w.n;
	in.native_complete = out->native_complete;
	in.python = flags;
	in.n_python = npy;
	in.python_complete = py_complete;
	in.drop_glue = 0; /* dump shows every C frame there is */
	nm_merge(&in, merged, NM_MERGE_MAX(w.n, npy), &res);
	nmerged = res.n;
	for (i = 0; i < nmerged; i++) {
		const struct nm_frame *m = &merged[i];

		if (m->kind == NM_OUT_NATIVE) {
			f = push(out, DN_NATIVE);
			if (f) {
				*f = natives[m->index];
				f->kind = DN_NATIVE;
			}
		} else if (m->kind == NM_OUT_PYTHON) {
			f = push(out, DN_PYTHON);
			if (f)
				f->py = m->index;
		} else {
			f = push(out, DN_MARK);
			if (f)
				snprintf(f->name, sizeof(f->name), "%s",
					 nm_mark_name((enum nm_mark)m->mark));
		}
		if (!f)
			goto out;
	}
	err = 0;
out:
	free(natives);
	free(kinds);
	free(flags);
	free(merged);
	return err;
}

void dn_stack_free(struct dn_stack *st)
{
	free(st->f);
	memset(st, 0, sizeof(*st));
}

/* ---- rendering of the frames that are not Python ---- */

void dump_native_print(FILE *out, const struct dn_frame *f, int json, int full, int first)
{
	const char *base = strrchr(f->lib, '/');

	base = base ? base + 1 : f->lib;
	if (!json) {
		if (f->kind == DN_KERNEL)
			fprintf(out, "    [kernel] %s\n", f->name);
		else if (f->kind == DN_NATIVE && f->symbolized && *base)
			fprintf(out, "    %s (%s)\n", f->name, full ? f->lib : base);
		else
			fprintf(out, "    %s\n", f->name);
		return;
	}
	fprintf(out, "%s\n      {\"kind\":\"%s\",\"name\":", first ? "" : ",",
		f->kind == DN_KERNEL ? "kernel" : "native");
	json_string(out, f->name);
	if (f->kind == DN_NATIVE) {
		fprintf(out, ",\"library\":");
		json_string(out, f->lib);
		fprintf(out, ",\"short_library\":");
		json_string(out, base);
		fprintf(out, ",\"address\":\"0x%llx\",\"offset\":%llu,\"symbolized\":%s",
			(unsigned long long)f->pc, (unsigned long long)f->off,
			f->symbolized ? "true" : "false");
	}
	if (f->kind == DN_MARK)
		fprintf(out, ",\"unknown\":true");
	fputc('}', out);
}
