/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_native_bpf.c - the in-kernel native unwinder (bpf/native.bpf.h) on
 * this test's own stack: build the unwind tables of every file the test
 * maps (user/ehframe.c), load them into the maps of
 * tests/unit/native_check.bpf.c, and let BPF_PROG_TEST_RUN run its syscall
 * program in this task from inside a chain of C functions that have no
 * frame pointers.  The walk must find each function's return address and
 * stop cleanly at _start.
 *
 * Compiles the BPF object with clang like the Makefile does; says SKIP
 * (and passes) without clang, without root or when the kernel refuses the
 * program type.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "ehframe.h"

#define OBJ "build/tests/native_check.bpf.o"

struct check_mapping {
	__u64 start, end, pgoff, file_id;
};

struct check_args {
	__u64 pc, sp, bp;
	__u32 max;
	__u32 pad;
};

static struct bpf_object *obj;
static int prog_fd = -1;
static __u64 want_ra[3];              /* return addresses into f2, f3, run_chain */
static struct native_state got;
static int run_err;

static int run_walk(__u64 pc, __u64 sp, __u64 bp)
{
	struct check_args a = { .pc = pc, .sp = sp, .bp = bp, .max = UNWIND_MAX_FRAMES };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));
	__u32 zero = 0;
	int err;

	memset(&got, 0, sizeof(got));
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err;
	if (opts.retval)
		return -EINVAL;
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

/* Tables of this process's executable file mappings into the maps. */
static int load_tables(struct ehframe_cache *c, size_t *nmaps, size_t *nrows)
{
	int rows_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "unwind_rows"));
	int files_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "unwind_files"));
	int maps_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "check_maps"));
	char line[4096];
	__u32 first = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	*nmaps = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && *nmaps < 64) {
		unsigned long long start, end, pgoff;
		char perms[8], file[4096];
		const struct ehframe_table *t = NULL;
		struct check_mapping m;
		struct unwind_file uf;
		int created = 0;
		__u32 i, key;
		size_t j;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &start, &end, perms, &pgoff,
			   file) != 5 || perms[2] != 'x' || file[0] != '/')
			continue;
		memset(&m, 0, sizeof(m));
		m.start = start;
		m.end = end;
		m.pgoff = pgoff;
		if (ehframe_cache_get(c, file, &t, &created) == 0) {
			m.file_id = t->file_id;
			if (created) {
				for (j = 0; j < t->nrows; j++) {
					i = first + (__u32)j;
					if (bpf_map_update_elem(rows_fd, &i, &t->rows[j], 0))
						goto fail;
				}
				uf.first = first;
				uf.count = (__u32)t->nrows;
				first += (__u32)t->nrows;
				if (bpf_map_update_elem(files_fd, &m.file_id, &uf, 0))
					goto fail;
			}
		}
		key = (__u32)(*nmaps)++;
		if (bpf_map_update_elem(maps_fd, &key, &m, 0))
			goto fail;
	}
	fclose(f);
	*nrows = first;
	return 0;
fail:
	fclose(f);
	return -errno;
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

int main(void)
{
	struct ehframe_cache *c = NULL;
	struct bpf_program *prog;
	size_t nmaps = 0, nrows = 0;
	int stats_fd, files_fd, err, r;
	__u32 i;

	if (geteuid() != 0) {
		printf("SKIP test_native_bpf: needs root to load BPF\n");
		return unit_summary("test_native_bpf");
	}
	if (system("command -v clang >/dev/null 2>&1") || compile()) {
		printf("SKIP test_native_bpf: cannot compile %s (clang)\n", OBJ);
		return unit_summary("test_native_bpf");
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) <= 0) {
		printf("SKIP test_native_bpf: this kernel has no BPF syscall programs\n");
		return unit_summary("test_native_bpf");
	}
	obj = bpf_object__open_file(OBJ, NULL);
	CHECK(obj != NULL);
	if (!obj)
		return unit_summary("test_native_bpf");
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "unwind_rows"), 1u << 20);
	err = bpf_object__load(obj); /* the verifier's verdict on native.bpf.h */
	CHECK_EQ_INT(err, 0);
	if (err) {
		bpf_object__close(obj);
		return unit_summary("test_native_bpf");
	}
	prog = bpf_object__find_program_by_name(obj, "walk");
	prog_fd = bpf_program__fd(prog);
	stats_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "native_stats"));
	files_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "unwind_files"));
	CHECK_EQ_INT(ehframe_cache_new(&c), 0);
	CHECK_EQ_INT(load_tables(c, &nmaps, &nrows), 0);
	printf("  loaded %zu rows (%zu bytes) for %zu executable mappings\n", nrows, nrows * 8, nmaps);

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
	for (i = 0; i < got.n && i < 8; i++)
		printf("    #%u %#llx\n", i, (unsigned long long)got.pcs[i]);
	CHECK_EQ_INT(got.stop, NATIVE_STAT_END_LAST);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_WALKS), 1);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_FRAMES), got.n);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_NO_TABLE), 0);

	/* no tables at all: the frame-pointer fallback runs and is counted */
	{
		__u64 key;

		while (bpf_map_get_next_key(files_fd, NULL, &key) == 0)
			bpf_map_delete_elem(files_fd, &key);
	}
	r = f3(1);
	CHECK_EQ_INT(run_err, 0);
	printf("  without tables: %u frames, stopped by reason %u\n", got.n, got.stop);
	CHECK(got.n >= 1);
	CHECK(stat_sum(stats_fd, NATIVE_STAT_NO_TABLE) >= 1);
	CHECK_EQ_INT(stat_sum(stats_fd, NATIVE_STAT_WALKS), 2);

	ehframe_cache_free(c);
	bpf_object__close(obj);
	return unit_summary("test_native_bpf");
}
