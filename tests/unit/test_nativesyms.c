/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_nativesyms.c - native symbolization (user/native/nativesyms.c) against
 * real files: a pyenv libpython (.symtab), Debian's stripped
 * /usr/bin/python3.11 (.dynsym), this process's libc (its debug file by
 * build id when libc6-dbg is installed), this test binary; unknown
 * addresses as <file>+0xOFF; libstdc++'s C++ names demangled, its build
 * id as readelf shows it.  A missing file is reported as SKIP. */
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "elffile.h"
#include "nativemerge.h"
#include "nativesyms.h"

#define LIBPY "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
#define DEBIAN_PY "/usr/bin/python3.11"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* File offset in path of symbol name, read from symfile (path itself or
 * its debug file), 0 if it has none. */
static uint64_t sym_off_in(const char *path, const char *symfile, const char *name)
{
	struct elf_file *ef, *sf;
	uint64_t v = 0, off = 0;

	if (elf_open(symfile, &sf))
		return 0;
	v = elf_symbol(sf, name);
	elf_close(sf);
	if (!v || elf_open(path, &ef))
		return 0;
	if (elf_file_offset(ef, v, &off))
		off = 0;
	elf_close(ef);
	return off;
}

static uint64_t sym_off(const char *path, const char *name)
{
	return sym_off_in(path, path, name);
}

static void check_name(const struct nsym_file *f, uint64_t off, const char *want)
{
	uint64_t delta = ~0ull;
	const char *got = nsym_lookup(f, off, &delta);

	CHECK_EQ_STR(got, want);
	(void)delta;
}

static void test_libpython(struct native_syms *ns)
{
	const struct nsym_file *f = NULL, *again = NULL;
	uint64_t off, delta = 0;
	char buf[128];
	double t0;

	if (access(LIBPY, R_OK)) {
		printf("SKIP libpython: no %s\n", LIBPY);
		return;
	}
	t0 = now();
	CHECK_EQ_INT(native_syms_file(ns, LIBPY, LIBPY, &f), 0);
	if (!f)
		return;
	printf("  %s: %zu functions from %s in %.1f ms\n", f->name, f->nsyms, f->source,
	       (now() - t0) * 1e3);
	CHECK_EQ_STR(f->source, ".symtab");
	off = sym_off(LIBPY, "PyObject_GetAttr");
	CHECK(off != 0);
	CHECK_EQ_STR(nsym_lookup(f, off, &delta), "PyObject_GetAttr");
	CHECK_EQ_INT(delta, 0);
	CHECK_EQ_STR(nsym_lookup(f, off + 5, &delta), "PyObject_GetAttr");
	CHECK_EQ_INT(delta, 5);
	off = sym_off(LIBPY, "_PyEval_EvalFrameDefault");
	check_name(f, off + 100, "_PyEval_EvalFrameDefault");
	/* a static function: only .symtab has it */
	off = sym_off(LIBPY, "take_gil");
	if (off)
		check_name(f, off + 1, "take_gil");
	/* the ELF header is no function */
	CHECK(nsym_lookup(f, 0, NULL) == NULL);
	nsym_format(f, 0x10, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "libpython3.11.so.1.0+0x10");
	nsym_format(f, sym_off(LIBPY, "PyObject_GetAttr") + 1, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "PyObject_GetAttr");
	/* cached by build id: the same table through another path */
	CHECK_EQ_INT(native_syms_file(ns, "/proc/self/root" LIBPY, "/x/libpython.so", &again), 0);
	CHECK(again == f);
}

static void test_debian_stripped(struct native_syms *ns)
{
	const struct nsym_file *f = NULL;
	uint64_t off;

	if (access(DEBIAN_PY, R_OK)) {
		printf("SKIP debian python: no %s\n", DEBIAN_PY);
		return;
	}
	CHECK_EQ_INT(native_syms_file(ns, DEBIAN_PY, DEBIAN_PY, &f), 0);
	if (!f)
		return;
	printf("  %s: %zu functions from %s %s\n", f->name, f->nsyms, f->source, f->debug_path);
	off = sym_off(DEBIAN_PY, "PyObject_GetAttr");
	CHECK(off != 0);
	check_name(f, off + 2, "PyObject_GetAttr");
	off = sym_off(DEBIAN_PY, "_PyEval_EvalFrameDefault");
	CHECK(off != 0);
	check_name(f, off + 2, "_PyEval_EvalFrameDefault");
}

/* Debian's python3.14 unpacked with its -dbg package under a prefix (the
 * test bed): the debug file is found by build id under PREFIX/usr/lib/debug */
static void test_prefix_debug(struct native_syms *ns)
{
	const char *py = "/var/cache/pybpf-testbed/debian-3.14/root/usr/bin/python3.14";
	const struct nsym_file *f = NULL;
	uint64_t off;

	if (access(py, R_OK)) {
		printf("SKIP debian 3.14: no %s\n", py);
		return;
	}
	CHECK_EQ_INT(native_syms_file(ns, py, py, &f), 0);
	if (!f)
		return;
	printf("  %s: %zu functions from %s %s\n", f->name, f->nsyms, f->source, f->debug_path);
	CHECK_EQ_STR(f->source, "debug file");
	off = sym_off_in(py, f->debug_path, "_PyEval_EvalFrameDefault.cold"); /* debug file only */
	CHECK(off != 0);
	check_name(f, off + 1, "_PyEval_EvalFrameDefault.cold");
	/* the name the merge sees: the cold part is the eval loop too */
	CHECK_EQ_INT(nm_classify(nsym_lookup(f, off + 1, NULL), 3, 14), NM_EVAL);
}

/* A library stripped of its .symtab, no build id, its debug file named by
 * .gnu_debuglink in the .debug directory beside it (GDB's layout). */
static void test_debuglink(struct native_syms *ns)
{
	const char *dir = "build/tests/dbglink";
	const struct nsym_file *f = NULL;
	char cmd[2048], lib[64], dbg[64];
	uint64_t off;

	snprintf(lib, sizeof(lib), "%s/liblinked.so", dir);
	snprintf(dbg, sizeof(dbg), "%s/.debug/liblinked.debug", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/.debug && printf 'static int hidden(int x){return x*5+2;} "
		 "int visible(int x){return hidden(x)+hidden(x+1);}' | "
		 "cc -x c -shared -fPIC -O0 -g -Wl,--build-id=none -o %s - && "
		 "objcopy --only-keep-debug %s %s && strip --strip-all %s && "
		 "objcopy --add-gnu-debuglink=%s %s 2>/dev/null", dir, lib, lib, dbg, lib, dbg, lib);
	if (system(cmd)) {
		printf("SKIP debuglink: cannot build a stripped library (cc, objcopy, strip)\n");
		return;
	}
	CHECK_EQ_INT(native_syms_file(ns, lib, lib, &f), 0);
	if (!f)
		return;
	printf("  %s: %zu functions from %s %s\n", f->name, f->nsyms, f->source, f->debug_path);
	CHECK_EQ_STR(f->source, "debug file");
	off = sym_off_in(lib, dbg, "hidden"); /* static: only the debug file has it */
	CHECK(off != 0);
	check_name(f, off + 2, "hidden");
	off = sym_off(lib, "visible");
	CHECK(off != 0);
	check_name(f, off + 2, "visible");
}

/* This process's own libc and code, found through /proc/self/maps as the
 * sampler does: off = pc - vm_start + vm_pgoff. */
static int self_off(uint64_t pc, char *path, size_t len, uint64_t *off)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/maps", "r");
	int found = -1;

	if (!fp)
		return -1;
	while (found && fgets(line, sizeof(line), fp)) {
		unsigned long long start, end, pgoff;
		char file[4096];

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095s", &start, &end, &pgoff, file) != 4)
			continue;
		if (pc >= start && pc < end) {
			snprintf(path, len, "%s", file);
			*off = pc - start + pgoff;
			found = 0;
		}
	}
	fclose(fp);
	return found;
}

static void test_self(struct native_syms *ns)
{
	const struct nsym_file *f = NULL;
	char path[4096];
	uint64_t off = 0;
	void *p = dlsym(RTLD_DEFAULT, "getpid");

	CHECK(p != NULL);
	if (p && self_off((uint64_t)p, path, sizeof(path), &off) == 0) {
		CHECK_EQ_INT(native_syms_file(ns, path, path, &f), 0);
		if (f) {
			printf("  %s: %zu functions from %s %s\n", f->name, f->nsyms, f->source,
			       f->debug_path);
			check_name(f, off + 1, "getpid");
		}
	}
	f = NULL;
	if (self_off((uint64_t)(uintptr_t)&test_self, path, sizeof(path), &off) == 0) {
		CHECK_EQ_INT(native_syms_file(ns, path, path, &f), 0);
		if (f)
			check_name(f, off + 3, "test_self");
	}
}

/* libstdc++ (linked for its demangler): a C++ function by its demangled
 * name; the table's build id is the file's. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static void test_cxx(struct native_syms *ns)
{
	const struct nsym_file *f = NULL;
	struct elf_file *ef;
	char hex[65] = "";
	uint64_t off;
	Dl_info info;

	if (!dladdr((void *)(uintptr_t)&__cxa_demangle, &info) || !info.dli_fname) {
		printf("SKIP cxx: libstdc++ not found\n");
		return;
	}
	CHECK_EQ_INT(native_syms_file(ns, info.dli_fname, info.dli_fname, &f), 0);
	if (!f)
		return;
	printf("  %s: %zu functions from %s, build id %s\n", f->name, f->nsyms, f->source,
	       f->build_id);
	off = sym_off(info.dli_fname, "_ZNSt6chrono3_V212system_clock3nowEv");
	CHECK(off != 0);
	if (off)
		check_name(f, off + 1, "std::chrono::_V2::system_clock::now()");
	off = sym_off(info.dli_fname, "__cxa_demangle");
	if (off)
		check_name(f, off + 1, "__cxa_demangle");
	CHECK_EQ_INT(elf_open(info.dli_fname, &ef), 0);
	if (ef) {
		CHECK_EQ_INT(elf_build_id(ef, hex, sizeof(hex)), 0);
		elf_close(ef);
	}
	CHECK(hex[0] != 0);
	CHECK_EQ_STR(f->build_id, hex);
}

int main(void)
{
	struct native_syms *ns = NULL;
	size_t files, syms, bytes;

	CHECK_EQ_INT(native_syms_new(&ns), 0);
	test_libpython(ns);
	test_debian_stripped(ns);
	test_prefix_debug(ns);
	test_debuglink(ns);
	test_self(ns);
	test_cxx(ns);
	native_syms_totals(ns, &files, &syms, &bytes);
	printf("  cached: %zu files, %zu functions, %zu bytes\n", files, syms, bytes);
	CHECK(files >= 1);
	native_syms_free(ns);
	native_syms_free(NULL);
	return unit_summary("test_nativesyms");
}
