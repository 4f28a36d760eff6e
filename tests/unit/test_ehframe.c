/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_ehframe.c - native unwind tables (user/native/ehframe.c) against real
 * binaries of this machine: FDE counts and every CFA row readelf decodes
 * (`readelf -wF`, when installed), known functions' first rows, a
 * .debug_frame-only and a table-less library compiled here (when cc is
 * installed), the build-id cache, and the table sizes for libpython3.11,
 * libc and everything a running python3.12 maps.
 *
 * Files that are not installed are skipped with a line saying so.
 */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "ehframe.h"
#include "elffile.h"
#include "htab.h"

#define LIBPY311 "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
#define LIBPY312 "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0"
#define PY312    "/root/.pyenv/versions/3.12.1/bin/python3.12"
#define TESTBED  "/var/cache/pybpf-testbed"

static const char *libc_path(void)
{
	static const char *const c[] = { "/lib/x86_64-linux-gnu/libc.so.6",
					 "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (access(c[i], R_OK) == 0)
			return c[i];
	return NULL;
}

static int have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* ---- readelf as the oracle ---- */

/* What readelf -wF shows in one cell, as the row we expect. */
static int expect_row(const char *cfa, const char *rbp, const char *ra, struct unwind_row *r)
{
	unsigned cfa_kind, rbp_kind = UNWIND_RBP_SAME;
	long n;

	memset(r, 0, sizeof(*r));
	if (!strncmp(cfa, "rsp+", 4) || !strncmp(cfa, "rbp+", 4)) {
		n = strtol(cfa + 4, NULL, 10);
		cfa_kind = cfa[1] == 's' ? UNWIND_CFA_RSP : UNWIND_CFA_RBP;
		if (n % 8 || n > 8 * 0xffff)
			cfa_kind = UNWIND_CFA_OTHER;
		r->cfa_off8 = (__u16)(n / 8);
	} else if (!strcmp(cfa, "exp")) {
		cfa_kind = UNWIND_CFA_EXPR; /* PLT or EXPR: the caller decides */
	} else {
		cfa_kind = UNWIND_CFA_OTHER;
	}
	if (!ra || !strcmp(ra, "u")) {
		cfa_kind = UNWIND_CFA_LAST;
	} else if (strcmp(ra, "c-8")) {
		cfa_kind = UNWIND_CFA_OTHER;
	}
	if (cfa_kind != UNWIND_CFA_RSP && cfa_kind != UNWIND_CFA_RBP)
		r->cfa_off8 = 0;
	if (rbp && !strncmp(rbp, "c-", 2)) {
		rbp_kind = UNWIND_RBP_CFA;
		r->rbp_off8 = (__u8)(strtol(rbp + 2, NULL, 10) / 8);
	} else if (rbp && strcmp(rbp, "u") && strcmp(rbp, "s")) {
		rbp_kind = UNWIND_RBP_LOST;
	}
	r->kind = UNWIND_KIND(cfa_kind, rbp_kind);
	return 0;
}

struct oracle {
	size_t fdes, rows, checked, mismatches;
};

/* Run readelf -wF on path and compare each row of section sec with t. */
static int readelf_check(const char *path, const char *sec, const struct ehframe_table *t,
			 struct oracle *o)
{
	char cmd[512], line[1024], *cols[32];
	int in_sec = 0, ncols = 0, c_cfa = -1, c_rbp = -1, c_ra = -1;
	unsigned long long fde_end = 0;
	struct elf_file *ef;
	FILE *p;

	memset(o, 0, sizeof(*o));
	if (elf_open(path, &ef))
		return -1;
	snprintf(cmd, sizeof(cmd), "readelf -wF '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p) {
		elf_close(ef);
		return -1;
	}
	while (fgets(line, sizeof(line), p)) {
		unsigned long long loc, b, e;
		uint64_t off;
		struct unwind_row want;
		const struct unwind_row *got;
		char *s, *save = NULL;
		int n = 0;

		if (!strncmp(line, "Contents of the ", 16)) {
			in_sec = !strncmp(line + 16, sec, strlen(sec)) && line[16 + strlen(sec)] == ' ';
			continue;
		}
		if (!in_sec)
			continue;
		if ((s = strstr(line, " FDE cie=")) && (s = strstr(s, "pc=")) &&
		    sscanf(s, "pc=%llx..%llx", &b, &e) == 2) {
			o->fdes++;
			fde_end = e;
			ncols = 0;
			continue;
		}
		if (strstr(line, " CIE")) {
			fde_end = 0; /* the CIE's initial row: no FDE */
			continue;
		}
		if (!strncmp(line, "   LOC ", 7)) {
			c_cfa = c_rbp = c_ra = -1;
			for (s = strtok_r(line, " \n", &save); s && n < 32; s = strtok_r(NULL, " \n", &save), n++) {
				if (!strcmp(s, "CFA"))
					c_cfa = n;
				else if (!strcmp(s, "rbp"))
					c_rbp = n;
				else if (!strcmp(s, "ra"))
					c_ra = n;
			}
			ncols = n;
			continue;
		}
		if (!ncols || sscanf(line, "%llx ", &loc) != 1 || strlen(line) < 17 || line[16] != ' ')
			continue;
		for (s = strtok_r(line, " \n", &save); s && n < 32; s = strtok_r(NULL, " \n", &save))
			cols[n++] = s;
		if (n != ncols || c_cfa < 0 || loc >= fde_end)
			continue; /* a CIE's own rows, or past the FDE */
		o->rows++;
		expect_row(cols[c_cfa], c_rbp >= 0 ? cols[c_rbp] : NULL, c_ra >= 0 ? cols[c_ra] : NULL,
			   &want);
		if (elf_file_offset(ef, loc, &off))
			continue;
		got = ehframe_find(t, (uint32_t)off);
		o->checked++;
		if (got && UNWIND_ROW_CFA(got) == UNWIND_CFA_PLT &&
		    UNWIND_ROW_CFA(&want) == UNWIND_CFA_EXPR) {
			want.kind = UNWIND_KIND(UNWIND_CFA_PLT, UNWIND_ROW_RBP(&want));
			want.cfa_off8 = got->cfa_off8;
		}
		if (!got || got->kind != want.kind || got->cfa_off8 != want.cfa_off8 ||
		    got->rbp_off8 != want.rbp_off8) {
			if (o->mismatches++ < 5)
				fprintf(stderr, "  %s %llx: readelf kind %#x cfa %u rbp %u, table kind %#x cfa %u rbp %u\n",
					path, loc, want.kind, 8 * want.cfa_off8, want.rbp_off8,
					got ? got->kind : 0xff, got ? 8 * got->cfa_off8 : 0, got ? got->rbp_off8 : 0);
		}
	}
	pclose(p);
	elf_close(ef);
	return 0;
}

static void print_table(const char *what, const struct ehframe_table *t)
{
	printf("  %-52s %s: %6zu FDEs, %6zu rows (%zu before merging), %7zu bytes; "
	       "rbp-based %zu, PLT %zu, expression %zu, other %zu, gaps %zu\n",
	       what, t->source, t->st.fdes, t->nrows, t->st.raw_rows, ehframe_bytes(t),
	       t->st.rows_cfa[UNWIND_CFA_RBP], t->st.rows_cfa[UNWIND_CFA_PLT],
	       t->st.rows_cfa[UNWIND_CFA_EXPR], t->st.rows_cfa[UNWIND_CFA_OTHER],
	       t->st.rows_cfa[UNWIND_CFA_END]);
}

/* Structural checks every table passes. */
static void check_shape(const struct ehframe_table *t)
{
	size_t i, unsorted = 0, twins = 0;

	CHECK(t->nrows > 0);
	CHECK_EQ_INT(ehframe_bytes(t), t->nrows * 8);
	CHECK_EQ_INT(t->st.bad, 0);
	CHECK_EQ_INT(t->st.unknown_ops, 0);
	for (i = 1; i < t->nrows; i++) {
		const struct unwind_row *a = &t->rows[i - 1], *b = &t->rows[i];

		unsorted += a->pc >= b->pc;
		twins += a->kind == b->kind && a->cfa_off8 == b->cfa_off8 && a->rbp_off8 == b->rbp_off8;
	}
	CHECK_EQ_INT(unsorted, 0);
	CHECK_EQ_INT(twins, 0);
	CHECK(t->file_id != 0 || !t->build_id[0]);
}

/* Whole-file check against readelf, when readelf is installed. */
static void check_file(const char *path, enum ehframe_source src, const char *sec)
{
	struct ehframe_table *t = NULL;
	struct oracle o;
	int err;

	if (access(path, R_OK)) {
		printf("  SKIP %s: not installed\n", path);
		return;
	}
	err = ehframe_load(path, src, &t);
	CHECK_EQ_INT(err, 0);
	if (err)
		return;
	print_table(path, t);
	check_shape(t);
	if (!have("readelf")) {
		printf("  SKIP readelf cross-check of %s: no readelf\n", path);
	} else if (readelf_check(path, sec, t, &o) == 0) {
		printf("  %-52s readelf: %zu FDEs, %zu rows, %zu checked, %zu differ\n", "", o.fdes,
		       o.rows, o.checked, o.mismatches);
		CHECK_EQ_INT(t->st.fdes, o.fdes);
		CHECK(o.checked > 0);
		CHECK_EQ_INT(o.mismatches, 0);
	}
	ehframe_free(t);
}

/* At a function's first instruction: CFA = rsp + 8, rbp untouched. */
static void check_entry(const char *path, const char *const *funcs)
{
	struct ehframe_table *t = NULL;
	struct elf_file *ef = NULL;
	size_t i;

	if (access(path, R_OK)) {
		printf("  SKIP %s: not installed\n", path);
		return;
	}
	if (elf_open(path, &ef) || ehframe_build(ef, EHFRAME_ANY, &t)) {
		CHECK(0);
		goto out;
	}
	for (i = 0; funcs[i]; i++) {
		uint64_t va = elf_symbol(ef, funcs[i]), off;
		const struct unwind_row *r;

		CHECK(va != 0);
		if (!va || elf_file_offset(ef, va, &off))
			continue;
		r = ehframe_find(t, (uint32_t)off);
		CHECK(r != NULL);
		if (!r)
			continue;
		CHECK_EQ_INT(UNWIND_ROW_CFA(r), UNWIND_CFA_RSP);
		CHECK_EQ_INT(r->cfa_off8, 1);
		CHECK_EQ_INT(UNWIND_ROW_RBP(r), UNWIND_RBP_SAME);
	}
out:
	ehframe_free(t);
	elf_close(ef);
}

/* Deeper in the eval loop: its prologue pushed rbp and more. */
static void check_eval_loop(const char *path)
{
	struct ehframe_table *t = NULL;
	struct elf_file *ef = NULL;
	uint64_t va, off;
	const struct unwind_row *r;

	if (access(path, R_OK) || elf_open(path, &ef))
		return;
	va = elf_symbol(ef, "_PyEval_EvalFrameDefault");
	if (va && !elf_file_offset(ef, va, &off) && !ehframe_build(ef, EHFRAME_ANY, &t)) {
		r = ehframe_find(t, (uint32_t)off + 0x40);
		CHECK(r != NULL);
		if (r) {
			CHECK(UNWIND_ROW_CFA(r) == UNWIND_CFA_RSP || UNWIND_ROW_CFA(r) == UNWIND_CFA_RBP);
			CHECK(r->cfa_off8 >= 2);
			CHECK_EQ_INT(UNWIND_ROW_RBP(r), UNWIND_RBP_CFA);
		}
	}
	ehframe_free(t);
	elf_close(ef);
}

/* The lazy-binding PLT: one expression recognised, not counted as unknown. */
static void check_plt(const char *path)
{
	struct ehframe_table *t = NULL;

	if (access(path, R_OK) || ehframe_load(path, EHFRAME_ANY, &t))
		return;
	CHECK(t->st.rows_cfa[UNWIND_CFA_PLT] >= 1);
	ehframe_free(t);
}

/* ---- compiled here: .debug_frame only, and no table at all ---- */

static const char test_c[] =
	"#include <string.h>\n"
	"int leaf(int x) { return x * 3; }\n"
	"static int __attribute__((noinline)) rec(char *b, int n) { char buf[64];\n"
	"  memset(buf, n, sizeof(buf)); if (n > 0) return rec(buf, n - 1) + buf[3] + b[1];\n"
	"  return buf[5]; }\n"
	"int outer(int n) { char b[8] = {0}; return rec(b, n) + leaf(n); }\n";

static void check_compiled(void)
{
	char dir[] = "/tmp/pybpf-ehframe-XXXXXX", cmd[1536], src[64], so[64], bare[64], zso[64];
	struct ehframe_table *t = NULL;
	FILE *f;

	if (!have("cc")) {
		printf("  SKIP .debug_frame case: no cc\n");
		return;
	}
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	snprintf(src, sizeof(src), "%s/t.c", dir);
	snprintf(so, sizeof(so), "%s/debugframe.so", dir);
	snprintf(bare, sizeof(bare), "%s/bare.so", dir);
	snprintf(zso, sizeof(zso), "%s/compressed.so", dir);
	f = fopen(src, "w");
	CHECK(f != NULL);
	if (!f)
		goto out;
	fputs(test_c, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cc -O2 -g -shared -fPIC -nostdlib -fno-asynchronous-unwind-tables -fno-unwind-tables "
		 "-o %s %s && cc -O2 -shared -fPIC -nostdlib -fno-asynchronous-unwind-tables "
		 "-fno-unwind-tables -o %s %s", so, src, bare, src);
	CHECK_EQ_INT(system(cmd), 0);
	/* SHF_COMPRESSED .debug_frame, where the linker can make one */
	snprintf(cmd, sizeof(cmd),
		 "cc -O2 -g -shared -fPIC -nostdlib -fno-asynchronous-unwind-tables -fno-unwind-tables "
		 "-Wl,--compress-debug-sections=zlib -o %s %s 2>/dev/null", zso, src);
	if (system(cmd) == 0)
		check_file(zso, EHFRAME_ANY, ".debug_frame");
	else
		printf("  SKIP compressed .debug_frame: the linker cannot compress\n");

	check_file(so, EHFRAME_ANY, ".debug_frame");
	if (ehframe_load(so, EHFRAME_ANY, &t) == 0) {
		CHECK_EQ_STR(t->source, ".debug_frame");
		CHECK_EQ_INT(t->st.fdes, 3);
		ehframe_free(t);
	}
	CHECK_EQ_INT(ehframe_load(so, EHFRAME_EH_FRAME, &t), -ENOENT);
	/* no unwind section: an error the caller counts, not a crash */
	CHECK_EQ_INT(ehframe_load(bare, EHFRAME_ANY, &t), -ENOENT);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

/* ---- the cache and the measurement ---- */

static void check_cache(void)
{
	const struct ehframe_table *a = NULL, *b = NULL;
	const char *libc = libc_path();
	struct ehframe_cache *c;
	size_t n, rows, bytes;
	int created = 0;

	if (!libc) {
		printf("  SKIP cache: no libc found\n");
		return;
	}
	CHECK_EQ_INT(ehframe_cache_new(&c), 0);
	CHECK_EQ_INT(ehframe_cache_get(c, libc, &a, &created), 0);
	CHECK_EQ_INT(created, 1);
	/* the same file under another name: same build id, same table */
	CHECK_EQ_INT(ehframe_cache_get(c, "/proc/self/root/lib/x86_64-linux-gnu/libc.so.6", &b,
				       &created), 0);
	CHECK_EQ_INT(created, 0);
	CHECK(a == b);
	CHECK(a && a->build_id[0] && a->file_id == ehframe_file_id(a->build_id));
	ehframe_cache_totals(c, &n, &rows, &bytes);
	CHECK_EQ_INT(n, 1);
	CHECK(a && rows == a->nrows && bytes == rows * 8);
	CHECK_EQ_INT(ehframe_cache_get(c, "/nonexistent/lib.so", &a, NULL), -ENOENT);
	ehframe_cache_free(c);
}

/* Tables of every executable file mapping of a python3.12 that imported a
 * few extension modules. */
/* Distinct rules (row minus pc) over tables: what a deduplicated rule table
 * with 4-byte rows (pc delta, rule index), OpenTelemetry's layout, needs. */
static void count_rule(struct htab *rules, const struct ehframe_table *t)
{
	size_t i;
	int created;

	for (i = 0; i < t->nrows; i++) {
		struct unwind_row r = t->rows[i];

		r.pc = 0;
		htab_put(rules, &r, &created);
	}
}

static void measure_process(void)
{
	static const char script[] =
		"import zlib, hashlib, json, ssl, sqlite3, decimal, ctypes, sys\n"
		"sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()\n";
	int in[2], out[2], status;
	char buf[64], path[64], line[4096];
	size_t n, rows, bytes, files = 0, none = 0;
	struct ehframe_cache *c = NULL;
	struct htab rules;
	pid_t pid;
	FILE *f;

	if (access(PY312, X_OK)) {
		printf("  SKIP process measurement: %s not installed\n", PY312);
		return;
	}
	if (pipe(in) || pipe(out)) {
		CHECK(0);
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(PY312, PY312, "-c", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	n = (size_t)read(out[0], buf, sizeof(buf) - 1);
	CHECK(n == 6 && !memcmp(buf, "ready\n", 6));
	CHECK_EQ_INT(ehframe_cache_new(&c), 0);
	htab_init(&rules, sizeof(struct unwind_row), 1);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (f && c && fgets(line, sizeof(line), f)) {
		char perms[8], file[4096];
		const struct ehframe_table *t;
		int created;

		/* start-end perms offset dev inode path */
		if (sscanf(line, "%*s %7s %*s %*s %*s %4095s", perms, file) != 2 || perms[2] != 'x' ||
		    file[0] != '/')
			continue;
		if (ehframe_cache_get(c, file, &t, &created) == 0) {
			if (created) {
				files++;
				print_table(file, t);
				count_rule(&rules, t);
			}
		} else if (created) {
			none++;
			printf("  %-52s no unwind table\n", file);
		}
	}
	if (f)
		fclose(f);
	close(in[1]);
	waitpid(pid, &status, 0);
	close(out[0]);
	if (!c) {
		htab_free(&rules);
		return;
	}
	ehframe_cache_totals(c, &n, &rows, &bytes);
	printf("  python3.12 process: %zu executable files, %zu tables, %zu rows, %zu bytes (%.1f MiB)%s; "
	       "%zu distinct rules\n", files + none, n, rows, bytes, bytes / 1048576.0,
	       none ? ", some without table" : "", rules.len);
	htab_free(&rules);
	CHECK(n >= 3); /* python3.12, libpython3.12, libc at least */
	CHECK(rows > 50000);
	ehframe_cache_free(c);
}

static void measure_testbed(void)
{
	static const char *const pats[] = { TESTBED "/*/root/usr/bin/python3.*",
					    TESTBED "/build-*/install/bin/python3.*",
					    "/usr/bin/python3.*", "/root/.pyenv/versions/*/lib/libpython*.so.1.0" };
	struct ehframe_cache *c = NULL;
	size_t i, j, n, rows, bytes;
	glob_t g;

	if (ehframe_cache_new(&c))
		return;
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		if (glob(pats[i], 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc; j++) {
			const struct ehframe_table *t;

			if (strstr(g.gl_pathv[j], "-config") || strstr(g.gl_pathv[j], "gdb.py"))
				continue;
			if (ehframe_cache_get(c, g.gl_pathv[j], &t, NULL) == 0)
				check_shape(t);
		}
		globfree(&g);
	}
	ehframe_cache_totals(c, &n, &rows, &bytes);
	printf("  interpreters and libpythons installed: %zu tables, %zu rows, %zu bytes (%.1f MiB)\n",
	       n, rows, bytes, bytes / 1048576.0);
	ehframe_cache_free(c);
}

int main(void)
{
	static const char *const py_funcs[] = { "PyObject_GetAttr", "PyLong_FromLong",
						"_PyEval_EvalFrameDefault", "PyDict_GetItem", NULL };
	static const char *const libc_funcs[] = { "malloc", "free", "getpid", "qsort", NULL };
	const char *libc = libc_path();
	glob_t g;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	printf("unwind tables (8-byte rows):\n");
	check_file(LIBPY311, EHFRAME_ANY, ".eh_frame");
	check_file(LIBPY312, EHFRAME_ANY, ".eh_frame");
	if (libc)
		check_file(libc, EHFRAME_ANY, ".eh_frame");
	else
		printf("  SKIP libc: not found\n");
	if (glob(TESTBED "/*/root/usr/bin/python3.1?", 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			check_file(g.gl_pathv[i], EHFRAME_ANY, ".eh_frame");
		globfree(&g);
	} else {
		printf("  SKIP test bed interpreters: none in %s\n", TESTBED);
	}
	if (glob(TESTBED "/build-*/install/bin/python3.1?t", 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			check_file(g.gl_pathv[i], EHFRAME_ANY, ".eh_frame");
		globfree(&g);
	}
	check_file("/usr/bin/python3.11", EHFRAME_ANY, ".eh_frame");

	check_entry(LIBPY311, py_funcs);
	check_entry(LIBPY312, py_funcs);
	if (libc)
		check_entry(libc, libc_funcs);
	check_eval_loop(LIBPY311);
	check_eval_loop(LIBPY312);
	check_plt(LIBPY312);
	check_compiled();
	check_cache();
	measure_process();
	measure_testbed();
	return unit_summary("test_ehframe");
}
