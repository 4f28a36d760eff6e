// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sampler.c - lifecycle of the BPF sampler: open, size maps, load, attach
 * a cpu-clock perf event per online CPU; then push processes, poll code
 * events and drain the counts (countslots.c); one cleanup path. */
#include <sys/resource.h>
#include <sys/utsname.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bigmem.h"
#include "htab.h"
#include "log.h"
#include "countslots.h"
#include "nativesample.h"
#include "proc.h"
#include "sampler.h"
#include "stackcache.h"
#include "sampler.skel.h"

/* A uprobe attached for one process: detached when the process goes. */
enum probe_kind { PROBE_GIL = 1, PROBE_CODE_FREE };
struct probe_link {
	pid_t pid;
	enum probe_kind kind;
	struct bpf_link *link;
	uint64_t since_ns, frees;       /* PROBE_CODE_FREE: the count at the last check */
};
#define DRAIN_BATCH 4096 /* count keys a drain hands over at a time */
#define DRAIN_AHEAD 16   /* keys ahead a drain prefetches the tables' memory */

struct sampler {
	struct sampler_bpf *skel;
	struct bpf_link **links;
	int nlinks;
	struct bpf_link *switch_link;   /* --idle */
	struct bpf_link *exec_link;
	struct probe_link *uprobes;     /* --gil-wait, code objects freed */
	size_t nuprobes, capuprobes;
	struct ring_buffer *rb;
	sampler_code_fn code_fn;
	sampler_timeline_fn timeline_fn;
	void *ctx;
	struct count_slots slots;   /* the counts, mapped (countslots.h) */
	int stopped;                /* sampler_stop ran: the next drain waits */
	int forget_native;          /* a forget's native sweep, at the next drain's end */
	struct stack_cache stacks;  /* the stacks sent, by hash */
	struct sampler_drain_cost slowest, last; /* the slowest drain, the last with keys */
	/* a drain's batch buffers, kept: memory new to the process costs a
	 * page fault per 4 KiB, tens of microseconds each on a VM */
	uint32_t *drain_slots;
	struct count_key *drain_keys;
	__u64 *drain_counts;
	const struct cached_stack **drain_stacks;
	/* a memo a slot (sampler.h), on huge pages (bigmem.h); one made
	 * while memo_gen[its set] was what it is now holds: the gen moves on
	 * when the set is retired (memo_retired: the retirements it counts)
	 * and at a forget */
	struct sampler_memo *memos;
	size_t memos_len;
	uint32_t memo_gen[2];
	uint64_t memo_retired[2];
	uint64_t lost_user;         /* counts whose stack could not be read */
	struct native_sampler *native; /* --native */
};

static const char *stat_names[SAMPLER_NSTATS] = {
	[STAT_SAMPLES] = "samples in profiled processes",
	[STAT_STACKS] = "stacks recorded",
	[STAT_NO_TSTATE] = "threads without a Python thread state",
	[STAT_EMPTY] = "thread states without Python frames",
	[STAT_NOT_READY] = "samples before the interpreter existed (start-up)",
	[STAT_EXITING] = "samples of exiting threads, not walked (their memory is going)",
	[STAT_ERR_RUNTIME] = "runtime read failures",
	[STAT_ERR_TSTATE] = "thread state read failures",
	[STAT_ERR_FRAME] = "frame read failures",
	[STAT_ERR_CODE] = "code object read failures",
	[STAT_ERR_NAME] = "function name read failures",
	[STAT_TRUNCATED] = "stacks truncated at --max-depth",
	[STAT_LOST_COUNTS] = "samples lost: counts map full",
	[STAT_LOST_STACKS] = "samples lost: stack ring or key set full",
	[STAT_LOST_CODES] = "frames unnamed: code map full",
	[STAT_LOST_EVENTS] = "frames unnamed: event ring full",
	[STAT_ERR_SYMBOL] = "incomplete symbol copies",
	[STAT_THREAD_SCAN] = "thread lists longer than the scan limit",
	[STAT_NESTED] = "samples refused: a BPF program would have nested on the CPU",
	[STAT_LOST_TIMELINE] = "samples left out of the time order: timeline ring full",
	[STAT_FRAMES] = "Python frames walked",
	[STAT_CODE_UNREAD] = "... named without reading the code object (code cache, or a stack stored before)",
	[STAT_READS] = "user-memory reads for Python stacks (counted with -v only)",
	[STAT_STACKS_STORED] = "stacks stored (new stack hashes)",
	[STAT_CHUNKS_STORED] = "stack chunks stored",
	[STAT_CHUNKS_SHARED] = "stack chunks shared with stacks stored before",
	[STAT_EVAL_ENTRY] = "samples caught entering the eval loop, walked from the caller",
	[STAT_EVAL_ENTRY_STALE] = "samples caught entering the eval loop before its caller was "
				  "linked, not counted (no stack to trust)",
	[SAMPLER_LOST_USER] = "samples lost: stack not readable",
	[SAMPLER_RECURSION_MISSES] = "samples skipped by the kernel: BPF program would nest",
};

const char *sampler_stat_name(int stat)
{
	return stat >= 0 && stat < SAMPLER_NSTATS ? stat_names[stat] : "?";
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;

	if (size >= sizeof(struct code_event))
		s->code_fn(s->ctx, data);
	return 0;
}

static int on_stack_event(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;

	if (size >= sizeof(struct stack_event))
		stack_cache_event(&s->stacks, data);
	return 0;
}

static int on_timeline(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;

	if (size >= sizeof(struct timeline_rec))
		s->timeline_fn(s->ctx, data);
	return 0;
}

static int attach_cpus(struct sampler *s, uint32_t rate_hz)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err;
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.sample_period = 1000000000ull / rate_hz,
	};

	if (ncpu < 0)
		return ncpu;
	s->links = calloc(ncpu, sizeof(*s->links));
	if (!s->links)
		return -ENOMEM;
	for (cpu = 0; cpu < ncpu; cpu++) {
		int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* offline CPU */
			err = -errno;
			pb_err("failed to open perf event on CPU %d: %s", cpu, strerror(errno));
			return err;
		}
		s->links[s->nlinks] = bpf_program__attach_perf_event(s->skel->progs.pybpf_sample, fd);
		if (!s->links[s->nlinks]) {
			err = -errno;
			close(fd);
			pb_err("failed to attach BPF program to CPU %d: %s", cpu, strerror(-err));
			return err;
		}
		s->nlinks++;
	}
	return 0;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !log_verbose))
		return 0;
	return log_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

/* Can a perf_event program use a hash map that allocates its elements
 * as they are added?  From Linux 6.1 (the BPF memory allocator) it can;
 * before, only preallocated maps load. */
static int kernel_allocates_anywhere(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 1);
}

/* A hash map sized for the worst case allocates its elements on use,
 * not all at once at load: preallocating the sampler's maps took about
 * 0.3 s of every start here, for maps a profile mostly leaves empty. */
static void lazy_map(struct bpf_map *map)
{
	if (map)
		bpf_map__set_map_flags(map, bpf_map__map_flags(map) | BPF_F_NO_PREALLOC);
}

/* PYBPF_VERIFIER_LOG=DIR (a developer's aid, tools/verifier_lines.py):
 * every program is loaded with the verifier's full log, written to
 * DIR/<program>.log.  The logs run to hundreds of megabytes. */
#define VERIFIER_LOG_BYTES (1023u << 20) /* the most the kernel takes */

static char **verifier_logs_begin(struct bpf_object *obj)
{
	struct bpf_program *prog;
	char **bufs;
	int n = 0;

	if (!getenv("PYBPF_VERIFIER_LOG"))
		return NULL;
	bpf_object__for_each_program(prog, obj)
		n++;
	bufs = calloc(n + 1, sizeof(*bufs));
	n = 0;
	bpf_object__for_each_program(prog, obj) {
		if (!bufs || !bpf_program__autoload(prog))
			continue;
		bufs[n] = malloc(VERIFIER_LOG_BYTES);
		if (bufs[n]) {
			bpf_program__set_log_level(prog, 2);
			bpf_program__set_log_buf(prog, bufs[n++], VERIFIER_LOG_BYTES);
		}
	}
	return bufs;
}

static void verifier_logs_end(struct bpf_object *obj, char **bufs)
{
	const char *dir = getenv("PYBPF_VERIFIER_LOG");
	struct bpf_program *prog;
	char path[4096];
	size_t size;
	FILE *f;
	int i;

	if (!bufs)
		return;
	bpf_object__for_each_program(prog, obj) {
		const char *log = bpf_program__log_buf(prog, &size);

		if (!log)
			continue;
		snprintf(path, sizeof(path), "%s/%s.log", dir, bpf_program__name(prog));
		f = fopen(path, "w");
		if (!f) {
			pb_warn("cannot write %s: %s", path, strerror(errno));
			continue;
		}
		fputs(log, f);
		fclose(f);
		bpf_program__set_log_buf(prog, NULL, 0);
	}
	for (i = 0; bufs[i]; i++)
		free(bufs[i]);
	free(bufs);
}

/* -v: how much the verifier had to do for each program loaded (its run
 * time is the sampler's start-up time). */
static void log_verifier_work(struct bpf_object *obj)
{
	struct bpf_program *prog;

	if (!log_verbose)
		return;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		pb_debug("verifier: %s: %u instructions verified, %u loaded",
			 bpf_program__name(prog), info.verified_insns, info.xlated_prog_len / 8);
	}
}

/* Each probe is a file descriptor (--all: one or more a process), each
 * CPU's perf event another: the soft limit on open files goes up to the
 * hard one, as other BPF tools do (pybpf uses poll, never select). */
static void raise_open_files(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int sampler_open(const struct sampler_opts *opts, sampler_code_fn code_fn, void *ctx,
		 struct sampler **out)
{
	struct sampler *s;
	char **vlogs;
	int err;

	libbpf_set_print(libbpf_log);
	raise_open_files();
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->code_fn = code_fn;
	s->ctx = ctx;
	stack_cache_init(&s->stacks, opts->max_stacks, opts->max_stacks);
	s->drain_slots = malloc(DRAIN_BATCH * sizeof(*s->drain_slots));
	s->drain_keys = malloc(DRAIN_BATCH * sizeof(*s->drain_keys));
	s->drain_counts = malloc(DRAIN_BATCH * sizeof(*s->drain_counts));
	s->drain_stacks = malloc(DRAIN_BATCH * sizeof(*s->drain_stacks));

	/* open: configure map sizes before load */
	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		pb_err("failed to open BPF object: %s", strerror(-err));
		goto fail;
	}
	bpf_map__set_max_entries(s->skel->maps.procs, opts->max_procs);
	bpf_map__set_max_entries(s->skel->maps.stacks, opts->max_stacks);
	bpf_map__set_max_entries(s->skel->maps.stack_chunks, opts->max_stacks);
	/* a set of slots twice the keys an interval may bring: rotated when
	 * half taken (countslots.h), so an interval always has max_counts */
	bpf_map__set_max_entries(s->skel->maps.counts_a, 2 * opts->max_counts);
	bpf_map__set_max_entries(s->skel->maps.counts_b, 2 * opts->max_counts);
	bpf_map__set_max_entries(s->skel->maps.count_values, 4 * opts->max_counts);
	bpf_map__set_max_entries(s->skel->maps.count_keys, 4 * opts->max_counts);
	s->skel->rodata->count_slots = 2 * opts->max_counts;
	bpf_map__set_max_entries(s->skel->maps.codes, opts->max_codes);
	if (kernel_allocates_anywhere()) {
		lazy_map(s->skel->maps.counts_a);
		lazy_map(s->skel->maps.counts_b);
		lazy_map(bpf_map__inner_map(s->skel->maps.counts));
		lazy_map(s->skel->maps.stacks);
		lazy_map(s->skel->maps.stack_chunks);
		lazy_map(s->skel->maps.gil_threads);
		lazy_map(s->skel->maps.native_stacks);
		lazy_map(s->skel->maps.gil_wait_stacks);
	}
	bpf_program__set_autoload(s->skel->progs.pybpf_switch, opts->idle);
	if (!opts->idle) /* an LRU map is preallocated: 20 ms of start-up */
		bpf_map__set_max_entries(s->skel->maps.offcpu, 1);
	s->skel->rodata->idle_mode = !!opts->idle;
	/* 16 MiB: 400 000 records, seconds of every CPU at 10 kHz between polls */
	s->skel->rodata->timeline_on = !!opts->timeline_fn;
	s->timeline_fn = opts->timeline_fn;
	if (opts->timeline_fn)
		bpf_map__set_max_entries(s->skel->maps.timeline, 16u << 20);
	/* --native: 4 Mi rows (32 MiB) and the unwinder's maps; else none of it */
	s->skel->rodata->native_mode = !!opts->native;
	s->skel->rodata->count_reads = log_verbose > 0;
	if (!opts->native) {
		bpf_map__set_max_entries(s->skel->maps.unwind_rows, 1);
		bpf_map__set_max_entries(s->skel->maps.unwind_files, 1);
		bpf_map__set_max_entries(s->skel->maps.native_maps, 1);
		bpf_map__set_max_entries(s->skel->maps.native_stacks, 1);
	}
	if (!opts->native || !opts->gil_wait)
		bpf_map__set_max_entries(s->skel->maps.gil_wait_stacks, 1);
	bpf_program__set_autoload(s->skel->progs.pybpf_take_enter, opts->gil_wait);
	bpf_program__set_autoload(s->skel->progs.pybpf_take_exit, opts->gil_wait);
	bpf_program__set_autoload(s->skel->progs.pybpf_drop_enter, opts->gil_wait);
	bpf_program__set_autoload(s->skel->progs.pybpf_drop_exit, opts->gil_wait);

	/* load: the verifier runs here */
	vlogs = verifier_logs_begin(s->skel->obj);
	err = sampler_bpf__load(s->skel);
	verifier_logs_end(s->skel->obj, vlogs);
	if (err) {
		pb_err("failed to load BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	log_verifier_work(s->skel->obj);
	{
		struct count_slots_fds fds = {
			.values = bpf_map__fd(s->skel->maps.count_values),
			.keys = bpf_map__fd(s->skel->maps.count_keys),
			.outer = bpf_map__fd(s->skel->maps.counts),
			.map_a = bpf_map__fd(s->skel->maps.counts_a),
			.map_b = bpf_map__fd(s->skel->maps.counts_b),
		};

		err = count_slots_init(&s->slots, &fds, 2 * opts->max_counts,
				       &s->skel->bss->count_set, s->skel->bss->count_next);
		if (err) {
			pb_err("failed to map the counts: %s", strerror(-err));
			goto fail;
		}
	}
	s->memo_gen[0] = s->memo_gen[1] = 1; /* a memo never made is 0 */
	s->memos_len = 2ull * s->slots.per_set * sizeof(*s->memos);
	s->memos = bigmem_alloc(s->memos_len);
	if (!s->memos) {
		err = -ENOMEM;
		goto fail;
	}
	if (opts->native) {
		struct native_sampler_opts no = {
			.rows_fd = bpf_map__fd(s->skel->maps.unwind_rows),
			.files_fd = bpf_map__fd(s->skel->maps.unwind_files),
			.lpm_fd = bpf_map__fd(s->skel->maps.native_maps),
			.stacks_fd = bpf_map__fd(s->skel->maps.native_stacks),
			.stats_fd = bpf_map__fd(s->skel->maps.native_stats),
			.max_rows = bpf_map__max_entries(s->skel->maps.unwind_rows),
			.max_files = bpf_map__max_entries(s->skel->maps.unwind_files),
		};

		err = native_sampler_new(&no, &s->native);
		if (err) {
			pb_err("failed to set up native unwinding: %s", strerror(-err));
			goto fail;
		}
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event, s, NULL);
	if (!s->rb) {
		err = -errno;
		pb_err("failed to create ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.stack_events), on_stack_event, s)) {
		err = -errno;
		pb_err("failed to open the stack ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (opts->timeline_fn &&
	    ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.timeline), on_timeline, s)) {
		err = -errno;
		pb_err("failed to open the timeline ring buffer: %s", strerror(-err));
		goto fail;
	}
	/* attach: one cpu-clock event per CPU, and the scheduler for --idle */
	err = attach_cpus(s, opts->rate_hz);
	if (err)
		goto fail;
	s->exec_link = bpf_program__attach(s->skel->progs.pybpf_exec);
	if (!s->exec_link) {
		err = -errno;
		pb_err("failed to attach the sched_process_exec tracepoint: %s", strerror(-err));
		goto fail;
	}
	if (opts->idle) {
		s->switch_link = bpf_program__attach(s->skel->progs.pybpf_switch);
		if (!s->switch_link) {
			err = -errno;
			pb_err("failed to attach the sched_switch tracepoint: %s", strerror(-err));
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	sampler_close(s);
	return err;
}

void sampler_stop(struct sampler *s)
{
	while (s->nlinks)
		bpf_link__destroy(s->links[--s->nlinks]);
	bpf_link__destroy(s->switch_link);
	s->switch_link = NULL;
	while (s->nuprobes)
		bpf_link__destroy(s->uprobes[--s->nuprobes].link);
	s->stopped = 1;
}

void sampler_close(struct sampler *s)
{
	if (!s)
		return;
	sampler_stop(s);
	bpf_link__destroy(s->exec_link);
	free(s->uprobes);
	free(s->links);
	ring_buffer__free(s->rb);
	native_sampler_free(s->native);
	count_slots_free(&s->slots);
	sampler_bpf__destroy(s->skel);
	stack_cache_free(&s->stacks);
	bigmem_free(s->memos, s->memos_len);
	free(s->drain_slots);
	free(s->drain_keys);
	free(s->drain_counts);
	free(s->drain_stacks);
	free(s);
}

int sampler_add_proc(struct sampler *s, pid_t pid, const struct proc_info *info)
{
	__u32 key = pid;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.procs), &key, info, BPF_ANY))
		return -errno;
	return 0;
}

static int attach_uprobe(struct sampler *s, enum probe_kind kind, struct bpf_program *prog,
			 pid_t pid, const char *path, uint64_t off, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
	struct bpf_link *link;

	if (s->nuprobes == s->capuprobes) {
		size_t cap = s->capuprobes ? s->capuprobes * 2 : 16;
		struct probe_link *n = realloc(s->uprobes, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->uprobes = n;
		s->capuprobes = cap;
	}
	link = bpf_program__attach_uprobe_opts(prog, pid, path, off, &opts);
	if (!link) {
		int err = -errno;

		/* without the free count, the walk reads more: not an error */
		(kind == PROBE_GIL ? pb_err : pb_debug)("failed to attach a %s at 0x%llx in %s: %s",
			ret ? "uretprobe" : "uprobe", (unsigned long long)off, path, strerror(-err));
		return err;
	}
	s->uprobes[s->nuprobes++] = (struct probe_link){ .pid = pid, .kind = kind, .link = link };
	return 0;
}

/* Detach pid's probes (of one kind, unless 0). */
static void detach_uprobes(struct sampler *s, pid_t pid, enum probe_kind kind)
{
	size_t i, k = 0;

	for (i = 0; i < s->nuprobes; i++) {
		struct probe_link *l = &s->uprobes[i];

		if (l->pid == pid && (!kind || l->kind == kind))
			bpf_link__destroy(l->link);
		else
			s->uprobes[k++] = *l;
	}
	s->nuprobes = k;
}

/* Returns before entries, so a call whose entry is seen has its return seen. */
int sampler_attach_gil(struct sampler *s, pid_t pid, const char *path,
		       const uint64_t *take, size_t ntake, const uint64_t *drop, size_t ndrop)
{
	struct sampler_bpf *k = s->skel;
	size_t i;
	int err = 0;

	for (i = 0; i < ntake && !err; i++)
		err = attach_uprobe(s, PROBE_GIL, k->progs.pybpf_take_exit, pid, path, take[i], 1);
	for (i = 0; i < ndrop && !err; i++)
		err = attach_uprobe(s, PROBE_GIL, k->progs.pybpf_drop_exit, pid, path, drop[i], 1);
	for (i = 0; i < ntake && !err; i++)
		err = attach_uprobe(s, PROBE_GIL, k->progs.pybpf_take_enter, pid, path, take[i], 0);
	for (i = 0; i < ndrop && !err; i++)
		err = attach_uprobe(s, PROBE_GIL, k->progs.pybpf_drop_enter, pid, path, drop[i], 0);
	return err;
}

/* A code-free probe costs its process a trap per code object freed (about
 * 10 us on this VM, 1-2 us on bare metal): a program that makes and frees
 * code objects all the time (exec, eval or compile in a loop) would pay
 * more for it than the reads it saves.  Above this rate the probe goes,
 * and that process's cache hits are checked by reads again. */
#define CODE_FREES_MAX 200 /* a second */
/* ... and at most this many processes have one (--all on a large host):
 * the others' hits are checked by reads */
#define CODE_FREE_PROBES_MAX 256

int sampler_attach_code_free(struct sampler *s, pid_t pid, const char *path, uint64_t off,
			     uint64_t epoch)
{
	struct timespec ts;
	size_t i, n = 0;
	int err;

	detach_uprobes(s, pid, PROBE_CODE_FREE); /* an exec: the old image's */
	for (i = 0; i < s->nuprobes; i++)
		n += s->uprobes[i].kind == PROBE_CODE_FREE;
	if (n >= CODE_FREE_PROBES_MAX)
		return -ENOSPC;
	err = attach_uprobe(s, PROBE_CODE_FREE, s->skel->progs.pybpf_code_free, pid, path, off, 0);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->uprobes[s->nuprobes - 1].since_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	s->uprobes[s->nuprobes - 1].frees = epoch;
	return 0;
}

void sampler_check_code_frees(struct sampler *s, uint64_t now_ns)
{
	/* tests: keep the probe whatever the rate */
	const char *env = getenv("PYBPF_CODE_FREES_MAX");
	uint64_t max = env && atoll(env) > 0 ? (uint64_t)atoll(env) : CODE_FREES_MAX;
	int fd = bpf_map__fd(s->skel->maps.procs);
	size_t i, k = 0;

	for (i = 0; i < s->nuprobes; i++) {
		struct probe_link *l = &s->uprobes[i];
		struct proc_info info;
		__u32 key = l->pid;
		uint64_t rate;

		if (l->kind != PROBE_CODE_FREE || now_ns - l->since_ns < 250000000ull ||
		    bpf_map_lookup_elem(fd, &key, &info) || !info.code_free_probe)
			goto keep;
		rate = (info.code_frees - l->frees) * 1000000000ull / (now_ns - l->since_ns);
		l->since_ns = now_ns;
		l->frees = info.code_frees;
		if (rate <= max)
			goto keep;
		/* the record first: no walk trusts the count once it stops */
		info.code_free_probe = 0;
		if (bpf_map_update_elem(fd, &key, &info, BPF_EXIST))
			goto keep;
		pb_debug("pid %d frees %llu code objects a second: its code-free probe is detached "
			 "(code-cache hits read the code object again)", l->pid,
			 (unsigned long long)rate);
		bpf_link__destroy(l->link);
		continue;
keep:
		s->uprobes[k++] = *l;
	}
	s->nuprobes = k;
}

int sampler_has_proc(struct sampler *s, pid_t pid)
{
	struct proc_info info;
	__u32 key = pid;

	return bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.procs), &key, &info) == 0;
}

int sampler_remove_proc(struct sampler *s, pid_t pid)
{
	__u32 key = pid;

	int err = bpf_map_delete_elem(bpf_map__fd(s->skel->maps.procs), &key) ? -errno : 0;

	detach_uprobes(s, pid, 0); /* after: no sample trusts a count no longer kept */
	return err;
}

int sampler_poll(struct sampler *s, int timeout_ms)
{
	int n = ring_buffer__poll(s->rb, timeout_ms);

	return n < 0 && n != -EINTR ? n : 0;
}

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: a drain's own work, not the time a busy
 * machine keeps it waiting for a CPU */
static uint64_t now_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Counts with a memo to f->memo; the others kept, in order, for the
 * stacks: returns how many of those. */
static uint32_t hand_over_memos(struct sampler *s, uint32_t n, const struct sampler_drain_fns *f,
				struct sampler_drain_cost *c)
{
	uint32_t *slots = s->drain_slots, i, m = 0;
	__u64 *counts = s->drain_counts;

	/* a drain's slots are sparse: each memo a miss, all on their way at
	 * once (a batch's fit in the cache), then what they point at a few
	 * keys ahead */
	for (i = 0; i < n; i++)
		__builtin_prefetch(&s->memos[slots[i]], 1);
	for (i = 0; i < n; i++) {
		struct sampler_memo *memo = &s->memos[slots[i]];

		if (i + DRAIN_AHEAD < n) {
			const struct sampler_memo *ahead = &s->memos[slots[i + DRAIN_AHEAD]];

			/* not NULL: a page walk for nothing */
			if (ahead->p[0])
				__builtin_prefetch(ahead->p[0], 1);
			if (ahead->p[1])
				__builtin_prefetch(ahead->p[1], 1);
		}
		if (memo->valid == s->memo_gen[slots[i] >= s->slots.per_set] && f->memo &&
		    memo->kind && f->memo(f->ctx, memo, counts[i])) {
			c->memo_keys++;
			continue;
		}
		slots[m] = slots[i];
		counts[m++] = counts[i];
	}
	return m;
}

/* One batch of taken counts: those with a memo, then the others' keys
 * and stacks, then their callbacks. */
static void hand_over(struct sampler *s, uint32_t n, const struct sampler_drain_fns *f,
		      struct sampler_drain_cost *c)
{
	/* hash 0: --native's thread without Python frames */
	static const struct cached_stack no_python;
	struct count_key *keys = s->drain_keys;
	uint32_t *slots = s->drain_slots;
	__u64 *counts = s->drain_counts;
	const struct cached_stack **css = s->drain_stacks;
	uint64_t t = now_mono_ns(), dt;
	uint32_t i;

	n = hand_over_memos(s, n, f, c);
	dt = now_mono_ns() - t;
	c->memo_ns += dt;
	c->fn_ns += dt;
	if (!n)
		return;
	t = now_mono_ns();
	/* a stack stored with its key's first count is in the ring before
	 * that count was set: this brings it */
	ring_buffer__consume(s->rb);
	for (i = 0; i < n; i++)
		keys[i] = *count_slots_key(&s->slots, slots[i]);
	for (i = 0; i < n; i++) {
		if (i + DRAIN_AHEAD < n)
			stack_cache_prefetch(&s->stacks, keys[i + DRAIN_AHEAD].stack_hash);
		css[i] = keys[i].stack_hash || !keys[i].native_hash
				 ? stack_cache_get(&s->stacks, keys[i].stack_hash)
				 : &no_python;
	}
	c->stacks_ns += now_mono_ns() - t;
	t = now_mono_ns();
	for (i = 0; i < n; i++) {
		const struct native_stack *nat = NULL;
		struct sampler_memo *memo = &s->memos[slots[i]];

		if (f->prefetch && i + DRAIN_AHEAD < n)
			f->prefetch(f->ctx, &keys[i + DRAIN_AHEAD]);

		if (!css[i]) {
			s->lost_user += counts[i];
			continue;
		}
		/* an unreadable native side is counted; the sample stays */
		if (keys[i].native_hash && s->native)
			nat = native_sampler_get(s->native, keys[i].native_hash, s->stacks.drains);
		memset(memo, 0, sizeof(*memo));
		f->stack(f->ctx, &keys[i], counts[i], css[i]->frames, css[i]->depth, css[i]->flags,
			 nat, memo);
		memo->valid = s->memo_gen[slots[i] >= s->slots.per_set];
	}
	c->fn_ns += now_mono_ns() - t;
}

int sampler_drain(struct sampler *s, const struct sampler_drain_fns *f)
{
	struct sampler_drain_cost c = {};
	uint64_t t0 = now_mono_ns(), cpu0 = now_cpu_ns(), t;
	int err = 0, rotated = 0, set, rerr;
	uint32_t n, pos;

	if (!s->drain_slots || !s->drain_keys || !s->drain_counts || !s->drain_stacks)
		return -ENOMEM;
	/* a wait for the programs running: when the set is rotated, after a
	 * stop (a program still running counts into what is drained now),
	 * and for --native's unwind rows freed since the last one */
	if (count_slots_should_rotate(&s->slots)) {
		err = count_slots_rotate(&s->slots);
		rotated = !err;
	} else if (s->stopped || s->native) {
		err = count_slots_wait(&s->slots);
	}
	c.swap_ns = (t = now_mono_ns()) - t0;
	/* a set retired (here or at the last drain's end) has slots that
	 * name other keys now */
	for (set = 0; set < 2; set++)
		if (s->memo_retired[set] != s->slots.retired[set]) {
			s->memo_gen[set]++;
			s->memo_retired[set] = s->slots.retired[set];
		}
	stack_cache_begin(&s->stacks);
	if (!err && s->native) /* it waited */
		native_sampler_quiesce(s->native);
	c.stacks_ns += now_mono_ns() - t;
	/* both sets: during a rotation a program may have counted into
	 * either */
	for (set = 0; set < 2; set++) {
		pos = 0;
		for (;;) {
			t = now_mono_ns();
			n = count_slots_take(&s->slots, set, &pos, s->drain_slots, s->drain_counts,
					     DRAIN_BATCH);
			c.keys += n;
			c.maps_ns += now_mono_ns() - t;
			if (!n)
				break;
			hand_over(s, n, f, &c);
		}
	}
	t = now_mono_ns();
	if (rotated && (rerr = count_slots_retire(&s->slots)))
		pb_debug("could not empty the old counts map (tried again next drain): %s",
			 strerror(-rerr));
	c.swap_ns += now_mono_ns() - t;
	t = now_mono_ns();
	stack_cache_end(&s->stacks, bpf_map__fd(s->skel->maps.stacks),
			bpf_map__fd(s->skel->maps.stack_chunks));
	if (s->forget_native && s->native)
		native_sampler_forget(s->native, s->stacks.drains);
	s->forget_native = 0;
	c.stacks_ns += now_mono_ns() - t;
	c.ns = now_mono_ns() - t0;
	c.cpu_ns = now_cpu_ns() - cpu0;
	if (c.ns > s->slowest.ns)
		s->slowest = c;
	if (c.keys)
		s->last = c;
	return err;
}

int sampler_drain_due(const struct sampler *s)
{
	return stack_cache_filling(&s->stacks) || count_slots_half_taken(&s->slots);
}

uint64_t sampler_count_rotations(const struct sampler *s)
{
	return s->slots.rotations;
}

const struct stack_cache_stats *sampler_stack_stats(const struct sampler *s)
{
	return &s->stacks.st;
}

void sampler_drain_cost(const struct sampler *s, struct sampler_drain_cost *slowest,
			struct sampler_drain_cost *last)
{
	*slowest = s->slowest;
	*last = s->last;
}

/* The kernel's count of runs it skipped because a BPF program was already
 * running on that CPU (bpf_prog_info.recursion_misses), over every program. */
static uint64_t recursion_misses(struct sampler *s)
{
	struct bpf_program *prog;
	uint64_t n = 0;

	bpf_object__for_each_program(prog, s->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			n += info.recursion_misses;
	}
	return n;
}

int sampler_stat_is_failure(int stat)
{
	switch (stat) {
	case STAT_SAMPLES: case STAT_STACKS: case STAT_NO_TSTATE: case STAT_EMPTY:
	case STAT_NOT_READY: case STAT_EXITING: case STAT_TRUNCATED: case STAT_FRAMES:
	case STAT_CODE_UNREAD:
	case STAT_READS: case STAT_STACKS_STORED: case STAT_CHUNKS_STORED:
	case STAT_CHUNKS_SHARED: case STAT_EVAL_ENTRY: case STAT_EVAL_ENTRY_STALE:
	case SAMPLER_RECURSION_MISSES:
		return 0;
	}
	return 1;
}

uint64_t sampler_errors(const uint64_t st[SAMPLER_NSTATS])
{
	return st[STAT_ERR_RUNTIME] + st[STAT_ERR_TSTATE] + st[STAT_ERR_FRAME] +
	       st[STAT_ERR_CODE] + st[STAT_ERR_NAME] + st[STAT_ERR_SYMBOL];
}

uint64_t sampler_lost(const uint64_t st[SAMPLER_NSTATS])
{
	return st[STAT_LOST_COUNTS] + st[STAT_LOST_STACKS] + st[STAT_NESTED] + st[SAMPLER_LOST_USER];
}

void sampler_stats(struct sampler *s, uint64_t out[SAMPLER_NSTATS])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(s->skel->maps.stats);
	__u64 *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));
	__u32 k;
	int c;

	memset(out, 0, (SAMPLER_NSTATS) * sizeof(*out));
	for (k = 0; vals && k < STAT_NR; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	out[SAMPLER_LOST_USER] = s->lost_user;
	out[SAMPLER_RECURSION_MISSES] = recursion_misses(s);
	free(vals);
}

void sampler_forget_stacks(struct sampler *s)
{
	stack_cache_forget(&s->stacks, bpf_map__fd(s->skel->maps.stacks),
			   bpf_map__fd(s->skel->maps.stack_chunks));
	/* every key new again from the next drain on, so every stack in use
	 * is sent again; what that drain uses stays */
	s->slots.rotate = 1;
	s->forget_native = 1;
	/* the next drain hands every key to the stack fn: what it uses
	 * stays (stack_cache_get, native_sampler_get mark it) */
	s->memo_gen[0]++;
	s->memo_gen[1]++;
}

struct native_sampler *sampler_native(struct sampler *s)
{
	return s->native;
}

int sampler_native_update(struct sampler *s, pid_t pid)
{
	return s->native ? native_sampler_update(s->native, pid) : 0;
}

uint32_t sampler_new_symbol_id(struct sampler *s)
{
	return __atomic_fetch_add(&s->skel->data->next_sym_id, 1, __ATOMIC_SEQ_CST);
}

int sampler_idle_seed(struct sampler *s, pid_t pid, pid_t tid, uint64_t tstate,
		      const struct frame_rec *frames, uint32_t depth, uint32_t flags,
		      uint64_t native_hash)
{
	struct thread_entry te = { .tstate = tstate };
	struct offcpu_entry e = { .pid = (__u32)pid };
	struct timespec ts;
	uint64_t h = 0x5bd1e9955bd1e995ull; /* not the BPF walk's seed */
	uint32_t i;
	__u32 k = (__u32)tid;
	int err;

	if (!depth || depth > PYBPF_MAX_DEPTH)
		return -EINVAL;
	for (i = 0; i < depth; i++) {
		h ^= ((uint64_t)frames[i].sym_id << 32) | frames[i].lasti;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	h ^= ((uint64_t)depth << 32) | flags;
	/* no BPF program stores or looks up a seed's hash: the cache alone has it */
	err = stack_cache_put(&s->stacks, h, frames, depth, flags);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns's clock */
	e.start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	e.stack_hash = h;
	e.native_hash = native_hash;
	te.scan_ns = e.start_ns;
	proc_thread_comm(pid, tid, te.comm, sizeof(te.comm));
	bpf_map_update_elem(bpf_map__fd(s->skel->maps.threads), &k, &te, BPF_NOEXIST);
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.offcpu), &k, &e, BPF_NOEXIST))
		return errno == EEXIST ? 0 : -errno;
	return 0;
}

int sampler_thread(struct sampler *s, uint32_t tid, struct thread_entry *te)
{
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.threads), &tid, te))
		return -ENOENT;
	return 0;
}
