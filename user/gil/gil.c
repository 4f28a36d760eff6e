// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gil.c - `pybpf gil`: per-thread GIL take/hold/drop statistics from
 * uprobes on the target's take_gil and drop_gil, every interval, and
 * every long wait or hold with its Python stack.  The only file that sees
 * the gil skeleton; lifecycle: options (gilopts.c) -> target -> probe
 * points (gilprobe.c) -> open, configure, load -> attach -> poll and print
 * (gilreport.c) -> one cleanup path. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "commands.h"
#include "gilopts.h"
#include "gilprobe.h"
#include "gilreport.h"
#include "launch.h"
#include "log.h"
#include "pythreads.h"
#include "pywalk.h"
#include "sampler.h"
#include "session.h"
#include "target.h"
#include "gil.skel.h"

struct gil_run {
	struct gil_opts o;
	struct pyproc proc;
	struct gil_probes probes;
	struct gil_bpf *skel;
	struct bpf_link *links[4 * GIL_MAX_SITES + 1];
	int nlinks;
	struct ring_buffer *rb;
	struct symbols syms;
	struct gil_report rep;
	int rep_ready;
	struct gil_entry *entries;
	size_t cap;
	pid_t child;
	int child_exited, child_code;
	uint64_t next_alive_ns;     /* the target's /proc state read again */
	int no_gil;                  /* free-threaded build: exit 0 */
	struct htab names;           /* tid -> threading name (char[32]) */
	uint64_t names_ns;           /* when they were last read */
};

static void on_signal(int sig)
{
	session_interrupted = sig; /* main.c exits 128+sig, as record does */
}

/* ---- thread names --------------------------------------------------- */

#define NAME_LEN 32

/* threading's names of every thread now, as record -t and dump show
 * them; read each interval, and when a long wait/hold names a thread not
 * seen yet (at most every 200 ms): threads start at any time. */
static void read_names(struct gil_run *g)
{
	struct pythread th[256];
	struct pythread_cache cache;
	char name[NAME_LEN];
	size_t n = 0, i;

	g->names_ns = now_ns();
	if (!g->proc.major || pywalk_threads(&g->proc, th, 256, &n))
		return;
	pythread_cache_init(&cache);
	for (i = 0; i < n; i++) {
		uint32_t tid = (uint32_t)th[i].tid;
		char *slot;

		if (th[i].tid <= 0 ||
		    pythread_name(&g->proc, &th[i], NULL, 0, &cache, name, sizeof(name)))
			continue;
		slot = htab_put(&g->names, &tid, NULL);
		if (slot)
			memcpy(slot, name, NAME_LEN);
	}
	pythread_cache_free(&cache);
}

static int python_name(void *ctx, uint32_t tid, char *buf, size_t len)
{
	struct gil_run *g = ctx;
	const char *name = htab_get(&g->names, &tid);

	if ((!name || !name[0]) && now_ns() - g->names_ns >= 200000000ull) {
		read_names(g);
		name = htab_get(&g->names, &tid);
	}
	if (!name || !name[0])
		return -ENOENT;
	snprintf(buf, len, "%s", name);
	return 0;
}

/* ---- target ----------------------------------------------------------- */

/* Find the interpreter.  One without a GIL (free-threaded) sets no_gil
 * and returns -ENOTSUP after saying so: nothing to measure, not an error. */
static int find_target(struct gil_run *g)
{
	int err;

	if (g->o.cmd) {
		err = launch(g->o.cmd, &g->child);
		if (err)
			return err;
	}
	err = target_inspect(g->child ? g->child : g->o.pid, g->child, &g->proc, &g->child_exited,
			     &g->child_code);
	/* a free-threaded build may not match the regular build's offsets */
	if ((!err || err == -EPROTO || err == -ENOTSUP) && gil_free_threaded(&g->proc)) {
		fprintf(stderr, "pybpf: this interpreter has no GIL: CPython %s (%s) is a free-threaded build\n",
			g->proc.version, g->proc.elf_path);
		g->no_gil = 1;
		return -ENOTSUP;
	}
	if (err)
		pb_err("%s", g->proc.err);
	return err;
}

/* The target, its probe points, and the notice if they are the fallback. */
static int prepare_target(struct gil_run *g)
{
	int err = find_target(g);

	if (err)
		return err;
	err = gil_probes_find(&g->proc, &g->probes);
	if (err)
		return err;
	pb_debug("gil: probing %s at %zu place(s) and %s at %zu in %s", g->probes.take_fn,
		 g->probes.ntake, g->probes.drop_fn, g->probes.ndrop, g->probes.path);
	if (g->probes.fallback)
		fprintf(stderr, "pybpf: %s has no take_gil/drop_gil symbols and no debug file with "
				"them: tracing PyEval_RestoreThread/PyEval_SaveThread instead; %s\n",
			g->proc.elf_path, gil_fallback_missing);
	return 0;
}

/* ---- BPF side ---------------------------------------------------------- */

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_ring(void *ctx, void *data, size_t size)
{
	struct gil_run *g = ctx;
	const struct code_event *code = data;

	/* one ring, in order: code events precede the events that use them */
	if (size == sizeof(struct code_event)) {
		if (code->pid == (uint32_t)g->proc.pid)
			symbols_add(&g->syms, code, &g->proc.off, (g->proc.major << 8) | g->proc.minor);
	} else if (size == sizeof(struct gil_event) && g->rep_ready) {
		gil_report_event(&g->rep, data);
	}
	return 0;
}

static int load(struct gil_run *g)
{
	int err;

	/* open: configure before load */
	g->skel = gil_bpf__open();
	if (!g->skel) {
		err = -errno;
		pb_err("failed to open BPF object: %s", strerror(-err));
		return err;
	}
	g->skel->rodata->wait_threshold_ns = g->o.wait_threshold_ns;
	g->skel->rodata->hold_threshold_ns = g->o.hold_threshold_ns;
	bpf_map__set_max_entries(g->skel->maps.procs, 8);
	bpf_map__set_max_entries(g->skel->maps.threads, 8192);
	bpf_map__set_max_entries(g->skel->maps.codes, 16384);
	bpf_map__set_max_entries(g->skel->maps.counts, 1);

	/* load: the verifier runs here */
	err = gil_bpf__load(g->skel);
	if (err) {
		pb_err("failed to load BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		return err;
	}
	g->rb = ring_buffer__new(bpf_map__fd(g->skel->maps.events), on_ring, g, NULL);
	if (!g->rb) {
		err = -errno;
		pb_err("failed to create ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int add_proc(struct gil_run *g)
{
	struct proc_info info;
	__u32 key = g->proc.pid;
	int err;

	pyproc_info(&g->proc, g->o.max_depth, &info);
	if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.procs), &key, &info, BPF_ANY)) {
		err = -errno;
		pb_err("failed to add process %d: %s", g->proc.pid, strerror(-err));
		return err;
	}
	return 0;
}

static int attach_one(struct gil_run *g, struct bpf_program *prog, uint64_t off, int ret,
		      const char *fn)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(prog, g->proc.pid, g->probes.path, off, &opts);
	if (!link) {
		err = -errno;
		pb_err("failed to attach %s to %s in %s: %s", ret ? "uretprobe" : "uprobe", fn,
		       g->proc.elf_path, strerror(-err));
		return err;
	}
	g->links[g->nlinks++] = link;
	return 0;
}

/* Thread exits first; then returns before entries: a call whose entry is
 * seen always has its return seen too. */
static int attach(struct gil_run *g)
{
	const struct gil_probes *p = &g->probes;
	size_t i;
	int err = 0;

	g->links[g->nlinks] = bpf_program__attach(g->skel->progs.gil_thread_gone);
	if (!g->links[g->nlinks]) {
		err = -errno;
		pb_err("failed to attach to the sched_process_exit tracepoint: %s", strerror(-err));
		return err;
	}
	g->nlinks++;
	for (i = 0; !err && i < p->ntake; i++)
		err = attach_one(g, g->skel->progs.gil_take_exit, p->take[i], 1, p->take_fn);
	for (i = 0; !err && i < p->ndrop; i++)
		err = attach_one(g, g->skel->progs.gil_drop_exit, p->drop[i], 1, p->drop_fn);
	for (i = 0; !err && i < p->ndrop; i++)
		err = attach_one(g, g->skel->progs.gil_drop_enter, p->drop[i], 0, p->drop_fn);
	for (i = 0; !err && i < p->ntake; i++)
		err = attach_one(g, g->skel->progs.gil_take_enter, p->take[i], 0, p->take_fn);
	return err;
}

/* The thread holding the GIL now has no take to be seen: start its hold
 * now (attach time, or a later poll with fallback probes) unless a probe
 * or an earlier seeding already created its entry. */
static void seed_holder(struct gil_run *g, uint64_t attach_ns)
{
	struct pythread th[256];
	struct gil_thread t = { .pid = g->proc.pid, .flags = GIL_T_SEEDED, .hold_start = attach_ns };
	size_t n = 0, i;
	__u32 tid;

	if (!g->proc.initialized || pywalk_threads(&g->proc, th, 256, &n))
		return;
	for (i = 0; i < n; i++) {
		if (!th[i].owns_gil || th[i].tid <= 0)
			continue;
		tid = th[i].tid;
		if (!bpf_map_update_elem(bpf_map__fd(g->skel->maps.gil_threads), &tid, &t, BPF_NOEXIST))
			pb_debug("gil: thread %u held the GIL when tracing began", tid);
	}
}

/* Every gil_threads entry into g->entries; the count, or -errno. */
static ssize_t read_entries(struct gil_run *g)
{
	int fd = bpf_map__fd(g->skel->maps.gil_threads);
	__u32 key, next;
	size_t n = 0;
	int err;

	for (err = bpf_map_get_next_key(fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 64;
			struct gil_entry *e = realloc(g->entries, cap * sizeof(*e));

			if (!e)
				return -ENOMEM;
			g->entries = e;
			g->cap = cap;
		}
		if (bpf_map_lookup_elem(fd, &key, &g->entries[n].t))
			continue;
		g->entries[n].tid = key;
		if (g->entries[n].t.pid == (uint32_t)g->proc.pid)
			n++;
	}
	return (ssize_t)n;
}

static int task_exists(pid_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%u", pid, tid);
	return access(path, F_OK) == 0;
}

/* Print the interval that ends now; then forget threads that exited. */
static int interval(struct gil_run *g)
{
	int fd = bpf_map__fd(g->skel->maps.gil_threads);
	uint64_t now = now_ns();
	ssize_t n = read_entries(g), i;
	char *name;
	int err;

	if (n < 0)
		return (int)n;
	read_names(g);
	err = gil_report_interval(&g->rep, now, g->entries, (size_t)n);
	for (i = 0; i < n; i++) {
		if (task_exists(g->proc.pid, g->entries[i].tid))
			continue;
		bpf_map_delete_elem(fd, &g->entries[i].tid);
		gil_report_forget(&g->rep, g->entries[i].tid);
		name = htab_get(&g->names, &g->entries[i].tid);
		if (name) /* a later thread with this tid has a name of its own */
			name[0] = 0;
	}
	return err;
}

/* ---- the end ---------------------------------------------------------- */

static void sum_percpu(int fd, __u32 nkeys, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));
	__u32 k;

	for (k = 0; vals && k < nkeys; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

static void summary(struct gil_run *g)
{
	uint64_t gs[GIL_STAT_NR] = {}, ws[STAT_NR] = {};

	sum_percpu(bpf_map__fd(g->skel->maps.gil_stats), GIL_STAT_NR, gs);
	sum_percpu(bpf_map__fd(g->skel->maps.stats), STAT_NR, ws);
	gil_report_summary(&g->rep, now_ns(), gs, ws);
}

static void cleanup(struct gil_run *g)
{
	int i;

	if (g->child && !g->child_exited) {
		launch_stop(g->child, 2000, &g->child_code);
		g->child_exited = 1;
	}
	for (i = g->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(g->links[i]);
	ring_buffer__free(g->rb);
	gil_bpf__destroy(g->skel);
	if (g->rep_ready)
		gil_report_free(&g->rep);
	symbols_free(&g->syms);
	htab_free(&g->names);
	free(g->entries);
}

/* ---- main loop -------------------------------------------------------- */

static int ended(struct gil_run *g, uint64_t now, uint64_t start)
{
	if (session_interrupted)
		return 1;
	if (g->o.duration > 0 && now - start >= (uint64_t)(g->o.duration * 1e9))
		return 1;
	if (g->child) {
		if (!g->child_exited && launch_reaped(g->child, &g->child_code))
			g->child_exited = 1;
		return g->child_exited;
	}
	return !target_alive_every(g->proc.pid, now, &g->next_alive_ns);
}

static int trace(struct gil_run *g)
{
	uint64_t step = (uint64_t)(g->o.interval * 1e9), start, next, now;
	int err = 0, timeout;

	start = now_ns();
	seed_holder(g, start);
	gil_report_init(&g->rep, &g->o.report, stdout, &g->proc, &g->syms,
			g->probes.fallback ? "PyEval_RestoreThread/PyEval_SaveThread" : "take_gil/drop_gil",
			start);
	g->rep.name_fn = python_name;
	g->rep.name_ctx = g;
	read_names(g);
	g->rep_ready = 1;
	for (next = start + step; !err;) {
		now = now_ns();
		timeout = next > now ? (int)((next - now) / 1000000 + 1) : 0;
		ring_buffer__poll(g->rb, timeout < 100 ? timeout : 100);
		now = now_ns();
		/* Fallback probes never see a forced switch: a thread that got the
		 * GIL that way and never blocks (a pure-Python spinner) would stay
		 * unseen if another held the GIL at the first seeding. */
		if (g->probes.fallback)
			seed_holder(g, now);
		if (now >= next) {
			err = interval(g);
			next += step;
			if (next <= now)
				next = now + step;
		}
		if (ended(g, now, start))
			break;
	}
	ring_buffer__consume(g->rb);
	if (!err && (!g->rep.intervals || now_ns() - g->rep.last_ns >= 50000000ull))
		err = interval(g);
	return err;
}

int cmd_gil(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct gil_run g = {};
	int err;

	if (gil_parse(argc, argv, &g.o))
		return 2;
	symbols_init(&g.syms);
	htab_init(&g.names, sizeof(uint32_t), NAME_LEN);
	libbpf_set_print(libbpf_log);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err = target_check_kernel();
	if (err)
		goto out;
	/* a command is launched once the BPF side is loaded, to miss less of it */
	if (!g.o.cmd)
		err = prepare_target(&g);
	if (!err)
		err = load(&g);
	if (!err && g.o.cmd)
		err = prepare_target(&g);
	if (!err)
		err = add_proc(&g);
	if (!err)
		err = attach(&g);
	if (err)
		goto out;
	fprintf(stderr, "pybpf: tracing the GIL of pid %d (CPython %s, %s/%s in %s)%s; Ctrl-C to stop\n",
		g.proc.pid, g.proc.version, g.probes.take_fn, g.probes.drop_fn, g.probes.symbols_from,
		g.o.wait_threshold_ns || g.o.hold_threshold_ns ? ", long waits/holds with stacks" : "");
	err = trace(&g);
	if (err)
		pb_err("failed to read the GIL statistics: %s", strerror(-err));
	if (g.child && !g.child_exited) { /* said before the summary, as record does */
		launch_stop(g.child, 2000, &g.child_code);
		g.child_exited = 1;
	}
	summary(&g);
out:
	cleanup(&g);
	if (g.no_gil)
		return 0;
	if (err)
		return 1;
	if (session_interrupted)
		return 128 + session_interrupted; /* Ctrl-C: 130 */
	return g.child ? g.child_code : 0;
}
