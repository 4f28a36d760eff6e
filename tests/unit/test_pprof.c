/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_pprof.c - the pprof writer, read back: gunzip with zlib, decode
 * the protobuf (pprof_decode.h), and check what pprof readers rely on
 * (string_table[0] "", ids 1..N in order, leaf-first stacks that resolve
 * to the right names and lines, values adding up to the total, labels);
 * then, if Go is installed, `go tool pprof` itself (SKIP otherwise).
 *
 * The protobuf encoder gets the byte-exact examples of protobuf's
 * encoding guide.  No golden file: deflate's output may change with the
 * zlib version, the decoded content may not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "pprof_decode.h"
#include "protobuf.h"
#include "unit.h"

/* ---- the profile under test ------------------------------------------ */

/* Frame 11 repeats frame 2 (one location); 9 is frame 2's function at
 * another line (one function, two locations); 10 has frame 2's name,
 * file and first line but another path (another function). */
static struct pframe frames[] = {
	{ "thread 101 (MainThread)", "", "", 0, 0, PFRAME_THREAD },
	{ "<module>", "app.py", "/srv/app/app.py", 10, 1, PFRAME_PYTHON },
	{ "main", "app.py", "/srv/app/app.py", 20, 15, PFRAME_PYTHON },
	{ "Worker.run;step", "lib.py", "/srv/app/lib.py", 5, 3, PFRAME_PYTHON },
	{ "<lambda>", "x.py", "/srv/app/x.py", 7, 7, PFRAME_PYTHON },
	{ "grüße", "ünï.py", "/srv/app/ünï.py", 3, 1, PFRAME_PYTHON },
	{ "<truncated>", "", "", 0, 0, PFRAME_TRUNCATED },
	{ "recurse", "deep.py", "/srv/app/deep.py", 0, 0, PFRAME_PYTHON },
	{ "len", "", "", 0, 0, PFRAME_PYTHON },
	{ "main", "app.py", "/srv/app/app.py", 21, 15, PFRAME_PYTHON },
	{ "main", "app.py", "/other/app.py", 20, 15, PFRAME_PYTHON },
	{ "main", "app.py", "/srv/app/app.py", 20, 15, PFRAME_PYTHON },
	{ "bad\xff", "b.py", "", 2, 1, PFRAME_PYTHON },
	{ "process 100: python3 app.py", "", "", 0, 0, PFRAME_PROCESS },
	{ "[unknown]", "", "", 0, 0, PFRAME_UNKNOWN },
};
#define NFRAMES (sizeof(frames) / sizeof(frames[0]))
/* What a reader must see for each frame: name and filename. */
static const char *const want_name[NFRAMES] = {
	[12] = "bad\xef\xbf\xbd",
};
static const char *const want_file[NFRAMES] = {
	[12] = "b.py",     /* no path: the display file */
};
#define WANT_FUNCS 13  /* 15 frames: 11 is 2, 9 is 2's function */
#define WANT_LOCS 14   /* 11 is 2 */

static const uint32_t st0[] = { 0, 1, 2, 3 };
static const uint32_t st1[] = { 0, 1, 9, 4 };
static const uint32_t st2[] = { 0, 1, 5 };
static const uint32_t st3[] = { 1, 11, 3 };
static const uint32_t st4[] = { 1, 10, 3 };
static const uint32_t st5[] = { 6, 7, 7, 7, 8 };
static const uint32_t st6[] = { 13, 1, 12 };
static const uint32_t st7[] = { 1, 14 };

#define ST(a) sizeof(a) / sizeof(a[0]), a
static struct pstack stacks[] = {
	{ 100, 101, "MainThread", ST(st0), 1500, 0 },
	{ 100, 101, "MainThread", ST(st1), 200, 0 },
	{ 100, 101, "MainThread", ST(st2), 50, 0 },
	{ 100, 102, "worker;1", ST(st3), 300, 0 },
	{ 100, 103, "worker-2", ST(st4), 70, 0 },
	{ 100, 102, "worker;1", ST(st5), 25, PSTACK_TRUNCATED },
	{ 100, 104, "t\xfe", ST(st6), 4, 0 },
	{ 200, 201, "", ST(st7), 1, 0 },
	{ 200, 201, "", 0, NULL, 3, 0 },   /* no frames at all */
};
#define NSTACKS (sizeof(stacks) / sizeof(stacks[0]))
#define TOTAL 2153
#define PERIOD 10101010    /* 1e9 / 99 */

static const struct profile basic = {
	.frames = frames, .nframes = NFRAMES, .stacks = stacks, .nstacks = NSTACKS,
	.total = TOTAL, .title = "python3 app.py --mode fast",
	.rate_hz = 99, .duration_ns = 21747474747ull,
	.start_unix_ns = 1700000000123456789ull, .python_version = "3.12.1",
};

/* ---- reading it back ------------------------------------------------- */

/* Write p with write_pprof to a new temporary file; its path, or NULL. */
static char *write_tmp(const struct profile *p, int *err)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/pybpf-test-XXXXXX.pb.gz");
	fd = mkstemps(path, 6);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (!(f = fdopen(fd, "wb"))) {
		*err = -errno;
		close(fd);
		unlink(path);
		return NULL;
	}
	*err = write_pprof(f, p);
	if (fclose(f) && !*err)
		*err = -errno;
	return path;
}

/* write_pprof, gunzip and decode; 0 if all of it worked. */
static int roundtrip(const struct profile *p, struct dprof *d, char **path_out)
{
	uint8_t *buf;
	size_t len;
	char *path;
	int err;

	memset(d, 0, sizeof(*d));
	path = write_tmp(p, &err);
	CHECK_EQ_INT(err, 0);
	if (!path || err)
		return -1;
	buf = gunzip(path, &len);
	CHECK(buf != NULL);
	if (path_out)
		*path_out = path;
	else
		unlink(path);
	if (!buf)
		return -1;
	decode(d, buf, len);
	free(buf);
	CHECK_EQ_INT(d->bad, 0);
	return d->bad ? -1 : 0;
}

/* ---- checks ------------------------------------------------------------ */

static int valid_utf8(const char *s)
{
	size_t n;

	for (; *s; s += n)
		if (!(n = utf8_len((const unsigned char *)s)))
			return 0;
	return 1;
}

/* The tables: string_table[0] "", strings unique and valid UTF-8, ids
 * 1..N in order, every reference in range, no duplicate function or
 * location, one mapping marked symbolized.  (Uniqueness is checked
 * pairwise, so only for tables under 500 entries.) */
static void check_tables(const struct dprof *d, size_t want_funcs, size_t want_locs)
{
	size_t i, j, bad = 0;

	CHECK(d->nstr > 0 && d->str[0][0] == '\0');
	for (i = 0; i < d->nstr; i++) {
		bad += !valid_utf8(d->str[i]);
		for (j = i + 1; j < d->nstr && d->nstr < 500; j++)
			bad += strcmp(d->str[i], d->str[j]) == 0;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(d->nf, want_funcs);
	CHECK_EQ_INT(d->nl, want_locs);
	for (i = 0; i < d->nf; i++) {
		bad += d->fn[i].id != i + 1;
		bad += d->fn[i].name >= d->nstr || d->fn[i].file >= d->nstr;
		/* Empty, so pprof does not "demangle" <module> into "". */
		bad += d->fn[i].system_name != 0;
		for (j = i + 1; j < d->nf && d->nf < 500; j++)
			bad += d->fn[i].name == d->fn[j].name && d->fn[i].file == d->fn[j].file &&
			       d->fn[i].start_line == d->fn[j].start_line;
	}
	CHECK_EQ_INT(bad, 0);
	for (i = 0; i < d->nl; i++) {
		bad += d->l[i].id != i + 1 || d->l[i].mapping != 1 || d->l[i].nline != 1;
		bad += d->l[i].line[0].func < 1 || d->l[i].line[0].func > d->nf;
		for (j = i + 1; j < d->nl && d->nl < 500; j++)
			bad += d->l[i].line[0].func == d->l[j].line[0].func &&
			       d->l[i].line[0].line == d->l[j].line[0].line;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(d->nmap, 1);
	CHECK_EQ_INT(d->map_id, 1);
	CHECK_EQ_INT(d->map_flags, (1u << 7) | (1u << 8) | (1u << 9));
}

static const struct dlabel *label(const struct dprof *d, const struct dsample *s,
				  const char *key)
{
	size_t i;

	for (i = 0; i < s->nlab; i++)
		if (strcmp(S(d, s->lab[i].key), key) == 0)
			return &s->lab[i];
	return NULL;
}

/* Sample i is stack i: leaf-first locations that resolve to the stack's
 * frames (names, files, lines), its values and its labels.  Returns the
 * number of mismatches; names[]/files[] override what a frame says. */
static size_t check_samples(const struct dprof *d, const struct profile *p,
			    uint64_t period, const char *const *names,
			    const char *const *files, const char *const *threads)
{
	size_t i, bad = 0;
	uint64_t count = 0, cpu = 0;
	uint32_t k;

	CHECK_EQ_INT(d->ns, p->nstacks);
	for (i = 0; i < d->ns && i < p->nstacks; i++) {
		const struct dsample *s = &d->s[i];
		const struct pstack *st = &p->stacks[i];
		const struct dlabel *pid = label(d, s, "pid"), *tid = label(d, s, "tid");
		const struct dlabel *tn = label(d, s, "thread_name");
		const char *want_tn = threads && threads[i] ? threads[i] : st->thread_name;

		bad += s->nloc != st->depth;
		for (k = 0; k < st->depth && k < s->nloc; k++) {
			uint32_t fi = st->frames[st->depth - 1 - k];
			const struct pframe *fr = &p->frames[fi];
			int py = fr->kind == PFRAME_PYTHON;
			const char *file = fr->path[0] ? fr->path : fr->file;
			const struct dloc *l;
			const struct dfunc *fn;

			if (s->loc[k] < 1 || s->loc[k] > d->nl) {
				bad++;
				continue;
			}
			l = &d->l[s->loc[k] - 1];
			fn = &d->fn[l->line[0].func - 1];
			file = files && files[fi] ? files[fi] : py ? file : "";
			bad += strcmp(S(d, fn->name), names && names[fi] ? names[fi] : fr->name) != 0;
			bad += strcmp(S(d, fn->file), file) != 0;
			bad += l->line[0].line != (py ? fr->line : 0);
			bad += fn->start_line != (py ? fr->first_line : 0);
		}
		bad += s->nval != 2 || s->val[0] != st->count || s->val[1] != st->count * period;
		count += s->val[0];
		cpu += s->val[1];
		bad += s->nlab != 3 || !pid || !tid || !tn;
		bad += pid && (!pid->has_num || pid->has_str || pid->num != st->pid);
		bad += tid && (!tid->has_num || tid->has_str || tid->num != st->tid);
		bad += tn && (!tn->has_str || strcmp(S(d, tn->str), want_tn) != 0);
	}
	CHECK_EQ_INT(count, p->total);
	CHECK_EQ_INT(cpu, p->total * period);
	return bad;
}

static void test_encoder(void)
{
	/* The examples of protobuf's encoding guide, and varint limits. */
	static const uint64_t packed[] = { 3, 270, 86942 };
	static const uint8_t want_packed[] = { 0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05 };
	struct proto_buf b = { 0 }, sub = { 0 };

	proto_uint(&b, 1, 150);
	CHECK(b.len == 3 && memcmp(b.data, "\x08\x96\x01", 3) == 0);
	proto_reset(&b);
	proto_string(&b, 2, "testing");
	CHECK(b.len == 9 && memcmp(b.data, "\x12\x07testing", 9) == 0);
	proto_reset(&b);
	proto_packed(&b, 4, packed, 3);
	CHECK(b.len == sizeof(want_packed) && memcmp(b.data, want_packed, b.len) == 0);
	proto_reset(&b);
	proto_packed(&b, 4, packed, 0);
	CHECK_EQ_INT(b.len, 0);
	proto_uint(&sub, 1, 150);
	proto_message(&b, 3, &sub);        /* Test3 { c: Test1 { a: 150 } } */
	CHECK(b.len == 5 && memcmp(b.data, "\x1a\x03\x08\x96\x01", 5) == 0);
	proto_reset(&b);
	proto_varint(&b, UINT64_MAX);
	CHECK(b.len == 10 && b.data[9] == 0x01 && b.data[8] == 0xff);
	CHECK_EQ_INT(proto_varint_size(0), 1);
	CHECK_EQ_INT(proto_varint_size(127), 1);
	CHECK_EQ_INT(proto_varint_size(128), 2);
	CHECK_EQ_INT(proto_varint_size(UINT64_MAX), 10);
	proto_reset(&b);
	proto_key(&b, 100000, PROTO_LEN);  /* keys are varints too */
	CHECK(b.len == 3 && memcmp(b.data, "\x82\xea\x30", 3) == 0);
	CHECK_EQ_INT(b.err, 0);
	proto_free(&b);
	proto_free(&sub);
	proto_free(NULL);
}

static void test_basic(void)
{
	static const char *const threads[NSTACKS] = { [6] = "t\xef\xbf\xbd" };
	struct dprof d;
	int has_title = 0, has_version = 0;
	size_t i;

	if (roundtrip(&basic, &d, NULL) == 0) {
		CHECK_EQ_INT(d.nst, 2);
		CHECK_EQ_STR(S(&d, d.st[0].type), "samples");
		CHECK_EQ_STR(S(&d, d.st[0].unit), "count");
		CHECK_EQ_STR(S(&d, d.st[1].type), "cpu");
		CHECK_EQ_STR(S(&d, d.st[1].unit), "nanoseconds");
		CHECK_EQ_STR(S(&d, d.period_type.type), "cpu");
		CHECK_EQ_STR(S(&d, d.period_type.unit), "nanoseconds");
		CHECK_EQ_INT(d.period, PERIOD);
		CHECK(d.time == basic.start_unix_ns);
		CHECK(d.duration == basic.duration_ns);
		for (i = 0; i < d.ncomment; i++) {
			has_title |= strcmp(S(&d, d.comment[i]), basic.title) == 0;
			has_version |= strcmp(S(&d, d.comment[i]), "Python 3.12.1") == 0;
		}
		CHECK(has_title && has_version);
		check_tables(&d, WANT_FUNCS, WANT_LOCS);
		CHECK_EQ_INT(check_samples(&d, &basic, PERIOD, want_name, want_file,
					   threads), 0);
		/* The first sample spelled out: leaf first. */
		CHECK(d.s[0].nloc == 4 &&
		      strcmp(S(&d, d.fn[d.l[d.s[0].loc[0] - 1].line[0].func - 1].name),
			     "Worker.run;step") == 0 &&
		      strcmp(S(&d, d.fn[d.l[d.s[0].loc[3] - 1].line[0].func - 1].name),
			     "thread 101 (MainThread)") == 0);
		CHECK_EQ_INT(d.l[d.s[0].loc[0] - 1].line[0].line, 5);
		/* Frames 2 and 11 are one location; 2 and 9 one function. */
		CHECK(d.s[0].loc[1] == d.s[3].loc[1]);
		CHECK(d.s[0].loc[1] != d.s[1].loc[1]);
		CHECK(d.l[d.s[0].loc[1] - 1].line[0].func == d.l[d.s[1].loc[1] - 1].line[0].func);
		CHECK(d.l[d.s[0].loc[1] - 1].line[0].func != d.l[d.s[4].loc[1] - 1].line[0].func);
		CHECK_EQ_INT(d.s[8].nloc, 0);
	}
	dprof_free(&d);
}

/* Off-CPU time (--idle, --gil-wait) is wall time, never CPU time: a third
 * sample type, wall/nanoseconds, holds on- and off-CPU time, cpu only the
 * on-CPU samples'. */
static void test_offcpu(void)
{
	static struct pstack st[] = {
		{ 100, 101, "MainThread", ST(st0), 30, 0 },
		{ 100, 101, "MainThread", ST(st2), 70, PSTACK_OFFCPU },
	};
	struct profile p = basic;
	struct dprof d;

	p.stacks = st;
	p.nstacks = 2;
	p.total = 100;
	if (roundtrip(&p, &d, NULL) == 0) {
		CHECK_EQ_INT(d.nst, 3);
		CHECK_EQ_STR(S(&d, d.st[1].type), "cpu");
		CHECK_EQ_STR(S(&d, d.st[2].type), "wall");
		CHECK_EQ_STR(S(&d, d.st[2].unit), "nanoseconds");
		CHECK_EQ_INT(d.ns, 2);
		CHECK(d.ns == 2 && d.s[0].nval == 3 && d.s[1].nval == 3);
		if (d.ns == 2 && d.s[1].nval == 3) {
			CHECK(d.s[0].val[1] == 30ull * PERIOD && d.s[0].val[2] == 30ull * PERIOD);
			CHECK(d.s[1].val[1] == 0 && d.s[1].val[2] == 70ull * PERIOD);
		}
	}
	dprof_free(&d);
}

/* Enough stacks and frames that the encoding is deflated in many pieces. */
static void test_big(void)
{
	enum { NF = 3000, NS = 4000, DEPTH = 40 };
	struct pframe *fr = calloc(NF, sizeof(*fr));
	struct pstack *st = calloc(NS, sizeof(*st));
	uint32_t *idx = calloc((size_t)NS * DEPTH, sizeof(*idx));
	char (*names)[32] = calloc(NF, sizeof(*names));
	struct profile p = { .frames = fr, .nframes = NF, .stacks = st, .nstacks = NS,
			     .title = "", .rate_hz = 1000 };
	uint64_t seed = 42;
	struct dprof d;
	size_t i, k;

	if (!fr || !st || !idx || !names) {
		CHECK(!"out of memory");
		goto out;
	}
	for (i = 0; i < NF; i++) {
		snprintf(names[i], sizeof(names[i]), "fn_%04zu", i);
		fr[i] = (struct pframe){ names[i], "m.py", i % 2 ? "/big/m.py" : "/big/n.py",
					 (uint32_t)i, (uint32_t)(i - i % 10), PFRAME_PYTHON };
	}
	for (i = 0; i < NS; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		st[i] = (struct pstack){ (uint32_t)(i % 7), (uint32_t)(1000 + i % 13), "w",
					 1 + (uint32_t)(seed >> 40) % DEPTH, idx + i * DEPTH,
					 1 + (seed >> 20) % 1000, 0 };
		for (k = 0; k < st[i].depth; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			idx[i * DEPTH + k] = (uint32_t)((seed >> 33) % NF);
		}
		p.total += st[i].count;
	}
	if (roundtrip(&p, &d, NULL) == 0) {
		CHECK(d.nf > 1000 && d.nl == d.nf);   /* one line per function here */
		check_tables(&d, d.nf, d.nl);
		CHECK_EQ_INT(check_samples(&d, &p, 1000000, NULL, NULL, NULL), 0);
	}
	dprof_free(&d);
out:
	free(fr);
	free(st);
	free(idx);
	free(names);
}

static void test_edges(void)
{
	uint32_t bad_idx[] = { 15 };
	struct pstack bad_st[] = { { 1, 1, "t", 1, bad_idx, 1, 0 } };
	struct profile empty = { .title = "" }, bad = basic;
	struct dprof d;
	char *path;
	int err;

	/* No samples, no rate: still a file readers accept. */
	if (roundtrip(&empty, &d, NULL) == 0) {
		CHECK(d.nstr > 0 && d.str[0][0] == '\0');
		CHECK_EQ_INT(d.ns, 0);
		CHECK_EQ_INT(d.nst, 2);
		CHECK_EQ_INT(d.period, 0);
	}
	dprof_free(&d);
	bad.stacks = bad_st;
	bad.nstacks = 1;
	path = write_tmp(&bad, &err);
	CHECK_EQ_INT(err, -EINVAL);
	if (path)
		unlink(path);
}

/* ---- the real reader ----------------------------------------------------- */

/* The non-empty lines of text, trimmed, in place; the count in *n. */
static char **split_lines(char *text, size_t *n)
{
	char **lines = NULL, **grown, *line, *save = NULL, *end;

	*n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ')
			line++;
		end = line + strlen(line);
		while (end > line && end[-1] == ' ')
			*--end = '\0';
		if (!(grown = realloc(lines, (*n + 1) * sizeof(*lines))))
			break;
		lines = grown;
		lines[(*n)++] = line;
	}
	return lines;
}

/* Run `go tool pprof ARGS FILE`; its output, NULL if it failed. */
static char *go_pprof(const char *args, const char *path)
{
	char cmd[256], *out = NULL;
	size_t len = 0;
	FILE *pipe, *mem = open_memstream(&out, &len);
	int c, status;

	snprintf(cmd, sizeof(cmd), "go tool pprof %s '%s' 2>&1", args, path);
	if (!mem || !(pipe = popen(cmd, "r"))) {
		if (mem)
			fclose(mem);
		free(out);
		return NULL;
	}
	while ((c = fgetc(pipe)) != EOF)
		fputc(c, mem);
	status = pclose(pipe);
	fclose(mem);
	if (status != 0) {
		fprintf(stderr, "%s: status %d:\n%s", cmd, status, out);
		free(out);
		return NULL;
	}
	return out;
}

/* --native: native and kernel frames carry their address and mapping
 * (struct paddr); each mapping is written once, as the process mapped it,
 * with its file and build id; a location is (function, mapping, address),
 * so deflate at two pcs is two locations of one function, and the same
 * library in two processes two mappings. */
static void test_native(void)
{
	static struct pframe nf[] = {
		{ "<module>", "app.py", "/srv/app.py", 3, 1, PFRAME_PYTHON },
		{ "deflate", "libz.so.1", "/usr/lib/libz.so.1", 0, 0, PFRAME_NATIVE },
		{ "do_syscall_64", "", "", 0, 0, PFRAME_KERNEL },
		{ "libz.so.1+0x4cf6", "", "/usr/lib/libz.so.1", 0, 0, PFRAME_NATIVE },
	};
	static const struct pmapping za = {
		0x7f0000001000, 0x7f0000014000, 0x3000, "/usr/lib/libz.so.1",
		"1f95d5498d283b79505861523e20b3db2afdf518", 1 };
	static const struct pmapping zb = {
		0x7f5000001000, 0x7f5000014000, 0x3000, "/usr/lib/libz.so.1",
		"1f95d5498d283b79505861523e20b3db2afdf518", 1 };
	static const struct pmapping kern = {
		0xffffffff81000000, UINT64_MAX, 0, "[kernel.kallsyms]", "85c7e4e2", 1 };
	static const uint32_t s0[] = { 0, 1, 2 }, s1[] = { 0, 1 }, s2[] = { 0, 3, 1 };
	static const struct paddr a0[] = { { 0 }, { 0x7f0000004000, &za },
					   { 0xffffffff81001234, &kern } };
	static const struct paddr a1[] = { { 0 }, { 0x7f0000004010, &za } };
	static const struct paddr a2[] = { { 0 }, { 0x7f5000003cf5, &zb },
					   { 0x7f5000004000, &zb } };
	static struct pstack st[] = {
		{ 100, 100, "MainThread", 3, s0, 5, 0, NULL, NULL, 0, a0 },
		{ 100, 100, "MainThread", 2, s1, 7, 0, NULL, NULL, 0, a1 },
		{ 200, 200, "MainThread", 3, s2, 1, 0, NULL, NULL, 0, a2 },
	};
	struct profile p = { .frames = nf, .nframes = 4, .stacks = st, .nstacks = 3,
			     .total = 13, .rate_hz = 99 };
	struct dprof d;
	size_t i;

	if (roundtrip(&p, &d, NULL) == 0) {
		CHECK_EQ_INT(d.nmap, 4);
		for (i = 0; i < d.nmap && i < MAX_MAPS; i++)
			CHECK_EQ_INT(d.map[i].id, i + 1);
		/* 1: Python frames; then in order of first use, leaf first */
		CHECK_EQ_INT(d.map[0].flags, (1u << 7) | (1u << 8) | (1u << 9));
		CHECK_EQ_STR(S(&d, d.map[1].file), "[kernel.kallsyms]");
		CHECK_EQ_STR(S(&d, d.map[1].build_id), "85c7e4e2");
		CHECK(d.map[2].start == za.start && d.map[2].limit == za.limit &&
		      d.map[2].offset == za.offset);
		CHECK_EQ_STR(S(&d, d.map[2].file), "/usr/lib/libz.so.1");
		CHECK_EQ_STR(S(&d, d.map[2].build_id), za.build_id);
		CHECK_EQ_INT(d.map[2].flags, 1u << 7);
		CHECK(d.map[3].start == zb.start);
		/* leaf first: s0 is do_syscall_64, deflate, <module> */
		if (d.ns == 3 && d.s[0].nloc == 3 && d.s[1].nloc == 2 && d.s[2].nloc == 3) {
			const struct dloc *k = &d.l[d.s[0].loc[0] - 1], *z0 = &d.l[d.s[0].loc[1] - 1],
					  *py = &d.l[d.s[0].loc[2] - 1], *z1 = &d.l[d.s[1].loc[0] - 1],
					  *zb0 = &d.l[d.s[2].loc[0] - 1];

			CHECK(k->mapping == 2 && k->addr == 0xffffffff81001234);
			CHECK(z0->mapping == 3 && z0->addr == 0x7f0000004000);
			CHECK(z1->mapping == 3 && z1->addr == 0x7f0000004010);
			CHECK(z0->line[0].func == z1->line[0].func);
			CHECK(py->mapping == 1 && py->addr == 0);
			CHECK(d.s[0].loc[2] == d.s[1].loc[1]);
			CHECK(zb0->mapping == 4 && zb0->addr == 0x7f5000004000 &&
			      zb0->line[0].func == z0->line[0].func);
			CHECK_EQ_STR(S(&d, d.fn[d.l[d.s[2].loc[1] - 1].line[0].func - 1].name),
				     "libz.so.1+0x4cf6");
		} else {
			CHECK(!"three samples of 3, 2 and 3 locations");
		}
		CHECK_EQ_INT(d.nl, 6);
	}
	dprof_free(&d);
}

static void test_go_pprof(void)
{
	char *path = NULL, *top = NULL, *traces = NULL, **lines = NULL;
	size_t n = 0, i;
	struct dprof d;
	int found = 0;

	if (system("command -v go >/dev/null 2>&1") != 0) {
		printf("test_pprof: SKIP go tool pprof: go is not installed (Debian: golang-go)\n");
		return;
	}
	if (roundtrip(&basic, &d, &path) != 0)
		goto out;
	top = go_pprof("-top", path);
	traces = go_pprof("-traces", path);
	CHECK(top && traces);
	if (!top || !traces)
		goto out;
	/* The hottest function first, names pprof must not "simplify". */
	CHECK(strstr(top, "Worker.run;step\n") &&
	      strstr(top, "Worker.run;step\n") < strstr(top, "main\n"));
	CHECK(strstr(top, " <module>\n") && strstr(top, " <lambda>\n"));
	CHECK(strstr(top, " grüße\n") && strstr(top, " <truncated>\n"));
	CHECK(!strstr(top, "binary filename not available"));
	CHECK(strstr(traces, "thread_name:  worker;1\n") && strstr(traces, "tid:  102\n"));
	/* pprof reads our order as leaf first, as intended. */
	lines = split_lines(traces, &n);
	for (i = 0; i + 3 < n; i++) {
		size_t l0 = strlen(lines[i]);

		found |= l0 > 16 && strcmp(lines[i] + l0 - 16, " Worker.run;step") == 0 &&
			 strcmp(lines[i + 1], "main") == 0 &&
			 strcmp(lines[i + 2], "<module>") == 0 &&
			 strcmp(lines[i + 3], "thread 101 (MainThread)") == 0;
	}
	CHECK(found);
out:
	dprof_free(&d);
	if (path)
		unlink(path);
	free(lines);
	free(top);
	free(traces);
}

int main(void)
{
	test_encoder();
	test_basic();
	test_offcpu();
	test_big();
	test_edges();
	test_native();
	test_go_pprof();
	return unit_summary("test_pprof");
}
