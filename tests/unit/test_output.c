/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_output.c - the profile writers against golden files, plus facts
 * that hold whatever the goldens say (totals, ordering, escaping, errors).
 *
 * Run from the repository root.  PYBPF_REFRESH_GOLDEN=1 rewrites
 * tests/golden/basic.* from the current writers instead of comparing
 * (tools/refresh-golden.sh); review the diff before committing it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "unit.h"

#define GOLDEN_DIR "tests/golden/"

/* Names with ';', '<', '&', '"' and non-ASCII text; frame 11 has the same
 * label as frame 2 but another path, so label-merging formats merge them. */
static struct pframe frames[] = {
	{ "thread 101 (MainThread)", "", "", 0, 0, PFRAME_THREAD },
	{ "<module>", "app.py", "/srv/app/app.py", 10, 1, PFRAME_PYTHON },
	{ "main", "app.py", "/srv/app/app.py", 20, 15, PFRAME_PYTHON },
	{ "Worker.run;step", "lib.py", "/srv/app/lib.py", 5, 3, PFRAME_PYTHON },
	{ "<lambda>", "x&y \"z\".py", "/srv/app/x&y \"z\".py", 7, 7, PFRAME_PYTHON },
	{ "grüße", "ünï.py", "/srv/app/ünï.py", 3, 1, PFRAME_PYTHON },
	{ "[truncated]", "", "", 0, 0, PFRAME_TRUNCATED },
	{ "recurse", "deep.py", "/srv/app/deep.py", 0, 0, PFRAME_PYTHON },
	{ "len", "", "", 0, 0, PFRAME_PYTHON },
	{ "tiny", "tiny.py", "/srv/app/tiny.py", 1, 1, PFRAME_PYTHON },
	{ "[unknown]", "", "", 0, 0, PFRAME_UNKNOWN },
	{ "main", "app.py", "/other/app.py", 20, 15, PFRAME_PYTHON },
};

static const uint32_t st0[] = { 0, 1, 2, 3 };
static const uint32_t st1[] = { 0, 1, 2, 4 };
static const uint32_t st2[] = { 0, 1, 5 };
static const uint32_t st3[] = { 1, 2, 3 };
static const uint32_t st4[] = { 1, 11, 3 };
static const uint32_t st5[] = { 6, 7, 7, 7, 8 };
static const uint32_t st6[] = { 1, 9 };
static const uint32_t st7[] = { 1, 10 };

#define ST(a) sizeof(a) / sizeof(a[0]), a
/* Thread 101 has its thread root frame, 102 and 103 do not (so st3 and
 * st4 fold into one collapsed line); st6 is under 0.1% of the samples. */
static struct pstack stacks[] = {
	{ 100, 101, "MainThread", ST(st0), 1500, 0 },
	{ 100, 101, "MainThread", ST(st1), 200, 0 },
	{ 100, 101, "MainThread", ST(st2), 50, 0 },
	{ 100, 102, "worker;1", ST(st3), 300, 0 },
	{ 100, 103, "worker-2", ST(st4), 70, 0 },
	{ 100, 102, "worker;1", ST(st5), 25, PSTACK_TRUNCATED },
	{ 100, 102, "worker;1", ST(st6), 1, 0 },
	{ 100, 103, "worker-2", ST(st7), 4, 0 },
};
#define TOTAL 2150

static const struct profile basic = {
	.frames = frames, .nframes = sizeof(frames) / sizeof(frames[0]),
	.stacks = stacks, .nstacks = sizeof(stacks) / sizeof(stacks[0]),
	.total = TOTAL,
	.title = "python3 app.py --mode <fast> & \"more\"",
	.rate_hz = 99, .duration_ns = 21717171717ull, .start_unix_ns = 0,
	.python_version = "3.12.1",
};

/* Run a writer into memory; returns its result, *out is malloc'd. */
static int render(int (*write)(FILE *, const struct profile *),
		  const struct profile *p, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	int err;

	if (!f)
		return -errno;
	err = write(f, p);
	fclose(f);
	return err;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static void check_golden(const char *name, const char *got, size_t len)
{
	char path[256];
	size_t glen = 0, i, line = 1;
	char *want;
	FILE *f;

	snprintf(path, sizeof(path), GOLDEN_DIR "%s", name);
	if (getenv("PYBPF_REFRESH_GOLDEN")) {
		f = fopen(path, "wb");
		CHECK(f && fwrite(got, 1, len, f) == len && fclose(f) == 0);
		printf("refreshed %s\n", path);
		return;
	}
	want = slurp(path, &glen);
	if (!want) {
		fprintf(stderr, "%s: missing (PYBPF_REFRESH_GOLDEN=1 makes it)\n", path);
		CHECK(want != NULL);
		return;
	}
	for (i = 0; i < len && i < glen && got[i] == want[i]; i++)
		line += got[i] == '\n';
	if (i < len || i < glen)
		fprintf(stderr, "%s: output differs from line %zu on\n", path, line);
	CHECK(len == glen && i == len);
	free(want);
}

/* Sum of the numbers after the last space of each line; counts lines. */
static uint64_t sum_counts(const char *text, size_t *nlines)
{
	const char *line = text, *nl, *sp;
	uint64_t sum = 0;

	*nlines = 0;
	for (; (nl = strchr(line, '\n')); line = nl + 1) {
		for (sp = nl; sp > line && sp[-1] != ' '; sp--)
			;
		sum += strtoull(sp, NULL, 10);
		(*nlines)++;
	}
	return sum;
}

static void test_labels(void)
{
	struct pframe f = { "fn", "a.py", "/x/a.py", 12, 1, PFRAME_PYTHON };
	char buf[64];

	CHECK_EQ_INT(pframe_label(&f, buf, sizeof(buf)), 12);
	CHECK_EQ_STR(buf, "fn (a.py:12)");
	f.line = 0;
	pframe_label(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "fn (a.py)");
	f.line = 3;
	f.file = "";
	pframe_label(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "fn");
	f.file = NULL;
	pframe_label(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "fn");
	f.file = "a.py";
	f.kind = PFRAME_THREAD;
	pframe_label(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "fn");
	f.kind = PFRAME_PYTHON;
	CHECK_EQ_INT(pframe_label(&f, buf, 4), 11);   /* snprintf semantics */
	CHECK_EQ_STR(buf, "fn ");
}

static void test_registry(void)
{
	static const struct {
		const char *name;
		int (*write)(FILE *, const struct profile *);
	} want[] = {
		{ "flamegraph", write_flamegraph }, { "speedscope", write_speedscope },
		{ "collapsed", write_collapsed }, { "raw", write_raw },
		{ "pprof", write_pprof }, { "chrometrace", write_chrometrace },
	};
	const struct output_format *o;
	char names[128] = "";
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		o = output_find(want[i].name);
		CHECK(o && o->write == want[i].write && o->extension[0]);
		if (i)
			strcat(names, ", ");
		strcat(names, want[i].name);
	}
	CHECK_EQ_STR(output_names(), names);
	CHECK(output_find("pprof-nope") == NULL);
	CHECK(output_find(NULL) == NULL);
}

static void test_collapsed(void)
{
	char *out = NULL, *prev, *line, *nl;
	size_t len, nlines;

	CHECK_EQ_INT(render(write_collapsed, &basic, &out, &len), 0);
	check_golden("basic.collapsed", out, len);
	CHECK_EQ_INT(sum_counts(out, &nlines), TOTAL);
	CHECK_EQ_INT(nlines, 7);       /* 8 stacks, threads 102 and 103 merged */
	CHECK(strstr(out, "<module> (app.py:10);main (app.py:20);"
			  "Worker.run:step (lib.py:5) 370\n") != NULL);
	CHECK(strstr(out, "\n[truncated];recurse (deep.py);recurse (deep.py);"
			  "recurse (deep.py);len 25\n") != NULL);
	/* Sorted and unique: each line after the previous one. */
	for (prev = NULL, line = out; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		CHECK(!prev || strcmp(prev, line) < 0);
		prev = line;
	}
	free(out);
}

static void test_raw(void)
{
	char *out = NULL;
	size_t len, nlines;

	CHECK_EQ_INT(render(write_raw, &basic, &out, &len), 0);
	check_golden("basic.raw", out, len);
	CHECK_EQ_INT(sum_counts(out, &nlines), TOTAL);
	CHECK_EQ_INT(nlines, basic.nstacks);
	CHECK(strncmp(out, "100;101;MainThread;thread 101 (MainThread);", 43) == 0);
	CHECK(strstr(out, "100;102;worker:1;<module> (/srv/app/app.py:10);"
			  "main (/srv/app/app.py:20);"
			  "Worker.run:step (/srv/app/lib.py:5) 300\n") != NULL);
	CHECK(strstr(out, "main (/other/app.py:20)") != NULL);
	free(out);
}

/* A JSON recognizer (RFC 8259 grammar) that also adds up what the
 * speedscope checks need; keys give each value its meaning. */
struct json {
	const char *s;
	size_t nframes;       /* sample entries must index shared.frames */
	uint64_t weights;     /* sum of all "weights" entries */
	uint64_t end_values;  /* sum of all "endValue"s */
	int sampled;          /* "type":"sampled" profiles */
	int bad_index;
};

static int j_value(struct json *j, const char *key);

static void j_ws(struct json *j)
{
	while (*j->s == ' ' || *j->s == '\n' || *j->s == '\t' || *j->s == '\r')
		j->s++;
}

/* A string; its raw bytes (escapes as written) go to out if given. */
static int j_string(struct json *j, char *out, size_t n)
{
	size_t k = 0, i;

	if (*j->s++ != '"')
		return -1;
	for (; *j->s != '"'; j->s++) {
		if ((unsigned char)*j->s < 0x20)   /* also the end of input */
			return -1;
		if (*j->s == '\\') {
			j->s++;
			if (*j->s == 'u') {
				for (i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", j->s[i]) || !j->s[i])
						return -1;
				j->s += 4;
			} else if (!*j->s || !strchr("\"\\/bfnrt", *j->s)) {
				return -1;
			}
		}
		if (out && k + 1 < n)
			out[k++] = *j->s;
	}
	j->s++;
	if (out)
		out[k] = '\0';
	return 0;
}

static int j_number(struct json *j, const char *key)
{
	const char *start = j->s;
	char *end;
	double v;

	if (*start != '-' && (*start < '0' || *start > '9'))
		return -1;
	v = strtod(start, &end);
	j->s = end;
	if (strcmp(key, "weights[]") == 0)
		j->weights += (uint64_t)v;
	else if (strcmp(key, "endValue") == 0)
		j->end_values += (uint64_t)v;
	else if (strcmp(key, "samples[][]") == 0 && v >= (double)j->nframes)
		j->bad_index = 1;
	return 0;
}

static int j_container(struct json *j, const char *key)
{
	char close = *j->s == '{' ? '}' : ']', name[64], item[64];

	snprintf(item, sizeof(item), "%s[]", key);
	j->s++;
	j_ws(j);
	if (*j->s == close) {
		j->s++;
		return 0;
	}
	for (;;) {
		j_ws(j);
		if (close == '}') {
			if (j_string(j, name, sizeof(name)))
				return -1;
			j_ws(j);
			if (*j->s++ != ':')
				return -1;
		}
		if (j_value(j, close == '}' ? name : item))
			return -1;
		j_ws(j);
		if (*j->s == close) {
			j->s++;
			return 0;
		}
		if (*j->s++ != ',')
			return -1;
	}
}

static int j_value(struct json *j, const char *key)
{
	static const char *const lit[] = { "true", "false", "null" };
	size_t i;

	j_ws(j);
	if (*j->s == '{' || *j->s == '[')
		return j_container(j, key);
	if (*j->s == '"') {
		if (strcmp(key, "type") == 0 && strncmp(j->s, "\"sampled\"", 9) == 0)
			j->sampled++;
		return j_string(j, NULL, 0);
	}
	for (i = 0; i < 3; i++)
		if (strncmp(j->s, lit[i], strlen(lit[i])) == 0) {
			j->s += strlen(lit[i]);
			return 0;
		}
	return j_number(j, key);
}

static int j_parse(struct json *j, const char *text)
{
	j->s = text;
	if (j_value(j, ""))
		return -1;
	j_ws(j);
	return *j->s ? -1 : 0;
}

static void test_speedscope(void)
{
	struct json j = { .nframes = basic.nframes };
	char *out = NULL;
	size_t len;

	CHECK_EQ_INT(render(write_speedscope, &basic, &out, &len), 0);
	check_golden("basic.speedscope.json", out, len);
	CHECK_EQ_INT(j_parse(&j, out), 0);
	CHECK_EQ_INT(j.weights, TOTAL);
	CHECK_EQ_INT(j.end_values, TOTAL);
	CHECK_EQ_INT(j.sampled, 3);
	CHECK_EQ_INT(j.bad_index, 0);
	CHECK(strstr(out, "\"name\":\"python3 app.py --mode <fast> & \\\"more\\\"\""));
	CHECK(strstr(out, "\"name\":\"pid 100 thread 102 (worker;1)\""));
	CHECK(strstr(out, "{\"name\":\"grüße\",\"file\":\"/srv/app/ünï.py\",\"line\":3}"));
	free(out);
}

/* '&' outside the script's CDATA section must start an entity. */
static int svg_entities_ok(const char *svg)
{
	const char *cdata = strstr(svg, "<![CDATA["), *end = strstr(svg, "]]>");
	const char *s;

	for (s = svg; (s = strchr(s, '&')); s++) {
		if (cdata && s > cdata && s < end)
			continue;
		if (strncmp(s, "&amp;", 5) && strncmp(s, "&lt;", 4) &&
		    strncmp(s, "&gt;", 4) && strncmp(s, "&quot;", 6))
			return 0;
	}
	return cdata && end && !strstr(end + 3, "]]>");
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static void test_flamegraph(void)
{
	char *out = NULL;
	size_t len;

	CHECK_EQ_INT(render(write_flamegraph, &basic, &out, &len), 0);
	check_golden("basic.svg", out, len);
	CHECK(strncmp(out, "<?xml ", 6) == 0);
	CHECK(len > 7 && strcmp(out + len - 7, "</svg>\n") == 0);
	CHECK(svg_entities_ok(out));
	/* all, 6 frames under thread 101, 4 without root, 5 in the truncated
	 * stack; "tiny" (1 of 2150 samples) is under 0.1% and not drawn. */
	CHECK_EQ_INT(count(out, "<g data-x="), 16);
	CHECK(!strstr(out, "tiny"));
	CHECK(strstr(out, "<title>all (2150 samples, 100.00%)</title>"));
	CHECK(strstr(out, "<title>main (app.py:20) (370 samples, 17.21%)</title>"));
	CHECK(strstr(out, "&lt;lambda&gt; (x&amp;y &quot;z&quot;.py:7)"));
	CHECK(strstr(out, "python3 app.py --mode &lt;fast&gt; &amp; &quot;more&quot;"));
	CHECK(strstr(out, "2150 samples in 21.72 s at 99 Hz, Python 3.12.1"));
	free(out);
}

/* Bytes a symbolizer may hand over from a damaged process. */
static void test_hostile_names(void)
{
	struct pframe fr[] = { { "bad\xff\x01x", "f.py", "/f.py", 1, 1, PFRAME_PYTHON } };
	uint32_t idx[] = { 0 };
	struct pstack st[] = { { 1, 1, "t\n1", 1, idx, 5, 0 } };
	struct profile p = { .frames = fr, .nframes = 1, .stacks = st,
			     .nstacks = 1, .total = 5, .title = "" };
	struct json j = { .nframes = 1 };
	char *out = NULL;
	size_t len;

	CHECK_EQ_INT(render(write_speedscope, &p, &out, &len), 0);
	CHECK(strstr(out, "\"bad\\ufffd\\u0001x\""));
	CHECK(strstr(out, "(t\\n1)"));
	CHECK_EQ_INT(j_parse(&j, out), 0);
	free(out);
	CHECK_EQ_INT(render(write_flamegraph, &p, &out, &len), 0);
	CHECK(strstr(out, "bad\xef\xbf\xbd\xef\xbf\xbdx"));
	free(out);
	CHECK_EQ_INT(render(write_collapsed, &p, &out, &len), 0);
	CHECK_EQ_STR(out, "bad\xff x (f.py:1) 5\n");
	free(out);
	CHECK_EQ_INT(render(write_raw, &p, &out, &len), 0);
	CHECK_EQ_STR(out, "1;1;t 1;bad\xff x (/f.py:1) 5\n");
	free(out);
}

static void test_edges(void)
{
	int (*const writers[])(FILE *, const struct profile *) = {
		write_collapsed, write_raw, write_speedscope, write_flamegraph,
		write_pprof,
	};
	uint32_t bad_idx[] = { 99 };
	struct pstack bad_st[] = { { 1, 1, "t", 1, bad_idx, 1, 0 } };
	struct profile empty = { .title = "" };
	struct profile bad = basic;
	struct json j = { 0 };
	char *out = NULL;
	size_t i, len;
	FILE *full;

	bad.stacks = bad_st;
	bad.nstacks = 1;
	for (i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		CHECK_EQ_INT(render(writers[i], &bad, &out, &len), -EINVAL);
		free(out);
		CHECK_EQ_INT(render(writers[i], &empty, &out, &len), 0);
		if (writers[i] == write_speedscope)
			CHECK_EQ_INT(j_parse(&j, out), 0);
		if (writers[i] == write_collapsed)
			CHECK_EQ_INT(len, 0);
		free(out);
		/* A full disk must be reported, not swallowed by stdio. */
		full = fopen("/dev/full", "w");
		if (full) {
			CHECK(writers[i](full, &basic) < 0);
			fclose(full);
		}
	}
}

/* A timeline: thread 101 runs st0 (..;Worker.run;step) for 3 samples,
 * then st1 (..;<lambda>) once, is not seen for 60 ms, then st0 again;
 * thread 102 has one off-CPU interval of 25 ms.  Rate 100 Hz: 10 ms. */
static const struct psample timeline[] = {
	{ 1000000000ull, 0, 0, 0 },
	{ 1005000000ull, 25000000ull, 3, 0 },
	{ 1010000000ull, 0, 0, 0 },
	{ 1020000000ull, 0, 0, 0 },
	{ 1030000000ull, 0, 1, 0 },
	{ 1100000000ull, 0, 0, 0 },
};

static void test_timeline(void)
{
	struct profile p = basic;
	char *out = NULL;
	size_t len = 0;

	p.rate_hz = 100;
	p.timeline = (struct psample *)timeline;
	p.ntimeline = sizeof(timeline) / sizeof(timeline[0]);
	CHECK_EQ_INT(render(write_chrometrace, &p, &out, &len), 0);
	/* the thread root is left out; <module> and main stay open from 0
	 * to the gap (40 ms: the end of the last sample before it) */
	CHECK(strstr(out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":100,\"tid\":101,"
			  "\"args\":{\"name\":\"MainThread\"}}") != NULL);
	CHECK(strstr(out, "{\"ph\":\"B\",\"pid\":100,\"tid\":101,\"ts\":0.000,\"cat\":\"python\","
			  "\"name\":\"<module>\",\"args\":{\"file\":\"/srv/app/app.py\",\"line\":10}}")
	      != NULL);
	CHECK(strstr(out, "{\"ph\":\"E\",\"pid\":100,\"tid\":101,\"ts\":30000.000}") != NULL);
	CHECK(strstr(out, "{\"ph\":\"B\",\"pid\":100,\"tid\":101,\"ts\":30000.000,\"cat\":\"python\","
			  "\"name\":\"<lambda>\"") != NULL);
	CHECK(strstr(out, "{\"ph\":\"E\",\"pid\":100,\"tid\":101,\"ts\":40000.000}") != NULL);
	CHECK(strstr(out, "{\"ph\":\"B\",\"pid\":100,\"tid\":101,\"ts\":100000.000,") != NULL);
	CHECK(strstr(out, "{\"ph\":\"E\",\"pid\":100,\"tid\":101,\"ts\":110000.000}") != NULL);
	/* the interval: its own length */
	CHECK(strstr(out, "{\"ph\":\"E\",\"pid\":100,\"tid\":102,\"ts\":30000.000}") != NULL);
	CHECK(strstr(out, "\"tid\":103") == NULL);   /* no samples in the timeline */
	CHECK(count(out, "\"ph\":\"B\"") == count(out, "\"ph\":\"E\""));
	/* 101: 3 frames at 0, one at 30, 3 at 100; 102: 3 */
	CHECK_EQ_INT(count(out, "\"ph\":\"B\""), 3 + 1 + 3 + 3);
	free(out);

	out = NULL;
	CHECK_EQ_INT(render(write_speedscope, &p, &out, &len), 0);
	CHECK(strstr(out, "\"name\":\"pid 100 thread 101 (MainThread)\",\"unit\":\"nanoseconds\","
			  "\"startValue\":0,\"endValue\":50000000,") != NULL);
	CHECK(strstr(out, "\"weights\":[10000000,10000000,10000000,10000000,10000000]") != NULL);
	CHECK(strstr(out, "\"name\":\"pid 100 thread 102 (worker;1)\",\"unit\":\"nanoseconds\","
			  "\"startValue\":5000000,\"endValue\":30000000,") != NULL);
	free(out);

	p.timeline = NULL;
	p.ntimeline = 0;
	out = NULL;
	CHECK_EQ_INT(render(write_chrometrace, &p, &out, &len), -EINVAL);  /* needs one */
	free(out);
}

int main(void)
{
	test_labels();
	test_registry();
	test_collapsed();
	test_raw();
	test_speedscope();
	test_flamegraph();
	test_hostile_names();
	test_edges();
	test_timeline();
	return unit_summary("test_output");
}
