/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_debugoffsets.c - _Py_DebugOffsets decoding, and the cross-check of
 * its two sources: for every 3.13+ build installed (pyenv, and the test
 * bed's manifest), the offsets the interpreter publishes must equal, field
 * by field, the ones tools/gen-offsets.py generated from its DWARF.
 *
 * The struct is read from the ELF file (it is a static initializer of
 * _PyRuntime), so no process and no root are needed.
 */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include "unit.h"
#include "debugoffsets.h"
#include "elffile.h"
#include "offsets.h"

static void put_u64(uint8_t *buf, size_t off, uint64_t v)
{
	memcpy(buf + off, &v, 8);
}

/* A synthetic 3.13 struct: sections sized 4096, fields at 8, 16, 24... */
static size_t fake_313(uint8_t *buf, uint64_t version)
{
	size_t i, n = 72; /* values in the 3.13 layout */

	memset(buf, 0, DEBUG_OFFSETS_MAX);
	memcpy(buf, DEBUG_OFFSETS_COOKIE, 8);
	for (i = 0; i < n; i++)
		put_u64(buf, 8 + i * 8, 8 + 8 * (i % 50));
	put_u64(buf, 8, version);
	put_u64(buf, 16, 0); /* free_threaded */
	return 8 + n * 8;
}

static void test_parse_errors(void)
{
	uint8_t buf[DEBUG_OFFSETS_MAX];
	struct debug_offsets d;
	char err[256] = "";
	int64_t sizes[] = { 24, 48, 152, 224, 272, 352, 368, 400, 424, 448, 472, 488, 512,
			    536, 568 };
	size_t i;

	fake_313(buf, 0x030d00f0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		put_u64(buf, (size_t)sizes[i], 4096);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), 0);
	CHECK_EQ_INT(d.layout_minor, 13);
	CHECK_EQ_INT(d.newer_than_known, 0);
	CHECK_EQ_INT(debug_offsets_get(&d, "runtime_state.size"), 4096);
	CHECK_EQ_INT(debug_offsets_get(&d, "no_such.field"), -1);

	/* a field outside its section */
	put_u64(buf, 168, 5000); /* thread_state.next */
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "thread_state.next") != NULL);
	put_u64(buf, 168, 8);

	/* an implausible section size */
	put_u64(buf, 152, 0);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "thread_state.size") != NULL);
	put_u64(buf, 152, 4096);

	/* free_threaded must be a boolean */
	put_u64(buf, 16, 7);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), -EPROTO);
	put_u64(buf, 16, 1);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), 0);
	CHECK_EQ_INT(d.free_threaded, 1);
	put_u64(buf, 16, 0);

	/* not the struct at all */
	memcpy(buf, "xdebugpz", 8);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "cookie") != NULL);
	memcpy(buf, DEBUG_OFFSETS_COOKIE, 8);

	/* a 3.12 or 4.x version is not this struct's */
	put_u64(buf, 8, 0x030c01f0);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), -EPROTO);
	put_u64(buf, 8, 0x040000a0);
	CHECK_EQ_INT(debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err)), -EPROTO);

	/* the layouts' lengths: 584, 760 and 888 bytes with the cookie; a
	 * newer minor is read with the newest layout */
	put_u64(buf, 8, 0x030e0af0);
	debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err));
	CHECK_EQ_INT(8 + d.nvalues * 8, 760);
	put_u64(buf, 8, 0x030f02f0);
	debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err));
	CHECK_EQ_INT(8 + d.nvalues * 8, 888);
	CHECK_EQ_INT(d.newer_than_known, 0);
	put_u64(buf, 8, 0x031000a1);
	debug_offsets_parse(buf, sizeof(buf), &d, err, sizeof(err));
	CHECK_EQ_INT(d.layout_minor, 15);
	CHECK_EQ_INT(d.newer_than_known, 1);

	/* too short a read for the layout */
	put_u64(buf, 8, 0x030d00f0);
	CHECK_EQ_INT(debug_offsets_parse(buf, 100, &d, err, sizeof(err)), -EPROTO);
}

/* Every member of py_offsets and py_user_offsets, as arrays of int32
 * (the structs are only those). */
#define NKERNEL (sizeof(struct py_offsets) / sizeof(__s32))
#define NUSER (sizeof(struct py_user_offsets) / sizeof(__s32))

static const char *member_name(size_t i)
{
	static char buf[32];

	if (i < NKERNEL)
		snprintf(buf, sizeof(buf), "py_offsets member %zu", i);
	else
		snprintf(buf, sizeof(buf), "py_user_offsets member %zu", i - NKERNEL);
	return buf;
}

static __s32 member(const struct offsets_entry *e, size_t i)
{
	return i < NKERNEL ? ((const __s32 *)&e->off)[i] : ((const __s32 *)&e->uoff)[i - NKERNEL];
}

/* Read _PyRuntime's head from path, decode it, lay it over the table's
 * row for the same build and compare with that row. */
static void cross_check(const char *path)
{
	uint8_t raw[DEBUG_OFFSETS_MAX];
	struct elf_file *ef = NULL;
	struct debug_offsets d;
	struct offsets_entry mine;
	const struct offsets_entry *table;
	char err[256] = "";
	uint64_t addr;
	unsigned minor;
	size_t i;
	int diffs = 0;

	if (elf_open(path, &ef)) {
		printf("SKIP %s: cannot open\n", path);
		return;
	}
	addr = elf_symbol(ef, "_PyRuntime");
	CHECK(addr != 0);
	if (!addr || elf_read(ef, addr, raw, sizeof(raw))) {
		elf_close(ef);
		CHECK(!"cannot read _PyRuntime");
		return;
	}
	elf_close(ef);
	CHECK_EQ_INT(debug_offsets_parse(raw, sizeof(raw), &d, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "%s: %s\n", path, err);
	minor = (d.version >> 16) & 0xff;
	table = offsets_find(3, minor, d.free_threaded);
	if (!table) {
		printf("SKIP %s: no generated 3.%u%s table row to compare with\n", path, minor,
		       d.free_threaded ? "t" : "");
		return;
	}
	mine = *table;
	CHECK_EQ_INT(debug_offsets_apply(&d, &mine.off, &mine.uoff, err, sizeof(err)), 0);
	for (i = 0; i < NKERNEL + NUSER; i++) {
		__s32 a = member(&mine, i), b = member(table, i);

		if (a != b) {
			fprintf(stderr, "%s: %s: _Py_DebugOffsets gives %d, DWARF %d\n", path,
				member_name(i), a, b);
			diffs++;
		}
	}
	CHECK_EQ_INT(diffs, 0);
	printf("checked %s: 3.%u%s, %zu values, agrees with DWARF\n", path, minor,
	       d.free_threaded ? "t" : "", d.nvalues);
}

static int cross_check_all(void)
{
	const char *bed = getenv("PYBPF_TESTBED");
	char line[4096], manifest[1024];
	glob_t g;
	size_t i;
	int n = 0;
	FILE *f;

	if (glob("/root/.pyenv/versions/3.1[3-9].*/lib/libpython3.*.so.1.0", 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++, n++)
			cross_check(g.gl_pathv[i]);
		globfree(&g);
	}
	snprintf(manifest, sizeof(manifest), "%s/interpreters.tsv",
		 bed && *bed ? bed : "/var/cache/pybpf-testbed");
	f = fopen(manifest, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char label[256], path[2048], version[64];
		unsigned major, minor;

		if (sscanf(line, "%255[^\t]\t%2047[^\t]\t%63[^\t]", label, path, version) != 3 ||
		    sscanf(version, "%u.%u", &major, &minor) != 2 || major != 3 || minor < 13)
			continue;
		cross_check(path);
		n++;
	}
	if (f)
		fclose(f);
	else
		printf("SKIP test bed: no %s\n", manifest);
	return n;
}

int main(void)
{
	test_parse_errors();
	/* a run that compared nothing must not pass */
	CHECK(cross_check_all() > 0);
	return unit_summary("test_debugoffsets");
}
