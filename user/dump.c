// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* dump.c - `pybpf dump`: the Python stack of every thread, now, read from
 * the running process without stopping it (py-spy dump's format). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "commands.h"
#include "htab.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "pyobj.h"
#include "pythreads.h"
#include "pywalk.h"
#include "symbols.h"
#include "threadfilter.h"

#define MAX_THREADS 4096

struct dump_opts {
	pid_t pid;
	int locals;              /* -l, repeatable: detail level */
	int json;
	int subprocesses;
	int full_filenames;
	struct thread_filter filter; /* --tid, --thread-name */
};

struct dump {
	const struct dump_opts *o;
	struct pyproc proc;
	struct symbols syms;
	struct htab ids;          /* code address -> symbol id */
	uint32_t next_id;
	int first_json;           /* no comma before the first JSON thread */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf dump [OPTIONS] -p PID\n"
"Print the current Python stack of every thread of a running process,\n"
"without stopping it.\n\n"
"  -p, --pid PID            the process\n"
"  -l, --locals             arguments and local variables of each frame\n"
"                           (twice: longer values and container contents)\n"
"  -j, --json               JSON: one object per thread\n"
"  -s, --subprocesses       also dump the process's Python children\n"
"      --tid TID[,TID...]   only these threads\n"
"      --thread-name REGEX  only threads whose name matches\n"
"      --full-filenames     full paths instead of file names\n\n"
"Examples:\n  sudo pybpf dump -p 1234\n  sudo pybpf dump -p 1234 --locals --json\n");
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t pid;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:ljsh", longopts, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!o->pid || optind < argc) {
		pb_err("give the process: pybpf dump -p PID");
		return -EINVAL;
	}
	return 0;
}

/* The kernel's view: 'R' is running or runnable.  Read before and after
 * the walk, so a thread that ran at either moment counts as active. */
static int thread_running(pid_t pid, int32_t tid)
{
	return tid > 0 && proc_state(pid, tid) == 'R';
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

struct locals_ctx {
	FILE *f;
	int json;
	int printed_args, printed_locals, count;
};

static void text_local(void *ctx, const char *name, const char *repr, int is_arg)
{
	struct locals_ctx *c = ctx;

	if (is_arg && !c->printed_args) {
		fprintf(c->f, "        Arguments:\n");
		c->printed_args = 1;
	}
	if (!is_arg && !c->printed_locals) {
		fprintf(c->f, "        Locals:\n");
		c->printed_locals = 1;
	}
	fprintf(c->f, "            %s = %s\n", name, repr);
}

static void json_local(void *ctx, const char *name, const char *repr, int is_arg)
{
	struct locals_ctx *c = ctx;

	fprintf(c->f, "%s{\"name\":", c->count++ ? "," : "");
	json_string(c->f, name);
	fprintf(c->f, ",\"arg\":%s,\"repr\":", is_arg ? "true" : "false");
	json_string(c->f, repr);
	fputc('}', c->f);
}

static void frame_locals(struct dump *d, const struct pyframe_ref *r,
			 void (*fn)(void *, const char *, const char *, int), void *ctx)
{
	if (pyobj_frame_locals(&d->proc, r->frame, r->code, d->o->locals, fn, ctx))
		fn(ctx, "<locals>", "<unreadable>", 0);
}

static void print_frame(struct dump *d, const struct pyframe_ref *r, int first)
{
	const struct symbol *sym = frame_symbol(d, r->code);
	const char *name = sym ? sym->name : "<unknown>";
	const char *file = sym ? (d->o->full_filenames ? sym->path : sym->base) : "";
	uint32_t line = sym ? symbol_line(sym, r->lasti) : 0;
	struct locals_ctx lc = { .f = stdout, .json = d->o->json };
	char module[256];
	const char *dot;

	if (!d->o->json) {
		if (line)
			printf("    %s (%s:%u)\n", name, file, line);
		else
			printf("    %s (%s)\n", name, file);
		if (d->o->locals)
			frame_locals(d, r, text_local, &lc);
		return;
	}
	snprintf(module, sizeof(module), "%s", sym ? sym->base : "");
	dot = strrchr(module, '.');
	if (dot)
		module[dot - module] = 0;
	printf("%s\n      {\"name\":", first ? "" : ",");
	json_string(stdout, name);
	printf(",\"filename\":");
	json_string(stdout, sym ? sym->path : "");
	printf(",\"short_filename\":");
	json_string(stdout, sym ? sym->base : "");
	printf(",\"module\":");
	json_string(stdout, module);
	printf(",\"line\":%u,\"locals\":", line);
	if (d->o->locals) {
		putchar('[');
		frame_locals(d, r, json_local, &lc);
		putchar(']');
	} else {
		printf("null");
	}
	putchar('}');
}

static void print_thread(struct dump *d, const struct pythread *t, const char *name,
			 int active, const struct pyframe_ref *frames, size_t n, int truncated)
{
	const char *state = !active ? "idle" : t->owns_gil ? "active+gil" : "active";
	size_t i;

	if (!d->o->json) {
		printf("\nThread %d (%s): \"%s\"\n", t->tid, state, name);
		for (i = 0; i < n; i++)
			print_frame(d, &frames[i], i == 0);
		if (truncated)
			printf("    <truncated>\n");
		return;
	}
	printf("%s\n  {\"pid\":%d,\"thread_id\":%llu,\"thread_name\":", d->first_json ? "" : ",",
	       d->proc.pid, (unsigned long long)t->thread_id);
	d->first_json = 0;
	json_string(stdout, name);
	printf(",\"os_thread_id\":%d,\"active\":%s,\"owns_gil\":%s,\"truncated\":%s,\"frames\":[",
	       t->tid, active ? "true" : "false", t->owns_gil ? "true" : "false",
	       truncated ? "true" : "false");
	for (i = 0; i < n; i++)
		print_frame(d, &frames[i], i == 0);
	printf("]}");
}

/* ---- one process -------------------------------------------------------- */

static int dump_process(struct dump *d, pid_t pid)
{
	struct pythread *threads = calloc(MAX_THREADS, sizeof(*threads));
	struct pyframe_ref *frames = calloc(PYBPF_MAX_DEPTH, sizeof(*frames));
	size_t nthreads = 0, nframes, i;
	int err, truncated;

	err = pyproc_inspect(pid, &d->proc);
	if (err) {
		pb_err("%s", d->proc.err);
		goto out;
	}
	err = -ENOMEM;
	if (!threads || !frames)
		goto out;
	err = pywalk_threads(&d->proc, threads, MAX_THREADS, &nthreads);
	if (err) {
		pb_err("failed to read the thread list of process %d: %s", pid, strerror(-err));
		goto out;
	}
	if (!d->o->json)
		printf("%sProcess %d: %s\nPython v%s (%s)%s\n", d->first_json ? "" : "\n", pid,
		       d->proc.cmdline, d->proc.version,
		       d->proc.exe[0] ? d->proc.exe : d->proc.elf_path,
		       d->proc.free_threaded ? ", free-threaded" : "");
	d->first_json = d->o->json ? d->first_json : 0;
	for (i = 0; i < nthreads; i++) {
		const struct pythread *t = &threads[i];
		char name[64] = "";
		int active;

		active = thread_running(pid, t->tid);
		pywalk_frames(&d->proc, t, frames, PYBPF_MAX_DEPTH, &nframes, &truncated);
		active |= thread_running(pid, t->tid);
		/* threading's name (it needs the frames), else the kernel's */
		if (pythread_name(&d->proc, t, frames, nframes, name, sizeof(name)) && t->tid)
			proc_thread_comm(pid, t->tid, name, sizeof(name));
		if (!thread_filter_match(&d->o->filter, (uint32_t)t->tid, name))
			continue;
		if (t->tid && !thread_running(pid, t->tid) && access("/proc", F_OK) == 0) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, t->tid);
			if (access(path, F_OK)) {
				if (!d->o->json)
					printf("\nThread %d: gone (exited during the dump)\n", t->tid);
				continue;
			}
		}
		print_thread(d, t, name, active, frames, nframes, truncated);
	}
	if (!d->o->json)
		putchar('\n');
out:
	free(threads);
	free(frames);
	return err;
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
	if (geteuid() != 0)
		pb_warn("not root: reading another user's process needs CAP_SYS_PTRACE");
	pids[0] = o.pid;
	if (o.subprocesses)
		n = proc_descendants(o.pid, pids, sizeof(pids) / sizeof(pids[0]));
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
	thread_filter_free(&o.filter);
	return ok ? 0 : 1;
}
