// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* dump.c - `pybpf dump`: the Python stack of every thread, now, read from
 * the running process (or, with --blocking, stopped for the read) in
 * py-spy dump's format, each thread checked for consistency. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "commands.h"
#include "dumplocals.h"
#include "dumpnative.h"
#include "htab.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "ptrace_stop.h"
#include "pyobj.h"
#include "pythreads.h"
#include "pywalk.h"
#include "symbols.h"
#include "target.h"
#include "threadfilter.h"

#define MAX_THREADS 4096
#define LOCALS_TRIES 5   /* walks of a thread whose locals moved under the read */
#define OPT_BLOCKING OPT_COMMON_LAST

struct dump_opts {
	pid_t pid;
	int locals;              /* -l, repeatable: detail level */
	int json;
	int subprocesses;
	int full_filenames;
	int blocking;            /* stop the target while reading it */
	int native;              /* --native: C and kernel frames too (implies blocking) */
	struct thread_filter filter; /* --tid, --thread-name */
};

struct dump {
	const struct dump_opts *o;
	struct pyproc proc;
	struct symbols syms;
	struct htab ids;          /* code address -> symbol id */
	uint32_t next_id;
	int first_json;           /* no comma before the first JSON thread */
	FILE *f;                  /* stdout, or a buffer while the target is stopped */
	pid_t running[MAX_THREADS]; /* --blocking: threads in 'R' before the stop */
	size_t nrunning;
	struct dump_native *dn;   /* --native */
	struct ptrace_stop *stop; /* --blocking: the stop, for registers */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf dump [OPTIONS] -p PID\n"
"Print the current Python stack of every thread of a running process.\n"
"The process is only read, not stopped: a stack that changed while it was\n"
"read is marked (changing, partial); --blocking stops it for the read.\n\n"
"  -p, --pid PID            the process (a thread id: its process, that thread)\n"
"  -l, --locals             arguments and local variables of each frame\n"
"                           (twice: longer values and container contents)\n"
"  -j, --json               JSON: one object per thread\n"
"  -s, --subprocesses       also dump the process's Python children\n"
"      --tid TID[,TID...]   only these threads\n"
"      --thread-name REGEX  only threads whose name matches\n"
"      --full-filenames     full paths instead of file names\n"
"      --blocking           stop every thread for the few milliseconds of the\n"
"                           read (ptrace), for an exact snapshot\n"
"  -n, --native             also the C frames around the Python ones (merged:\n"
"                           the eval loop replaced by the Python frames it runs),\n"
"                           threads without Python, and each thread's kernel\n"
"                           stack (root); implies --blocking: the registers of\n"
"                           each thread are read while it is stopped\n\n"
"Examples:\n  sudo pybpf dump -p 1234\n  sudo pybpf dump -p 1234 --locals --json\n"
"  sudo pybpf dump -p 1234 --locals --blocking\n  sudo pybpf dump -p 1234 --native\n");
}



static int parse(int argc, char **argv, struct dump_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "locals", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "subprocesses", no_argument, NULL, 's' },
		{ "tid", required_argument, NULL, OPT_TID },
		{ "thread-name", required_argument, NULL, OPT_THREAD_NAME },
		{ "full-filenames", no_argument, NULL, OPT_FULL_FILENAMES },
		{ "blocking", no_argument, NULL, OPT_BLOCKING },
		{ "native", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t pid;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:ljsnh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (cli_u32(optarg, "pid", 1, 0x7fffffff, &pid))
				return -EINVAL;
			o->pid = (pid_t)pid;
			break;
		case 'l':
			o->locals++;
			break;
		case 'j':
			o->json = 1;
			break;
		case 's':
			o->subprocesses = 1;
			break;
		case OPT_TID:
			if (thread_filter_tids(&o->filter, optarg))
				return -EINVAL;
			break;
		case OPT_THREAD_NAME:
			if (thread_filter_name(&o->filter, optarg))
				return -EINVAL;
			break;
		case OPT_FULL_FILENAMES:
			o->full_filenames = 1;
			break;
		case OPT_BLOCKING:
			o->blocking = 1;
			break;
		case 'n':
			o->native = 1;
			o->blocking = 1; /* registers are read from stopped threads */
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_try_help();
			return -EINVAL;
		}
	}
	if (!o->pid || optind < argc) {
		pb_err("give the process: pybpf dump -p PID");
		return -EINVAL;
	}
	return 0;
}

static const struct symbol *frame_symbol(struct dump *d, uint64_t code)
{
	int created;
	uint32_t *id = htab_put(&d->ids, &code, &created);

	if (!id)
		return NULL;
	if (created) {
		*id = d->next_id++;
		if (pywalk_symbol(&d->proc, &d->syms, code, *id))
			return NULL;
	}
	return symbols_get(&d->syms, *id);
}

/* ---- text output ------------------------------------------------------ */

static void print_frame(struct dump *d, const struct pyframe_ref *r,
			const struct frame_locals *fl, int first)
{
	const struct symbol *sym = frame_symbol(d, r->code);
	const char *name = sym ? sym->name : "<unknown>";
	const char *file = sym ? (d->o->full_filenames ? sym->path : sym->base) : "";
	uint32_t line = sym ? symbol_line(sym, r->lasti) : 0;
	FILE *f = d->f;
	char module[256];
	const char *dot;

	if (!d->o->json) {
		if (line)
			fprintf(f, "    %s (%s:%u)\n", name, file, line);
		else
			fprintf(f, "    %s (%s)\n", name, file);
		if (d->o->locals)
			dump_locals_text(f, fl);
		return;
	}
	snprintf(module, sizeof(module), "%s", sym ? sym->base : "");
	dot = strrchr(module, '.');
	if (dot)
		module[dot - module] = 0;
	fprintf(f, "%s\n      {%s\"name\":", first ? "" : ",",
		d->o->native ? "\"kind\":\"python\"," : "");
	json_string(f, name);
	fprintf(f, ",\"filename\":");
	json_string(f, sym ? sym->path : "");
	fprintf(f, ",\"short_filename\":");
	json_string(f, sym ? sym->base : "");
	fprintf(f, ",\"module\":");
	json_string(f, module);
	fprintf(f, ",\"line\":%u,\"locals\":", line);
	if (d->o->locals)
		dump_locals_json(f, fl);
	else
		fprintf(f, "null");
	fputc('}', f);
}

/* The Python frames, or with --native the merged stack st. */
static void print_frames(struct dump *d, const struct pyframe_ref *frames,
			 const struct frame_locals *fl, size_t n, const struct dn_stack *st)
{
	size_t i;

	for (i = 0; !st && i < n; i++)
		print_frame(d, &frames[i], &fl[i], i == 0);
	for (i = 0; st && i < st->n; i++) {
		const struct dn_frame *x = &st->f[i];

		if (x->kind == DN_PYTHON)
			print_frame(d, &frames[x->py], &fl[x->py], i == 0);
		else
			dump_native_print(d->f, x, d->o->json, d->o->full_filenames, i == 0);
	}
}

/* --native: why frames are missing */
static void print_native_notes(struct dump *d, const struct dn_stack *st)
{
	if (!st)
		return;
	if (!d->o->json) {
		if (st->kernel_note)
			fprintf(d->f, "    (%s)\n", st->kernel_note);
		if (!st->regs_ok)
			fprintf(d->f, "    (native frames unknown: registers unreadable)\n");
		return;
	}
	fprintf(d->f, ",\"native_complete\":%s,\"kernel_note\":",
		st->native_complete ? "true" : "false");
	if (st->kernel_note)
		json_string(d->f, st->kernel_note);
	else
		fputs("null", d->f);
}

/* A thread whose walks never agreed is shown as last read, marked where
 * its missing callers would be: its frames may come from two moments. */
static void print_thread(struct dump *d, const struct pythread *t, const char *name,
			 int active, const struct pyframe_ref *frames,
			 const struct frame_locals *fl, size_t n, int truncated, int consistent,
			 const struct dn_stack *st)
{
	const char *state = !active ? "idle" : t->owns_gil ? "active+gil" : "active";
	FILE *f = d->f;

	if (!d->o->json) {
		fprintf(f, "\nThread %d (%s): \"%s\"\n", t->tid, state, name);
		print_frames(d, frames, fl, n, st);
		print_native_notes(d, st);
		if (truncated)
			fprintf(f, "    <truncated>\n");
		if (!consistent)
			fprintf(f, "    (changing, partial)\n");
		return;
	}
	fprintf(f, "%s\n  {\"pid\":%d,\"thread_id\":%llu,\"thread_name\":", d->first_json ? "" : ",",
		d->proc.pid, (unsigned long long)t->thread_id);
	d->first_json = 0;
	json_string(f, name);
	fprintf(f, ",\"os_thread_id\":%d,\"active\":%s,\"owns_gil\":%s,\"truncated\":%s,"
		"\"consistent\":%s,\"frames\":[", t->tid, active ? "true" : "false",
		t->owns_gil ? "true" : "false", truncated ? "true" : "false",
		consistent ? "true" : "false");
	print_frames(d, frames, fl, n, st);
	fputc(']', f);
	print_native_notes(d, st);
	fputc('}', f);
}

/* ---- one process -------------------------------------------------------- */

/* --blocking: the kernel's states just before the stop (all are 't' in it). */
static void note_running(struct dump *d, pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;

	d->nrunning = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (e = readdir(dir)) && d->nrunning < MAX_THREADS) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);

		if (tid > 0 && proc_state(pid, tid) == 'R')
			d->running[d->nrunning++] = tid;
	}
	if (dir)
		closedir(dir);
}

static int was_running(const struct dump *d, int32_t tid)
{
	size_t i;

	for (i = 0; i < d->nrunning; i++)
		if (d->running[i] == tid)
			return 1;
	return 0;
}

/* The kernel's view: 'R' is running or runnable.  Read before and after
 * the walk, so a thread that ran at either moment counts as active. */
static int thread_running(const struct dump *d, pid_t pid, int32_t tid)
{
	if (d->o->blocking)
		return was_running(d, tid);
	return tid > 0 && proc_state(pid, tid) == 'R';
}

/* print_thread, with --native the thread's merged stack */
static void print_thread_native(struct dump *d, const struct pythread *t, const char *name,
				int active, const struct pyframe_ref *frames,
				const struct frame_locals *fl, size_t n, int truncated,
				int consistent)
{
	struct dn_stack st = {};
	int native = d->dn && !dump_native_thread(d->dn, &d->proc, d->stop, t->tid, frames, n,
						  !truncated && consistent, &st);

	print_thread(d, t, name, active, frames, fl, n, truncated, consistent,
		     native ? &st : NULL);
	dn_stack_free(&st);
}

/* A thread's stack, and with -l its frames' locals.  A running thread may
 * return from or step past a frame while its locals are read: then the
 * whole stack is walked again, a few times, before a frame is shown
 * without them. */
static void read_thread(struct dump *d, const struct pythread *t, struct pyframe_ref *frames,
			struct frame_locals *fl, size_t *nframes, int *truncated, int *consistent)
{
	int try;

	for (try = 0; try < LOCALS_TRIES; try++) {
		if (try)
			dump_locals_free(fl, *nframes);
		if (pywalk_stack(&d->proc, t, frames, PYBPF_MAX_DEPTH, nframes, truncated,
				 consistent))
			*nframes = 0, *truncated = 1, *consistent = 0;
		if (!dump_locals_read(&d->proc, d->o->locals, frames, *nframes, fl))
			return;
	}
}

static void dump_threads(struct dump *d, pid_t pid, struct pythread *threads, size_t nthreads,
			 struct pyframe_ref *frames, struct frame_locals *fl)
{
	size_t nframes, i;
	int truncated, consistent;

	for (i = 0; i < nthreads; i++) {
		const struct pythread *t = &threads[i];
		char name[64] = "";
		int active;

		active = thread_running(d, pid, t->tid);
		read_thread(d, t, frames, fl, &nframes, &truncated, &consistent);
		active |= thread_running(d, pid, t->tid);
		/* threading's name (it needs the frames), else the kernel's */
		if (pythread_name(&d->proc, t, frames, nframes, NULL, name, sizeof(name)) && t->tid)
			proc_thread_comm(pid, t->tid, name, sizeof(name));
		if (!thread_filter_match(&d->o->filter, (uint32_t)t->tid, name)) {
			dump_locals_free(fl, nframes);
			continue;
		}
		if (t->tid && !thread_running(d, pid, t->tid) && access("/proc", F_OK) == 0) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, t->tid);
			if (access(path, F_OK)) {
				if (!d->o->json)
					fprintf(d->f, "\nThread %d: gone (exited during the dump)\n",
						t->tid);
				dump_locals_free(fl, nframes);
				continue;
			}
		}
		print_thread_native(d, t, name, active, frames, fl, nframes, truncated, consistent);
		dump_locals_free(fl, nframes);
	}
}

/* --native: the threads without a Python thread state (C threads, BLAS
 * pools...), with their native and kernel stacks. */
static void dump_other_threads(struct dump *d, pid_t pid, const struct pythread *threads,
			       size_t nthreads)
{
	const pid_t *tids;
	size_t n = dump_native_tids(d->dn, &tids), i, k;

	for (i = 0; i < n; i++) {
		struct pythread t = { .tid = tids[i] };
		char name[64] = "";

		for (k = 0; k < nthreads && threads[k].tid != tids[i]; k++)
			;
		if (k < nthreads)
			continue;
		proc_thread_comm(pid, tids[i], name, sizeof(name));
		if (!thread_filter_match(&d->o->filter, (uint32_t)tids[i], name))
			continue;
		print_thread_native(d, &t, name, was_running(d, tids[i]), NULL, NULL, 0, 0, 1);
	}
}

static int dump_process(struct dump *d, pid_t pid)
{
	struct pythread *threads = calloc(MAX_THREADS, sizeof(*threads));
	struct pyframe_ref *frames = calloc(PYBPF_MAX_DEPTH, sizeof(*frames));
	struct frame_locals *fl = calloc(PYBPF_MAX_DEPTH, sizeof(*fl));
	struct ptrace_stop stop = {};
	char *text = NULL;
	size_t nthreads = 0, len = 0;
	int err;

	d->f = stdout;
	err = pyproc_inspect(pid, &d->proc);
	if (err) {
		pb_err("%s", d->proc.err);
		goto out;
	}
	err = -ENOMEM;
	if (!threads || !frames || !fl)
		goto out;
	if (d->o->blocking) {
		/* Printed after the threads run again: a slow reader of our
		 * output must not keep the target stopped. */
		d->f = open_memstream(&text, &len);
		if (!d->f) {
			d->f = stdout;
			goto out;
		}
		note_running(d, pid);
		/* before the stop: stopped, every thread's kernel stack would be
		 * the ptrace stop itself */
		if (d->dn && (err = dump_native_snapshot(d->dn, pid))) {
			pb_err("failed to read the threads of process %d: %s", pid, strerror(-err));
			goto out;
		}
		err = ptrace_stop(&stop, pid);
		if (err) {
			pb_err("failed to stop process %d: %s", pid, strerror(-err));
			goto out;
		}
		d->stop = &stop;
		if (d->dn && (err = dump_native_maps(d->dn, pid))) {
			pb_err("failed to read the mappings of process %d: %s", pid, strerror(-err));
			goto out;
		}
	}
	err = pywalk_threads(&d->proc, threads, MAX_THREADS, &nthreads);
	if (err) {
		pb_err("failed to read the thread list of process %d: %s", pid, strerror(-err));
		goto out;
	}
	if (!d->o->json)
		fprintf(d->f, "%sProcess %d: %s\nPython v%s (%s)%s\n", d->first_json ? "" : "\n",
			pid, d->proc.cmdline, d->proc.version,
			d->proc.exe[0] ? d->proc.exe : d->proc.elf_path,
			d->proc.free_threaded ? ", free-threaded" : "");
	d->first_json = d->o->json ? d->first_json : 0;
	dump_threads(d, pid, threads, nthreads, frames, fl);
	if (d->dn)
		dump_other_threads(d, pid, threads, nthreads);
	if (!d->o->json)
		fputc('\n', d->f);
out:
	ptrace_resume(&stop); /* first, whatever happened: never leave it stopped */
	d->stop = NULL;
	if (d->f != stdout) {
		fclose(d->f);
		if (!err && text)
			fwrite(text, 1, len, stdout);
		free(text);
		d->f = stdout;
	}
	free(threads);
	free(frames);
	free(fl);
	return err;
}

/* Is pid ours (same real user)?  Then no privilege is needed to read it. */
static int own_process(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) == 0 && st.st_uid == getuid();
}

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o = {};
	struct dump d = { .o = &o, .next_id = PYBPF_SYM_FIRST, .first_json = 1 };
	pid_t pids[256];
	size_t n = 1, i;
	int err = 0, ok = 0;

	if (parse(argc, argv, &o))
		return 2;
	{
		pid_t tid; /* -p TID: its process, that thread only */

		target_resolve_pid(&o.pid, &tid, "dumping");
		if (tid && o.filter.ntids < THREAD_FILTER_TIDS)
			o.filter.tids[o.filter.ntids++] = (uint32_t)tid;
		if (!o.subprocesses && target_check_tids(o.pid, &o.filter))
			return 2;
	}
	if (geteuid() != 0 && !own_process(o.pid))
		pb_warn("not root: reading another user's process needs CAP_SYS_PTRACE");
	pids[0] = o.pid;
	if (o.subprocesses)
		n = proc_descendants(o.pid, pids, sizeof(pids) / sizeof(pids[0]));
	if (o.native && (err = dump_native_new(&d.dn))) {
		pb_err("failed to set up native unwinding: %s", strerror(-err));
		thread_filter_free(&o.filter);
		return 1;
	}
	symbols_init(&d.syms);
	htab_init(&d.ids, sizeof(uint64_t), sizeof(uint32_t));
	if (o.json)
		putchar('[');
	for (i = 0; i < n; i++) {
		struct pyproc probe;

		/* children that are not CPython are skipped without an error */
		if (i > 0 && pyproc_inspect(pids[i], &probe))
			continue;
		err = dump_process(&d, pids[i]);
		if (i == 0 && err)
			break;
		ok += !err;
	}
	if (o.json)
		printf("%s]\n", ok ? "\n" : "");
	symbols_free(&d.syms);
	htab_free(&d.ids);
	dump_native_free(d.dn);
	thread_filter_free(&o.filter);
	return ok ? 0 : 1;
}
