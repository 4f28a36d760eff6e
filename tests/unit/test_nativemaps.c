/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_nativemaps.c - a process's executable mappings for the native
 * unwinder (user/native/nativemaps.c), without BPF: /proc/PID/maps lines, the
 * cutting of a range into trie blocks (exact cover, aligned, few), this
 * process's own mappings found by address with the right file offset, and
 * a change (new executable memory) seen at the next update.  The BPF side
 * is in test_native_bpf.c. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "nativemaps.h"

static void test_parse(void)
{
	struct native_mapping m;

	CHECK_EQ_INT(native_maps_parse("7f1c2a000000-7f1c2a1b0000 r-xp 00028000 fd:01 1835 "
				       "/usr/lib/x86_64-linux-gnu/libc.so.6\n", &m), 1);
	CHECK_EQ_INT(m.start, 0x7f1c2a000000ull);
	CHECK_EQ_INT(m.end, 0x7f1c2a1b0000ull);
	CHECK_EQ_INT(m.pgoff, 0x28000);
	CHECK_EQ_INT(m.ino, 1835);
	CHECK_EQ_INT(m.dev, (0xfdull << 32) | 1);
	CHECK_EQ_INT(m.kind, NATIVE_MAP_FILE);
	CHECK_EQ_STR(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	free(m.path);
	CHECK_EQ_INT(native_maps_parse("7f0000000000-7f0000001000 r--p 00000000 fd:01 1835 "
				       "/usr/lib/x86_64-linux-gnu/libc.so.6\n", &m), 0);
	/* upgraded under the process: the name without the suffix */
	CHECK_EQ_INT(native_maps_parse("1000-2000 r-xp 00001000 fd:01 77 /opt/app/lib.so (deleted)\n",
				       &m), 1);
	CHECK_EQ_STR(m.path, "/opt/app/lib.so");
	free(m.path);
	CHECK_EQ_INT(native_maps_parse("7ffd1000-7ffd3000 r-xp 00000000 00:00 0 [vdso]\n", &m), 1);
	CHECK_EQ_INT(m.kind, NATIVE_MAP_VDSO);
	free(m.path);
	CHECK_EQ_INT(native_maps_parse("7f00aa000000-7f00aa100000 rwxp 00000000 00:00 0 \n", &m), 1);
	CHECK_EQ_INT(m.kind, NATIVE_MAP_ANON);
	CHECK_EQ_STR(m.path, "");
	free(m.path);
	CHECK_EQ_INT(native_maps_parse("7f00aa000000-7f00aa100000 r-xp 00000000 00:00 0\n", &m), 1);
	CHECK_EQ_INT(m.kind, NATIVE_MAP_ANON);
	free(m.path);
	CHECK_EQ_INT(native_maps_parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 "
				       "[vsyscall]\n", &m), 1);
	CHECK_EQ_INT(m.kind, NATIVE_MAP_ANON);
	free(m.path);
	CHECK_EQ_INT(native_maps_parse("garbage\n", &m), -1);
}

/* the blocks cover [start, end) exactly, in order, each aligned to its size */
static int check_blocks(uint64_t start, uint64_t end, size_t *count)
{
	struct native_map_key k[128];
	size_t n = native_maps_blocks(1234, start, end, k, 128), i;
	uint64_t at = start;

	*count = n;
	if (n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned bits = k[i].prefixlen - 32;
		uint64_t size = bits ? 1ull << (64 - bits) : 0, a = be64toh(k[i].addr_be);

		if (be32toh(k[i].pid_be) != 1234 || a != at || !size || (a & (size - 1)))
			return 0;
		at += size;
	}
	return at == end;
}

static void test_blocks(void)
{
	size_t n = 0, worst = 0;
	uint64_t s;
	int i;

	CHECK(check_blocks(0x400000, 0x401000, &n));
	CHECK_EQ_INT(n, 1);
	CHECK(check_blocks(0x7f0000000000ull, 0x7f0000200000ull, &n));
	CHECK_EQ_INT(n, 1);
	CHECK(check_blocks(0x7f1c2a028000ull, 0x7f1c2a1b0000ull, &n));
	CHECK(n <= 2 * (64 - 12));
	/* page-aligned ranges of every shape: at most 2 blocks per address bit */
	for (i = 0, s = 0x55d4e1c3b000ull; i < 2000; i++) {
		uint64_t len = ((uint64_t)(i * 2654435761u) % 4096 + 1) * 4096;

		CHECK(check_blocks(s, s + len, &n));
		if (n > worst)
			worst = n;
		s += len + 4096 * (uint64_t)(i % 13);
	}
	printf("  blocks: at most %zu for a page-aligned range up to 16 MiB\n", worst);
	CHECK(worst <= 2 * 12);
}

__attribute__((noinline)) static int here(int x)
{
	return x * 7 + 1;
}

static void test_self(void)
{
	struct native_maps_opts o = { .tables = NULL, .lpm_fd = -1 };
	struct native_maps *nm = NULL;
	struct native_maps_stats st;
	const struct native_mapping *m;
	char path[4096];
	uint64_t off = 0;
	int changed = -1;
	void *code;

	CHECK_EQ_INT(native_maps_new(&o, &nm), 0);
	if (!nm)
		return;
	CHECK_EQ_INT(native_maps_update(nm, getpid(), &changed), 0);
	CHECK_EQ_INT(changed, 1);
	m = native_maps_find(nm, getpid(), (uint64_t)(uintptr_t)&here, &off);
	CHECK(m != NULL);
	if (m) {
		CHECK_EQ_INT(m->kind, NATIVE_MAP_FILE);
		CHECK_EQ_INT(off, (uint64_t)(uintptr_t)&here - m->start + m->pgoff);
		CHECK(strstr(m->path, "test_nativemaps") != NULL);
		CHECK_EQ_INT(native_maps_open_path(getpid(), m, path, sizeof(path)), 0);
		CHECK(access(path, R_OK) == 0);
	}
	CHECK(native_maps_find(nm, getpid(), 0x1000, NULL) == NULL);
	CHECK(native_maps_find(nm, getpid() + 1, (uint64_t)(uintptr_t)&here, NULL) == NULL);
	CHECK_EQ_INT(native_maps_update(nm, getpid(), &changed), 0);
	CHECK_EQ_INT(changed, 0);
	/* new executable memory: seen at the next update */
	code = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED);
	CHECK_EQ_INT(native_maps_update(nm, getpid(), &changed), 0);
	CHECK_EQ_INT(changed, 1);
	m = native_maps_find(nm, getpid(), (uint64_t)(uintptr_t)code + 8, NULL);
	CHECK(m && m->kind == NATIVE_MAP_ANON);
	native_maps_stats(nm, &st);
	CHECK_EQ_INT(st.processes, 1);
	CHECK(st.by_kind[NATIVE_MAP_FILE] >= 2);
	CHECK(st.by_kind[NATIVE_MAP_ANON] >= 1);
	CHECK_EQ_INT(st.changes, 2);
	CHECK_EQ_INT(st.refreshes, 3);
	munmap(code, 4096);
	native_maps_remove(nm, getpid());
	CHECK(native_maps_find(nm, getpid(), (uint64_t)(uintptr_t)&here, NULL) == NULL);
	native_maps_stats(nm, &st);
	CHECK_EQ_INT(st.processes, 0);
	CHECK_EQ_INT(native_maps_update(nm, 0x7ffffff0, &changed), -ESRCH);
	native_maps_free(nm);
	native_maps_free(NULL);
	CHECK_EQ_INT(here(1), 8);
}

int main(void)
{
	test_parse();
	test_blocks();
	test_self();
	return unit_summary("test_nativemaps");
}
