/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_unwindtables.c - placing unwind tables in the BPF row array
 * (user/native/unwindtables.c): one copy per file however many mappings use it,
 * room reused only after a quiesce, a full array counted (and retried once
 * room comes back), files without an unwind section counted; with root,
 * the rows really land in BPF maps and leave them.  Files that are not on
 * this machine are reported as SKIP. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "ehframe.h"
#include "unwindtables.h"

#define LIBPY "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
#define NOEH "build/tests/noeh.so"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t rows_of(const char *path)
{
	struct ehframe_table *t = NULL;
	size_t n = 0;

	if (ehframe_load(path, EHFRAME_ANY, &t) == 0)
		n = t->nrows;
	ehframe_free(t);
	return n;
}

/* a path of a file this process maps: its libc */
static int libc_path(char *out, size_t len)
{
	char line[4096], file[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = -1;

	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %*s %4095s", file) == 1 && strstr(file, "/libc.so")) {
			snprintf(out, len, "%s", file);
			found = 0;
		}
	fclose(f);
	return found;
}

static void test_sharing_and_reuse(void)
{
	struct unwind_tables_opts o = { .max_files = 16, .rows_fd = -1, .files_fd = -1 };
	struct unwind_tables *ut = NULL;
	struct unwind_tables_stats st;
	enum unwind_tables_miss miss;
	uint64_t id1 = 0, id2 = 0, idc = 0;
	size_t npy, nlibc;
	char libc[4096];

	if (access(LIBPY, R_OK) || libc_path(libc, sizeof(libc))) {
		printf("SKIP sharing: no %s or libc\n", LIBPY);
		return;
	}
	npy = rows_of(LIBPY);
	nlibc = rows_of(libc);
	printf("  rows: libpython3.11 %zu (%zu bytes), libc %zu\n", npy, npy * 8, nlibc);
	CHECK(npy > 1000 && nlibc > 1000);
	/* room for libpython and a little more, not for libc as well */
	o.max_rows = npy + nlibc / 2;
	CHECK_EQ_INT(unwind_tables_new(&o, &ut), 0);
	if (!ut)
		return;
	/* two processes map libpython: one copy */
	CHECK_EQ_INT(unwind_tables_acquire(ut, LIBPY, &id1, &miss), 0);
	CHECK_EQ_INT(miss, UT_MISS_NONE);
	CHECK_EQ_INT(unwind_tables_acquire(ut, "/proc/self/root" LIBPY, &id2, &miss), 0);
	CHECK(id1 != 0 && id1 == id2);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.files, 1);
	CHECK_EQ_INT(st.rows, npy);
	CHECK_EQ_INT(st.bytes, npy * 8);
	CHECK_EQ_INT(st.mappings, 2);
	CHECK_EQ_INT(st.loads, 1);
	/* libc does not fit: counted, still a reference, frame pointers in BPF */
	CHECK_EQ_INT(unwind_tables_acquire(ut, libc, &idc, &miss), 0);
	CHECK_EQ_INT(miss, UT_MISS_FULL);
	CHECK(idc != 0 && idc != id1);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.missing[UT_MISS_FULL], 1);
	CHECK_EQ_INT(st.files, 1);
	/* both libpython mappings go: its rows wait for a quiesce */
	unwind_tables_release(ut, id1);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.files, 1);
	unwind_tables_release(ut, id2);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.files, 0);
	CHECK_EQ_INT(st.pending_rows, npy);
	CHECK_EQ_INT(st.free_rows, nlibc / 2);
	/* not reusable yet: libc still does not fit */
	CHECK_EQ_INT(unwind_tables_acquire(ut, libc, &idc, &miss), 0);
	CHECK_EQ_INT(miss, UT_MISS_FULL);
	/* the quiesce makes the room reusable, and libc, still mapped, gets
	 * its rows at once */
	unwind_tables_quiesce(ut);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.pending_rows, 0);
	CHECK_EQ_INT(st.files, 1);
	CHECK_EQ_INT(st.rows, nlibc);
	CHECK_EQ_INT(st.free_rows, o.max_rows - nlibc);
	CHECK_EQ_INT(st.largest_free, o.max_rows - nlibc); /* merged into one block */
	CHECK_EQ_INT(st.missing[UT_MISS_FULL], 0);
	CHECK_EQ_INT(st.loads, 2);
	/* its next mapping shares those rows */
	CHECK_EQ_INT(unwind_tables_acquire(ut, libc, &idc, &miss), 0);
	CHECK_EQ_INT(miss, UT_MISS_NONE);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.loads, 2);
	CHECK_EQ_INT(st.mappings, 3); /* libc: three acquires, none released */
	CHECK_EQ_INT(st.peak_rows, npy);
	unwind_tables_free(ut);
}

static void test_holes(void)
{
	struct unwind_tables_opts o = { .max_files = 16, .rows_fd = -1, .files_fd = -1 };
	struct unwind_tables *ut = NULL;
	struct unwind_tables_stats st;
	enum unwind_tables_miss miss;
	uint64_t ida, idb, idc;
	char libc[4096];
	size_t na, nb;
	const char *a = LIBPY, *c = "/usr/bin/python3.11";

	if (access(LIBPY, R_OK) || access(c, R_OK) || libc_path(libc, sizeof(libc))) {
		printf("SKIP holes: files missing\n");
		return;
	}
	na = rows_of(a);
	nb = rows_of(libc);
	o.max_rows = 4 * (na + nb) + rows_of(c);
	CHECK_EQ_INT(unwind_tables_new(&o, &ut), 0);
	if (!ut)
		return;
	CHECK_EQ_INT(unwind_tables_acquire(ut, a, &ida, &miss), 0);
	CHECK_EQ_INT(unwind_tables_acquire(ut, libc, &idb, &miss), 0);
	CHECK_EQ_INT(unwind_tables_acquire(ut, c, &idc, &miss), 0);
	CHECK_EQ_INT(miss, UT_MISS_NONE);
	unwind_tables_release(ut, ida);
	unwind_tables_quiesce(ut);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.rows, nb + rows_of(c));
	CHECK_EQ_INT(st.free_rows, o.max_rows - nb - rows_of(c));
	/* a hole of na rows and the tail: libpython again fits its hole (best fit) */
	CHECK_EQ_INT(unwind_tables_acquire(ut, a, &ida, &miss), 0);
	unwind_tables_stats(ut, &st);
	CHECK_EQ_INT(st.largest_free, o.max_rows - na - nb - rows_of(c));
	unwind_tables_free(ut);
}

static void test_misses(void)
{
	struct unwind_tables_opts o = { .max_rows = 1000, .max_files = 4, .rows_fd = -1,
					.files_fd = -1 };
	struct unwind_tables *ut = NULL;
	struct unwind_tables_stats st;
	enum unwind_tables_miss miss;
	uint64_t id = 1;

	CHECK_EQ_INT(unwind_tables_new(&o, &ut), 0);
	if (!ut)
		return;
	/* not ELF: an error, no reference */
	CHECK(unwind_tables_acquire(ut, "/etc/hostname", &id, &miss) < 0);
	CHECK_EQ_INT(id, 0);
	CHECK(unwind_tables_acquire(ut, "/nonexistent/lib.so", &id, &miss) == -ENOENT);
	/* an ELF file without .eh_frame or .debug_frame */
	if (system("printf 'int f(int x){return x+1;}' | cc -x c -shared -nostdlib -O2 "
		   "-fno-asynchronous-unwind-tables -fno-unwind-tables -g0 "
		   "-Wl,--build-id -o " NOEH " - 2>/dev/null") == 0) {
		CHECK_EQ_INT(unwind_tables_acquire(ut, NOEH, &id, &miss), 0);
		CHECK(id != 0);
		CHECK_EQ_INT(miss, UT_MISS_NO_TABLE);
		unwind_tables_stats(ut, &st);
		CHECK_EQ_INT(st.missing[UT_MISS_NO_TABLE], 1);
		CHECK_EQ_INT(st.files, 0);
		unwind_tables_release(ut, id);
		unwind_tables_stats(ut, &st);
		CHECK_EQ_INT(st.mappings, 0);
		{
			char line[256];

			unwind_tables_format(&st, line, sizeof(line));
			CHECK_EQ_STR(line, "native unwind tables: 0 files, 0 rows, 0.0 MiB of 0.0 MiB "
				     "(peak 0.0 MiB); without rows: 1 no unwind section, "
				     "0 unwind table full, 0 unreadable");
		}
	} else {
		printf("SKIP no-eh_frame file: cannot compile one\n");
	}
	CHECK_EQ_STR(unwind_tables_miss_name(UT_MISS_FULL), "unwind table full");
	unwind_tables_free(ut);
	unwind_tables_free(NULL);
	o.max_rows = 0;
	CHECK_EQ_INT(unwind_tables_new(&o, &ut), -EINVAL);
}

/* With root: the rows in a real BPF array, the file in a real hash. */
static void test_bpf_maps(void)
{
	struct unwind_tables_opts o = { .max_rows = 1u << 20, .max_files = 64 };
	struct ehframe_table *t = NULL;
	struct unwind_tables *ut = NULL;
	struct unwind_tables_stats st;
	enum unwind_tables_miss miss;
	struct unwind_file uf;
	struct unwind_row r;
	uint64_t id = 0;
	double t0;
	__u32 i, key;
	int bad = 0;

	if (geteuid() != 0 || access(LIBPY, R_OK)) {
		printf("SKIP bpf maps: needs root and %s\n", LIBPY);
		return;
	}
	o.rows_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "unwind_rows", 4, sizeof(struct unwind_row),
				   (__u32)o.max_rows, NULL);
	o.files_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "unwind_files", 8,
				    sizeof(struct unwind_file), (__u32)o.max_files, NULL);
	CHECK(o.rows_fd >= 0 && o.files_fd >= 0);
	if (o.rows_fd < 0 || o.files_fd < 0)
		goto out;
	CHECK_EQ_INT(unwind_tables_new(&o, &ut), 0);
	if (!ut)
		goto out;
	t0 = now();
	CHECK_EQ_INT(unwind_tables_acquire(ut, LIBPY, &id, &miss), 0);
	printf("  libpython3.11 table built and written to BPF in %.1f ms\n", (now() - t0) * 1e3);
	CHECK_EQ_INT(miss, UT_MISS_NONE);
	CHECK_EQ_INT(bpf_map_lookup_elem(o.files_fd, &id, &uf), 0);
	CHECK_EQ_INT(ehframe_load(LIBPY, EHFRAME_ANY, &t), 0);
	if (t) {
		CHECK_EQ_INT(uf.count, t->nrows);
		for (i = 0; i < t->nrows; i++) {
			key = uf.first + i;
			if (bpf_map_lookup_elem(o.rows_fd, &key, &r) || memcmp(&r, &t->rows[i], 8))
				bad++;
		}
		CHECK_EQ_INT(bad, 0);
	}
	unwind_tables_stats(ut, &st);
	printf("  in BPF: %zu files, %zu rows, %zu bytes of %zu\n", st.files, st.rows, st.bytes,
	       st.capacity_rows * 8);
	unwind_tables_release(ut, id);
	CHECK(bpf_map_lookup_elem(o.files_fd, &id, &uf) != 0); /* unpublished at once */
	ehframe_free(t);
	unwind_tables_free(ut);
out:
	if (o.rows_fd >= 0)
		close(o.rows_fd);
	if (o.files_fd >= 0)
		close(o.files_fd);
}

int main(void)
{
	test_sharing_and_reuse();
	test_holes();
	test_misses();
	test_bpf_maps();
	return unit_summary("test_unwindtables");
}
