/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_native_bpf.c - the in-kernel native unwinder (bpf/native.bpf.h) on
 * this test's own stack: user/native/nativemaps.c reads the test's own mappings
 * into the native_maps trie and user/native/unwindtables.c writes the unwind
 * tables of every file mapped (user/native/ehframe.c) into the maps of
 * tests/unit/native_check.bpf.c; BPF_PROG_TEST_RUN runs its raw
 * tracepoint programs in this task: native_resolve() must place every executable
 * mapping's pcs (files, the vdso, anonymous code, a library dlopen'ed
 * later), and native_walk(), run from inside a chain of C functions that
 * have no frame pointers, must find each function's return address and
 * stop cleanly at _start.  Prints the cost of a look-up and of a walk.
 *
 * Compiles the BPF object with clang like the Makefile does; says SKIP
 * (and passes) without clang, without root or when the kernel refuses the
 * program type.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "ehframe.h"
#include "nativemaps.h"
#include "nativesyms.h"
#include "unwindtables.h"

#define OBJ "build/tests/native_check.bpf.o"

struct resolve_out {
	__u64 file_id;
	__u32 off;
	__s32 ret;
	__u64 ns;
};

static struct bpf_object *obj;
static int prog_fd = -1;
static __u64 want_ra[3];              /* return addresses into f2, f3, run_chain */
static struct native_state got;
static int run_err;

static int walk_repeat;                /* > 0: time that many walks */
static double walk_ns;

/* the walk program's own time of its last run */
static __u64 last_walk_ns(void)
{
	__u32 zero = 0;
	__u64 ns = 0;

	bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "walk_ns"), &zero, sizeof(zero),
			     &ns, sizeof(ns), 0);
	return ns;
}

static int run_walk(__u64 pc, __u64 sp, __u64 bp)
{
	__u64 a[4] = { pc, sp, bp, UNWIND_MAX_FRAMES | (__u64)getpid() << 32 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = a, .ctx_size_in = sizeof(a));
	__u32 zero = 0;
	int err, k;

	memset(&got, 0, sizeof(got));
	walk_ns = 0;
	for (k = 0; k < (walk_repeat ? walk_repeat : 1); k++) {
		err = bpf_prog_test_run_opts(prog_fd, &opts);
		if (err)
			return err;
		if (opts.retval)
			return -EINVAL;
		walk_ns += last_walk_ns();
	}
	walk_ns /= walk_repeat ? walk_repeat : 1;
	return bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "check_out"), &zero,
				    sizeof(zero), &got, sizeof(got), 0);
}

/* Three frames without frame pointers (-O2), kept from inlining, tail
 * calls and folding; f1 captures its registers at a known pc. */
__attribute__((noinline, noclone)) static int f1(int x)
{
	__u64 pc, sp, bp;

	want_ra[0] = (__u64)__builtin_return_address(0);
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(pc), "=r"(sp), "=r"(bp) :: "memory");
	run_err = run_walk(pc, sp, bp);
	return x + 1;
}

__attribute__((noinline, noclone)) static int f2(int x)
{
	int r;

	want_ra[1] = (__u64)__builtin_return_address(0);
	r = f1(x * 3);
	__asm__ volatile("" ::: "memory");
	return r + 2;
}

__attribute__((noinline, noclone)) static int f3(int x)
{
	int r;

	want_ra[2] = (__u64)__builtin_return_address(0);
	r = f2(x * 5);
	__asm__ volatile("" ::: "memory");
	return r + 3;
}

static int compile(void)
{
	return system("clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Ivmlinux/x86 -Ibpf "
		      "-Wall -Wextra -Werror -Wno-unused-function -Wno-unused-parameter "
		      "-c tests/unit/native_check.bpf.c -o " OBJ);
}

static int resolve_fd = -1;
static struct bpf_map *resolve_map;

/* native_resolve(pid, pc) in BPF, reps times per run, repeat runs (at
 * least one); the last result's ret, file id, offset; *ns the average
 * time a run's look-ups took. */
static int bpf_resolve(__u32 pid, __u64 pc, __u32 reps, int repeat, struct resolve_out *out,
		       double *ns)
{
	__u64 a[2] = { pc, pid | (__u64)reps << 32 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = a, .ctx_size_in = sizeof(a));
	__u32 zero = 0;
	double sum = 0;
	int err, k;

	for (k = 0; k < (repeat ? repeat : 1); k++) {
		err = bpf_prog_test_run_opts(resolve_fd, &opts);
		if (err || opts.retval)
			return err ? err : -EINVAL;
		err = bpf_map__lookup_elem(resolve_map, &zero, sizeof(zero), out, sizeof(*out), 0);
		if (err)
			return err;
		sum += out->ns;
	}
	if (ns)
		*ns = sum / (repeat ? repeat : 1);
	return 0;
}

/* Every executable mapping of this process, as the kernel lists them now,
 * resolved in BPF at its first, middle and last byte: the file offset
 * must be the one nativemaps computes, the file id the one it pushed. */
static void check_resolve_all(struct native_maps *nm, size_t *checked)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	__u32 pid = (__u32)getpid();

	*checked = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct native_mapping pm;
		const struct native_mapping *m;
		__u64 pcs[3];
		int k;

		if (native_maps_parse(line, &pm) != 1)
			continue;
		if (pm.start >= 0xffffffffff600000ull) { /* [vsyscall]: not user code */
			free(pm.path);
			continue;
		}
		pcs[0] = pm.start;
		pcs[1] = pm.start + (pm.end - pm.start) / 2;
		pcs[2] = pm.end - 1;
		m = native_maps_find(nm, (pid_t)pid, pm.start, NULL);
		CHECK(m != NULL);
		for (k = 0; m && k < 3; k++) {
			struct resolve_out o = { 0 };
			__u64 want_id = m->file_id;

			CHECK_EQ_INT(bpf_resolve(pid, pcs[k], 1, 0, &o, NULL), 0);
			CHECK_EQ_INT(o.ret, 0);
			CHECK_EQ_INT(o.off, (__u32)(pcs[k] - pm.start + pm.pgoff));
			if (o.file_id != want_id)
				fprintf(stderr, "  file id mismatch at %s\n", line);
			CHECK(o.file_id == want_id);
		}
		free(pm.path);
		(*checked)++;
	}
	fclose(f);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static __u64 stat_sum(int fd, __u32 which)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 *v, sum = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (v && bpf_map_lookup_elem(fd, &which, v) == 0)
		for (i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

/* The walk's frames by name, as the sampler will show them: mapping ->
 * file offset -> symbol; a return address is looked up one byte back
 * (a call may be a function's last instruction). */
static void check_names(struct native_maps *nm)
{
	struct native_syms *ns = NULL;
	char names[UNWIND_MAX_FRAMES][128], path[PATH_MAX + 64];
	__u32 i, n = got.n < UNWIND_MAX_FRAMES ? got.n : UNWIND_MAX_FRAMES;

	CHECK_EQ_INT(native_syms_new(&ns), 0);
	if (!ns)
		return;
	for (i = 0; i < n; i++) {
		uint64_t pc = got.pcs[i] - (i > 0), off = 0;
		const struct native_mapping *m = native_maps_find(nm, getpid(), pc, &off);
		const struct nsym_file *f = NULL;

		snprintf(names[i], sizeof(names[i]), "?");
		if (m && native_maps_open_path(getpid(), m, path, sizeof(path)) == 0 &&
		    native_syms_file(ns, path, m->path, &f) == 0)
			nsym_format(f, off, names[i], sizeof(names[i]));
		printf("    #%u %s\n", i, names[i]);
	}
	if (n >= 5) {
		CHECK_EQ_STR(names[0], "f1");
		CHECK_EQ_STR(names[1], "f2");
		CHECK_EQ_STR(names[2], "f3");
		CHECK_EQ_STR(names[3], "main");
		CHECK_EQ_STR(names[n - 1], "_start");
	}
	native_syms_free(ns);
}

/* An address inside the executable mapping of a file named like lib. */
static void *exec_addr_of(const char *lib)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	void *p = NULL;

	if (!f)
		return NULL;
	while (!p && fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char perms[8];

		if (strstr(line, lib) &&
		    sscanf(line, "%llx-%llx %7s", &start, &end, perms) == 3 && perms[2] == 'x')
			p = (void *)(uintptr_t)(start + (end - start) / 3);
	}
	fclose(f);
	return p;
}

/* A library no test code has loaded yet, dlopen'ed now; NULL if none. */
static void *dlopen_new(const char **name)
{
	static const char *const libs[] = { "libresolv.so.2", "libutil.so.1", "libanl.so.1",
					    "libnss_dns.so.2", "libmemusage.so" };
	size_t i;

	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		void *h = dlopen(libs[i], RTLD_NOW | RTLD_NOLOAD);

		if (h) {
			dlclose(h);
			continue;
		}
		h = dlopen(libs[i], RTLD_NOW);
		if (h) {
			*name = libs[i];
			return h;
		}
	}
	return NULL;
}

static void test_changes(struct native_maps *nm, int stats_fd, int files_fd)
{
	__u32 pid = (__u32)getpid();
	struct native_maps_stats st;
	struct resolve_out o = { 0 };
	const struct native_mapping *m;
	const char *lib = NULL;
	struct unwind_file uf;
	void *code, *h, *sym;
	int changed = 0;
	__u64 anon0 = stat_sum(stats_fd, NATIVE_STAT_ANON);

	/* JIT-like code: anonymous and executable */
	code = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED);
	CHECK_EQ_INT(native_maps_update(nm, (pid_t)pid, &changed), 0);
	CHECK_EQ_INT(changed, 1);
	m = native_maps_find(nm, (pid_t)pid, (__u64)code + 100, NULL);
	CHECK(m && m->kind == NATIVE_MAP_ANON);
	CHECK_EQ_INT(bpf_resolve(pid, (__u64)code + 100, 1, 0, &o, NULL), 0);
	CHECK_EQ_INT(o.ret, 0);
	CHECK_EQ_INT(o.file_id, 0);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_ANON), anon0 + 1);
	CHECK_EQ_INT(native_maps_update(nm, (pid_t)pid, &changed), 0);
	CHECK_EQ_INT(changed, 0); /* nothing moved since */
	munmap(code, 8192);
	CHECK_EQ_INT(native_maps_update(nm, (pid_t)pid, &changed), 0);
	CHECK_EQ_INT(changed, 1);
	CHECK_EQ_INT(bpf_resolve(pid, (__u64)code + 100, 1, 0, &o, NULL), 0);
	CHECK_EQ_INT(o.ret, -1);

	/* dlopen: the new library's code resolves, with its table in BPF */
	h = dlopen_new(&lib);
	if (!h) {
		printf("SKIP dlopen: no library left to load\n");
	} else {
		CHECK_EQ_INT(native_maps_update(nm, (pid_t)pid, &changed), 0);
		CHECK_EQ_INT(changed, 1);
		sym = exec_addr_of(lib); /* its code, wherever the loader put it */
		if (sym) {
			m = native_maps_find(nm, (pid_t)pid, (__u64)sym, NULL);
			CHECK(m && m->kind == NATIVE_MAP_FILE && strstr(m->path, lib));
			CHECK_EQ_INT(bpf_resolve(pid, (__u64)sym, 1, 0, &o, NULL), 0);
			CHECK_EQ_INT(o.ret, 0);
			CHECK(m && o.file_id == m->file_id && o.file_id != 0);
			CHECK_EQ_INT(bpf_map_lookup_elem(files_fd, &o.file_id, &uf), 0);
			printf("  dlopen %s: resolved, table of %u rows\n", lib, uf.count);
		}
		check_resolve_all(nm, &(size_t){ 0 });
	}
	/* a library without unwind tables: resolved, no table, counted */
	if (system("printf 'int noeh_f(int x){return x*3+1;}' | cc -x c -shared -nostdlib -O2 "
		   "-fno-asynchronous-unwind-tables -fno-unwind-tables -g0 -Wl,--build-id "
		   "-o build/tests/noeh2.so - 2>/dev/null") == 0 &&
	    (h = dlopen("./build/tests/noeh2.so", RTLD_NOW)) && (sym = dlsym(h, "noeh_f"))) {
		CHECK_EQ_INT(native_maps_update(nm, (pid_t)pid, &changed), 0);
		m = native_maps_find(nm, (pid_t)pid, (__u64)sym, NULL);
		CHECK(m && m->miss == UT_MISS_NO_TABLE && m->file_id != 0);
		CHECK_EQ_INT(bpf_resolve(pid, (__u64)sym, 1, 0, &o, NULL), 0);
		CHECK_EQ_INT(o.ret, 0);
		CHECK(m && o.file_id == m->file_id);
		CHECK(bpf_map_lookup_elem(files_fd, &o.file_id, &uf) != 0); /* no rows */
		native_maps_stats(nm, &st);
		CHECK(st.no_table >= 1);
	} else {
		printf("SKIP no-eh_frame library: cannot build or load one\n");
	}
}

/* The trie at a host's scale (--all): 150 more processes of 60 mappings
 * each, laid out like real ones; the look-up cost again, then gone. */
static void measure_fleet(int lpm_fd, __u32 pid)
{
	struct native_map_val v = { .file_id = 1 };
	struct native_map_key keys[128];
	struct resolve_out o = { 0 };
	size_t n, total = 0, k, failed = 0;
	double t1 = 0, t2 = 0;
	__u32 p, j;

	for (p = 0; p < 150; p++) {
		__u64 base = 0x7f0000000000ull + (__u64)p * 0x10000000ull;

		for (j = 0; j < 60; j++) {
			__u64 start = base + j * 0x200000ull + 0x1000ull * (j % 7);

			n = native_maps_blocks((pid_t)(pid + 100000 + p), start,
					       start + 0x5000 + 0x3000ull * j, keys, 128);
			for (k = 0; k < n && k < 128; k++) {
				if (bpf_map_update_elem(lpm_fd, &keys[k], &v, BPF_ANY))
					failed++;
				else
					total++;
			}
		}
	}
	CHECK_EQ_INT(bpf_resolve(pid, (__u64)&f1, 1, 200, &o, &t1), 0);
	CHECK_EQ_INT(bpf_resolve(pid, (__u64)&f1, 1001, 200, &o, &t2), 0);
	CHECK_EQ_INT(o.ret, 0);
	printf("  native_resolve: %.0f ns per look-up with %zu more entries (%zu refused: "
	       "trie full)\n", (t2 - t1) / 1000, total, failed);
	for (p = 0; p < 150; p++) {
		__u64 base = 0x7f0000000000ull + (__u64)p * 0x10000000ull;

		for (j = 0; j < 60; j++) {
			__u64 start = base + j * 0x200000ull + 0x1000ull * (j % 7);

			n = native_maps_blocks((pid_t)(pid + 100000 + p), start,
					       start + 0x5000 + 0x3000ull * j, keys, 128);
			for (k = 0; k < n && k < 128; k++)
				bpf_map_delete_elem(lpm_fd, &keys[k]);
		}
	}
}

int main(void)
{
	struct unwind_tables_opts uo = { .max_rows = 1u << 20, .max_files = 8192 };
	struct native_maps_opts mo = { 0 };
	struct unwind_tables *ut = NULL;
	struct native_maps *nm = NULL;
	struct unwind_tables_stats ust;
	struct native_maps_stats st;
	const struct native_mapping *m;
	struct resolve_out o = { 0 };
	struct bpf_program *prog;
	double t0, t1, t2;
	size_t checked = 0;
	int stats_fd, files_fd, lpm_fd, err, r, changed = 0;
	__u32 pid = (__u32)getpid();
	__u64 key;

	if (geteuid() != 0) {
		printf("SKIP test_native_bpf: needs root to load BPF\n");
		return unit_summary("test_native_bpf");
	}
	if (system("command -v clang >/dev/null 2>&1") || compile()) {
		printf("SKIP test_native_bpf: cannot compile %s (clang)\n", OBJ);
		return unit_summary("test_native_bpf");
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) <= 0) {
		printf("SKIP test_native_bpf: this kernel has no raw tracepoint programs\n");
		return unit_summary("test_native_bpf");
	}
	obj = bpf_object__open_file(OBJ, NULL);
	CHECK(obj != NULL);
	if (!obj)
		return unit_summary("test_native_bpf");
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "unwind_rows"), uo.max_rows);
	err = bpf_object__load(obj); /* the verifier's verdict on native.bpf.h */
	CHECK_EQ_INT(err, 0);
	if (err) {
		bpf_object__close(obj);
		return unit_summary("test_native_bpf");
	}
	prog = bpf_object__find_program_by_name(obj, "walk");
	prog_fd = bpf_program__fd(prog);
	resolve_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "resolve"));
	resolve_map = bpf_object__find_map_by_name(obj, "resolve_res");
	stats_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "native_stats"));
	files_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "unwind_files"));
	lpm_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "native_maps"));
	uo.rows_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "unwind_rows"));
	uo.files_fd = files_fd;
	CHECK_EQ_INT(unwind_tables_new(&uo, &ut), 0);
	mo.tables = ut;
	mo.lpm_fd = lpm_fd;
	CHECK_EQ_INT(native_maps_new(&mo, &nm), 0);
	if (!ut || !nm)
		return unit_summary("test_native_bpf");

	/* this process's mappings and tables into the maps */
	t0 = now_ms();
	CHECK_EQ_INT(native_maps_update(nm, (pid_t)pid, &changed), 0);
	t1 = now_ms();
	CHECK_EQ_INT(changed, 1);
	native_maps_stats(nm, &st);
	unwind_tables_stats(ut, &ust);
	printf("  %zu executable mappings (%zu file, %zu anon, %zu vdso), %zu with a table, "
	       "%zu trie entries; %zu tables, %zu rows, %zu bytes; %.1f ms\n",
	       st.mappings, st.by_kind[NATIVE_MAP_FILE], st.by_kind[NATIVE_MAP_ANON],
	       st.by_kind[NATIVE_MAP_VDSO], st.with_table, st.entries, ust.files, ust.rows,
	       ust.bytes, t1 - t0);
	CHECK(st.with_table >= 3);
	CHECK_EQ_INT(st.entries_failed, 0);
	m = native_maps_find(nm, (pid_t)pid, (__u64)getauxval(AT_SYSINFO_EHDR), NULL);
	CHECK(m && m->kind == NATIVE_MAP_VDSO);
	if (m)
		printf("  vdso: %s\n", m->miss == UT_MISS_NONE ? "table built from memory" :
		       unwind_tables_miss_name(m->miss));
	CHECK(m && m->miss == UT_MISS_NONE && m->file_id);

	/* native_resolve at every mapping's edges, and where nothing is */
	check_resolve_all(nm, &checked);
	printf("  native_resolve checked on %zu mappings\n", checked);
	CHECK(checked >= 5);
	CHECK_EQ_INT(bpf_resolve(pid, 0x1000, 1, 0, &o, NULL), 0);
	CHECK_EQ_INT(o.ret, -1);
	CHECK_EQ_INT(bpf_resolve(pid + 1, (__u64)&f1, 1, 0, &o, NULL), 0);
	CHECK_EQ_INT(o.ret, -1); /* another process's trie entries, not ours */
	/* the cost of one look-up: runs of 1 and of 1001, the difference */
	CHECK_EQ_INT(bpf_resolve(pid, (__u64)&f1, 1, 200, &o, &t1), 0);
	CHECK_EQ_INT(bpf_resolve(pid, (__u64)&f1, 1001, 200, &o, &t2), 0);
	printf("  native_resolve: %.0f ns per look-up (LPM trie, %zu entries)\n",
	       (t2 - t1) / 1000, st.entries);
	measure_fleet(lpm_fd, pid);

	/* with tables: every frame found, clean end at _start */
	r = f3(7);
	CHECK_EQ_INT(r, 7 * 15 + 1 + 2 + 3);
	CHECK_EQ_INT(run_err, 0);
	printf("  walk: %u frames, stopped by reason %u\n", got.n, got.stop);
	CHECK(got.n >= 5);
	if (got.n >= 4) {
		CHECK(got.pcs[1] == want_ra[0]);
		CHECK(got.pcs[2] == want_ra[1]);
		CHECK(got.pcs[3] == want_ra[2]);
	}
	check_names(nm);
	CHECK_EQ_INT(got.stop, NATIVE_STAT_END_LAST);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_WALKS), 1);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_FRAMES), got.n);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_NO_TABLE), 0);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_NO_MAPPING), 0);
	walk_repeat = 1000;
	r = f3(2);
	walk_repeat = 0;
	CHECK_EQ_INT(run_err, 0);
	printf("  walk cost: %.0f ns for %u frames (%.0f ns a frame)\n", walk_ns, got.n,
	       got.n ? walk_ns / got.n : 0);

	test_changes(nm, stats_fd, files_fd);

	/* no tables at all: the frame-pointer fallback runs and is counted */
	while (bpf_map_get_next_key(files_fd, NULL, &key) == 0)
		bpf_map_delete_elem(files_fd, &key);
	r = f3(1);
	CHECK_EQ_INT(run_err, 0);
	printf("  without tables: %u frames, stopped by reason %u\n", got.n, got.stop);
	CHECK(got.n >= 1);
	CHECK(stat_sum(stats_fd, NATIVE_STAT_NO_TABLE) >= 1);

	/* forgetting the process empties the trie */
	native_maps_free(nm);
	{
		struct native_map_key k;

		CHECK(bpf_map_get_next_key(lpm_fd, NULL, &k) != 0);
	}
	unwind_tables_free(ut);
	bpf_object__close(obj);
	return unit_summary("test_native_bpf");
}
