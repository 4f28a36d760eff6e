// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* session.c - the lifecycle record and top share: checks, the sampler,
 * the processes it is given (targets.c decides which), periodic drains,
 * end conditions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "launch.h"
#include "nativesample.h"
#include "log.h"
#include "gilprobe.h"
#include "idleseed.h"
#include "pythreads.h"
#include "session.h"
#include "target.h"
#include "targets.h"

volatile sig_atomic_t session_interrupted;
volatile sig_atomic_t session_dump_requested;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		session_dump_requested = 1;
	else
		session_interrupted = sig; /* the exit status says which: 128+sig */
}

static void on_code(void *ctx, const struct code_event *ev)
{
	struct session *s = ctx;
	struct pyproc *p = targets_find(s, (pid_t)ev->pid);

	if (p && p->major)
		symbols_add(&s->syms, ev, &p->off, (p->major << 8) | p->minor);
}

/* A thread's name, looked up once: its Python threading name where the
 * interpreter has one, else the kernel's (live, or as the sampler saw it). */
static const char *thread_name(struct session *s, uint32_t pid, uint32_t tid)
{
	struct pyproc *p = targets_find(s, (pid_t)pid);
	struct pythread t = { .tid = (int32_t)tid };
	struct thread_entry te;
	char name[32] = "";

	if (htab_get(&s->agg.threads, &tid))
		return agg_thread_name(&s->agg, tid);
	if (p && p->major && sampler_thread(s->sampler, tid, &te) == 0 && te.tstate &&
	    proc_read((pid_t)pid, te.tstate + p->off.tstate_thread_id, &t.thread_id, 8) == 0) {
		t.tstate = te.tstate;
		if (pythread_name(p, &t, NULL, 0, s->draining ? &s->names : NULL, name,
				  sizeof(name)))
			name[0] = 0;
	}
	if (!name[0])
		proc_thread_comm((pid_t)pid, (pid_t)tid, name, sizeof(name));
	if (!name[0] && sampler_thread(s->sampler, tid, &te) == 0)
		snprintf(name, sizeof(name), "%.16s", te.comm);
	agg_thread(&s->agg, pid, tid, name, 0);
	if (s->window)
		agg_thread(s->window, pid, tid, name, 0);
	return agg_thread_name(&s->agg, tid);
}

/* Does the profile keep counts of (pid, tid) with these COUNT_* flags? */
static int wanted_count(struct session *s, uint32_t pid, uint32_t tid, uint32_t flags)
{
	const char *name;

	if (s->o.gil_only && !(flags & COUNT_GIL))
		return 0;
	if (!s->o.gil_wait != !(flags & COUNT_GILWAIT))
		return 0; /* --gil-wait profiles only the waits */
	name = thread_name(s, pid, tid);
	return !thread_filter_active(&s->o.filter) || thread_filter_match(&s->o.filter, tid, name);
}

static void on_timeline(void *ctx, const struct timeline_rec *r)
{
	struct session *s = ctx;
	struct agg_key key = { .pid = r->pid, .tid = r->tid, .hash = r->stack_hash,
			       .flags = r->flags, .native_hash = r->native_hash };

	if (wanted_count(s, r->pid, r->tid, r->flags))
		agg_timeline_add(&s->agg, &key, r->time_ns, r->dur_ns);
}

/* --native: the frames of a native side, resolved at its first drain */
static const struct nprof_stack *native_of(struct session *s, uint32_t pid, uint64_t hash,
					   const struct native_stack *nat)
{
	struct native_sampler *ns = sampler_native(s->sampler);
	struct pyproc *p;

	if (!nat || !ns || !s->nprof || !(p = targets_find(s, (pid_t)pid)))
		return NULL;
	return nprof_resolve(s->nprof, native_sampler_maps(ns), (pid_t)pid, p->major, p->minor,
			     hash, nat);
}

/* What on_stack keeps in a key's memo (sampler.h): its rows in the
 * profile (p[0]) and the window (p[1]) with their aggregates' gens, and
 * how it counts; the next drains count it with no look-up. */
enum { MEMO_NONE, MEMO_SAMPLES, MEMO_NS, MEMO_UNWANTED };

static void on_stack(void *ctx, const struct count_key *k, uint64_t count,
		     const struct frame_rec *frames, uint32_t depth, uint32_t flags,
		     const struct native_stack *nat, struct sampler_memo *memo)
{
	struct session *s = ctx;
	struct agg_key key = { .pid = k->pid, .tid = k->tid, .hash = k->stack_hash,
			       .flags = k->flags };
	struct agg_stack st = { .frames = frames, .depth = depth, .flags = flags };
	int ns = !!(k->flags & (COUNT_IDLE | COUNT_GILWAIT));
	struct agg_val *row[2] = { NULL, NULL };

	if (!wanted_count(s, k->pid, k->tid, k->flags)) {
		memo->kind = MEMO_UNWANTED; /* the thread's name is kept: so is this */
		return;
	}
	/* a native side that could not be read or resolved: Python only, as
	 * counted (native_stats), never a lost sample */
	st.native = native_of(s, k->pid, k->native_hash, nat);
	if (st.native)
		key.native_hash = k->native_hash;
	if (ns) {
		row[0] = agg_add_ns(&s->agg, &key, count, s->o.rate_hz, &st);
		if (s->window)
			row[1] = agg_add_ns(s->window, &key, count, s->o.rate_hz, &st);
	} else {
		row[0] = agg_add(&s->agg, &key, count, &st);
		if (s->window)
			row[1] = agg_add(s->window, &key, count, &st);
	}
	/* a native side not resolved yet may be at the next drain: its
	 * rows are other rows then */
	if (!row[0] || (s->window && !row[1]) || (k->native_hash && !st.native))
		return;
	memo->p[0] = row[0];
	memo->gen[0] = agg_rows_gen(&s->agg);
	if (s->window) {
		memo->p[1] = row[1];
		memo->gen[1] = agg_rows_gen(s->window);
	}
	memo->kind = ns ? MEMO_NS : MEMO_SAMPLES;
}

/* A key on_stack had: counted into its rows if they are still the
 * aggregates' (neither cleared nor, for top's window, swapped for the
 * other since: agg_rows_gen). */
static int on_memo(void *ctx, struct sampler_memo *memo, uint64_t count)
{
	struct session *s = ctx;

	if (memo->kind == MEMO_UNWANTED)
		return 1;
	if (memo->gen[0] != agg_rows_gen(&s->agg) ||
	    (s->window && memo->gen[1] != agg_rows_gen(s->window)))
		return 0;
	if (memo->kind == MEMO_NS) {
		agg_row_add_ns(&s->agg, memo->p[0], count, s->o.rate_hz);
		if (s->window)
			agg_row_add_ns(s->window, memo->p[1], count, s->o.rate_hz);
	} else {
		agg_row_add(&s->agg, memo->p[0], count);
		if (s->window)
			agg_row_add(s->window, memo->p[1], count);
	}
	return 1;
}

/* on_stack(k) comes a few keys later: its profile rows on their way (a
 * native side that turns out unresolved is a row not prefetched) */
static void on_stack_soon(void *ctx, const struct count_key *k)
{
	struct session *s = ctx;
	struct agg_key key = { .pid = k->pid, .tid = k->tid, .hash = k->stack_hash,
			       .flags = k->flags, .native_hash = k->native_hash };

	agg_prefetch(&s->agg, &key);
	if (s->window)
		agg_prefetch(s->window, &key);
}

/* --native: every profiled process's mappings read again (a drain, or
 * pcs found in no known mapping since the last time) */
static void native_refresh(struct session *s, int force)
{
	struct native_sampler *ns = sampler_native(s->sampler);
	uint64_t st[NATIVE_SAMPLER_NSTATS];
	size_t i;

	if (!ns)
		return;
	native_sampler_stats(ns, st);
	if (!force && st[NATIVE_STAT_NO_MAPPING] == s->native_no_mapping)
		return;
	s->native_no_mapping = st[NATIVE_STAT_NO_MAPPING];
	if (!s->o.all && s->proc.pid && !s->proc.gone)
		sampler_native_update(s->sampler, s->proc.pid);
	for (i = 0; i < s->nkids; i++)
		if (!s->kids[i]->gone)
			sampler_native_update(s->sampler, s->kids[i]->pid);
}

void session_native_report(struct session *s, FILE *f)
{
	struct native_sampler *ns = sampler_native(s->sampler);
	uint64_t st[NATIVE_SAMPLER_NSTATS];
	char line[256];
	int i;

	if (!ns)
		return;
	native_sampler_stats(ns, st);
	for (i = 0; i < NATIVE_SAMPLER_NSTATS; i++)
		fprintf(f, "  %-60s %llu\n", native_sampler_stat_name(i),
			(unsigned long long)st[i]);
	native_sampler_tables(ns, line, sizeof(line));
	fprintf(f, "  %s\n", line);
}

/* --gil-wait: probes on this interpreter's take_gil/drop_gil */
static int attach_gil(struct session *s, const struct pyproc *p)
{
	struct gil_probes probes;
	int err;

	err = gil_probes_find(p, &probes);
	if (err)
		return err;
	if (probes.fallback && !s->gil_fallback_said++)
		pb_warn("%s: %s", p->elf_path, gil_fallback_missing);
	return sampler_attach_gil(s->sampler, p->pid, probes.path, probes.take, probes.ntake,
				  probes.drop, probes.ndrop);
}

/* Before 3.12 nothing in the interpreter counts code objects: pybpf's
 * probe on their dealloc does, so that the walk's code cache is trusted
 * without reads (sampler.bpf.c pybpf_code_free).  Attached before the
 * record is pushed; the count starts at an epoch of its own, so no walk
 * of an earlier record (this pid before an exec) matches it.  A process
 * that frees code objects fast loses the probe again (checked at every
 * poll: sampler_check_code_frees). */
static void count_code_frees(struct session *s, const struct pyproc *p, struct proc_info *info)
{
	char path[PATH_MAX + 32];
	uint64_t epoch = ++s->pushes << 40;

	if (!p->code_free_off)
		return;
	snprintf(path, sizeof(path), "/proc/%d/root%s", p->pid, p->elf_path);
	if (sampler_attach_code_free(s->sampler, p->pid, path, p->code_free_off, epoch))
		return;
	info->code_free_probe = 1;
	info->code_frees = epoch;
}

int session_add_proc(struct session *s, const struct pyproc *p)
{
	struct proc_info info;
	char ver[64];
	int err;

	if ((s->o.gil_only || s->o.gil_wait) && p->free_threaded) {
		/* a free-threaded build has no GIL to hold or wait for */
		if (p == &s->proc)
			pb_err("%s: CPython %s (%s) is a free-threaded build: it has no GIL",
			       s->o.gil_only ? "--gil" : "--gil-wait", p->version, p->elf_path);
		else
			pb_debug("skipping pid %d: free-threaded, no GIL", p->pid);
		return -ENOTSUP;
	}
	pyproc_info(p, s->o.max_depth, &info);
	info.want_gil = s->o.gil_only || s->o.mark_gil;
	err = sampler_native_update(s->sampler, p->pid);
	if (err && err != -ESRCH)
		pb_debug("pid %d: native mappings not read: %s", p->pid, strerror(-err));
	count_code_frees(s, p, &info);
	err = sampler_add_proc(s->sampler, p->pid, &info);
	if (err) {
		sampler_remove_proc(s->sampler, p->pid); /* its probes */
		if (!s->procs_refused++)
			pb_err("failed to add process %d to the sampler: %s%s", p->pid, strerror(-err),
			       err == -E2BIG ? " (process map full; further ones are counted)" : "");
		return err;
	}
	if (s->o.gil_wait && attach_gil(s, p)) {
		sampler_remove_proc(s->sampler, p->pid);
		return -EINVAL;
	}
	agg_process(&s->agg, p->pid, p->nspid, p->cmdline, p->comm, p->cgroup);
	if (s->window)
		agg_process(s->window, p->pid, p->nspid, p->cmdline, p->comm, p->cgroup);
	if (s->o.idle)
		idle_seed_process(s->sampler, &s->syms, p);
	if (p->untested)
		pb_warn("pid %d: CPython %s is newer than any this pybpf was tested with; its offsets come from its own _Py_DebugOffsets",
			p->pid, pyproc_version(p, ver, sizeof(ver)));
	pb_debug("profiling pid %d (ns pid %d, cgroup %s): CPython %s (%s), _PyRuntime at 0x%llx, offsets from %s",
		 p->pid, p->nspid, p->cgroup, pyproc_version(p, ver, sizeof(ver)), p->elf_path,
		 (unsigned long long)p->runtime_addr,
		 p->offsets_source == OFFSETS_DEBUG ? "its _Py_DebugOffsets" : "the generated table");
	return 0;
}

int session_start(struct session *s, const struct session_opts *o)
{
	struct sampler_opts so = {
		.rate_hz = o->rate_hz, .max_procs = o->all ? 8192 : o->subprocesses ? 1024 : 64, .max_stacks = 65536,
		.max_counts = 65536, .max_codes = 131072, .idle = o->idle, .gil_wait = o->gil_wait,
		.timeline_fn = o->timeline ? on_timeline : NULL, .native = o->native,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	const char *max_counts = getenv("PYBPF_MAX_COUNTS"); /* tests: rotate often */
	const char *max_stacks = getenv("PYBPF_MAX_STACKS"); /* tests: fill the stack sets */
	struct timespec ts;
	int err;

	if (max_counts && atoi(max_counts) > 0)
		so.max_counts = (uint32_t)atoi(max_counts);
	if (max_stacks && atoi(max_stacks) > 0)
		so.max_stacks = (uint32_t)atoi(max_stacks);

	memset(s, 0, sizeof(*s));
	s->o = *o;
	symbols_init(&s->syms);
	agg_init(&s->agg);
	pythread_cache_init(&s->names);
	htab_init(&s->not_python, sizeof(uint64_t), sizeof(uint64_t));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	err = target_check_kernel();
	if (err)
		return err;
	if (!o->cmd && !o->all) {
		s->proc.pid = o->pid;
		err = targets_inspect(s);
		if (err)
			return err;
	}
	if (o->native) {
		err = nprof_new(&s->nprof);
		if (err)
			return err;
	}
	err = sampler_open(&so, on_code, s, &s->sampler);
	if (err)
		return err;
	if (o->cmd) {
		err = launch(o->cmd, &s->child);
		if (err)
			return err;
		s->proc.pid = s->child;
		err = targets_inspect(s);
		if (err)
			return err;
	}
	if (!o->all) {
		err = session_add_proc(s, &s->proc);
		if (err)
			return err;
	}
	if (o->subprocesses || o->all)
		targets_scan(s);
	s->start_ns = s->last_ns = now_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	s->start_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	return 0;
}

double session_elapsed(const struct session *s)
{
	return (double)((s->last_ns ? s->last_ns : now_ns()) - s->start_ns) / 1e9;
}

int session_run(struct session *s, int timeout_ms)
{
	sampler_poll(s->sampler, timeout_ms);
	s->last_ns = now_ns();
	native_refresh(s, 0);
	sampler_check_code_frees(s->sampler, s->last_ns);
	if (s->o.subprocesses || s->o.all)
		targets_scan(s);
	if (session_interrupted)
		return 0;
	if (s->o.duration > 0 && session_elapsed(s) >= s->o.duration)
		return 0;
	if (s->child) {
		if (!s->child_exited && launch_reaped(s->child, &s->child_code))
			s->child_exited = 1;
		return !s->child_exited;
	}
	if (!s->o.all && !target_alive_every(s->proc.pid, s->last_ns, &s->next_alive_ns)) {
		s->target_gone = 1;
		return 0;
	}
	return 1;
}

int session_drain_due(const struct session *s)
{
	return sampler_drain_due(s->sampler);
}

int session_drain(struct session *s)
{
	int err;

	sampler_poll(s->sampler, 0);  /* symbols before the stacks that use them */
	/* threading._active is read once for a drain's new threads and kept
	 * for that drain only: threads come and go, idents are reused */
	s->draining = 1;
	err = sampler_drain(s->sampler, &(struct sampler_drain_fns){ .stack = on_stack,
								     .prefetch = on_stack_soon,
								     .memo = on_memo, .ctx = s });
	s->draining = 0;
	pythread_cache_clear(&s->names);
	native_refresh(s, 1);
	return err;
}

void session_finish(struct session *s)
{
	/* stop counting, then drain both counts maps: the summary's counters
	 * and the profile then cover the same samples */
	sampler_stop(s->sampler);
	session_drain(s);
	session_drain(s);
	if (s->child && !s->child_exited) {
		launch_stop(s->child, 2000, &s->child_code);
		s->child_exited = 1;
	}
}

/* ---- forgetting, so a long run keeps flat memory ---------------------- */

static int keep_symbol(void *ctx, const struct symbol *sym)
{
	struct pyproc *p = targets_find(ctx, (pid_t)sym->pid);

	return p && !p->gone;
}

static int keep_process(void *ctx, const void *key, void *val)
{
	struct pyproc *p = targets_find(ctx, (pid_t)*(const uint32_t *)key);

	(void)val;
	return p && !p->gone;
}

static int keep_thread(void *ctx, const void *key, void *val)
{
	const struct agg_thread *t = val;
	struct pyproc *p = targets_find(ctx, (pid_t)t->pid);
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", t->pid, *(const uint32_t *)key);
	return p && !p->gone && access(path, F_OK) == 0;
}

void session_forget(struct session *s)
{
	size_t n, syms;

	sampler_forget_stacks(s->sampler);
	/* what only exited processes and threads needed: their samples are
	 * in the files just written */
	syms = symbols_forget(&s->syms, keep_symbol, s);
	htab_retain(&s->agg.processes, keep_process, s);
	htab_retain(&s->agg.threads, keep_thread, s);
	n = targets_forget(s);
	pb_debug("forgot %zu exited processes, %zu symbols", n, syms);
}


void session_stats(struct session *s, uint64_t out[SAMPLER_NSTATS])
{
	sampler_stats(s->sampler, out);
}

void session_close(struct session *s)
{
	if (s->child && !s->child_exited) {
		launch_stop(s->child, 2000, &s->child_code);
		s->child_exited = 1;
	}
	sampler_close(s->sampler);
	nprof_free(s->nprof);
	agg_free(&s->agg);
	pythread_cache_free(&s->names);
	targets_free(s);
	symbols_free(&s->syms);
}
