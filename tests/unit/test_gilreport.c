/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_gilreport.c - `pybpf gil`'s interval accounting and output, fed
 * made-up gil_threads entries and events (no BPF, no root): differences
 * between reads, waits and holds still open at a read, handoffs, threads
 * that exited or whose tid was reused, JSON and text lines.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gilreport.h"
#include "unit.h"

#define S0   1000000000000ull          /* tracing began (monotonic ns) */
#define SEC  1000000000ull
#define MS   1000000ull
#define NOPID 0x7ffffff0               /* no such process: names come from the entries */

static struct pyproc proc = { .pid = NOPID, .version = "3.11.7", .comm = "app" };

static char *buf;
static size_t len;

static void entry(struct gil_entry *e, uint32_t tid, const char *comm)
{
	memset(e, 0, sizeof(*e));
	e->tid = tid;
	e->t.pid = NOPID;
	snprintf(e->t.comm, sizeof(e->t.comm), "%s", comm);
}

/* The JSON object of thread tid in the line, up to its closing brace. */
static const char *thread_json(const char *line, uint32_t tid, char *out, size_t n)
{
	char key[32];
	const char *p, *end;

	snprintf(key, sizeof(key), "{\"tid\":%u,", tid);
	p = strstr(line, key);
	if (!p)
		return "";
	end = strchr(p, '}');
	snprintf(out, n, "%.*s", (int)(end - p + 1), p);
	return out;
}

static void test_intervals(void)
{
	struct gil_report_opts o = { .json = 1 };
	struct gil_report r;
	struct gil_entry e[3];
	char t[512];
	FILE *f = open_memstream(&buf, &len);

	gil_report_init(&r, &o, f, &proc, NULL, "take_gil/drop_gil", S0);

	/* interval 1 (0..1 s): a held 400 ms in 10 holds and holds since 0.9 s;
	 * b is in take_gil since 0.5 s after a 1 us handoff in drop_gil */
	entry(&e[0], 11, "a");
	e[0].t.takes = 10;
	e[0].t.wait_ns = 100 * MS;
	e[0].t.drops = 10;
	e[0].t.hold_ns = 400 * MS;
	e[0].t.hold_start = S0 + 900 * MS;
	entry(&e[1], 12, "b");
	e[1].t.take_start = S0 + 500 * MS;
	e[1].t.handoff_ns = 1000;
	gil_report_interval(&r, S0 + SEC, e, 2);
	fflush(f);
	CHECK_EQ_STR(thread_json(buf, 11, t, sizeof(t)),
		     "{\"tid\":11,\"name\":\"a\",\"holding\":true,\"waiting\":false,\"takes\":10,"
		     "\"wait_ns\":100000000,\"wait_mean_ns\":10000000,\"hold_ns\":500000000,"
		     "\"hold_mean_ns\":40000000,\"drops\":10,\"hold_pct\":50.00,\"wait_pct\":10.00}");
	CHECK_EQ_STR(thread_json(buf, 12, t, sizeof(t)),
		     "{\"tid\":12,\"name\":\"b\",\"holding\":false,\"waiting\":true,\"takes\":0,"
		     "\"wait_ns\":500001000,\"wait_mean_ns\":0,\"hold_ns\":0,\"hold_mean_ns\":0,"
		     "\"drops\":0,\"hold_pct\":0.00,\"wait_pct\":50.00}");
	CHECK(strstr(buf, "\"total\":{\"takes\":10,\"wait_ns\":600001000,") != NULL);
	CHECK(strstr(buf, "\"interval\":1.000,") != NULL);
	CHECK_EQ_INT(r.intervals, 1);

	/* interval 2 (1..2 s): a dropped at 1.2 s and b took the GIL then
	 * (its wait: 0.7 s plus the handoff); c began holding at 1.5 s and
	 * exited at 1.8 s; b's entry of interval 1 is gone */
	fclose(f);
	free(buf);
	f = open_memstream(&buf, &len);
	r.out = f;
	e[0].t.drops = 11;
	e[0].t.hold_ns = 700 * MS;
	e[0].t.hold_start = 0;
	e[1].t.take_start = 0;
	e[1].t.handoff_ns = 0;
	e[1].t.takes = 1;
	e[1].t.wait_ns = 700 * MS + 1000;
	e[1].t.hold_start = S0 + 1200 * MS;
	entry(&e[2], 13, "c");
	e[2].t.hold_start = S0 + 1500 * MS;
	e[2].t.exit_ns = S0 + 1800 * MS;
	gil_report_interval(&r, S0 + 2 * SEC, e, 3);
	fflush(f);
	CHECK(strstr(thread_json(buf, 11, t, sizeof(t)), "\"takes\":0,\"wait_ns\":0,") != NULL);
	CHECK(strstr(thread_json(buf, 11, t, sizeof(t)),
		     "\"hold_ns\":200000000,\"hold_mean_ns\":300000000,\"drops\":1,") != NULL);
	CHECK(strstr(thread_json(buf, 12, t, sizeof(t)),
		     "\"takes\":1,\"wait_ns\":200000000,\"wait_mean_ns\":700001000,"
		     "\"hold_ns\":800000000,") != NULL);
	CHECK(strstr(thread_json(buf, 13, t, sizeof(t)),
		     "\"holding\":false,\"waiting\":false,\"takes\":0,\"wait_ns\":0,"
		     "\"wait_mean_ns\":0,\"hold_ns\":300000000,") != NULL);
	/* sorted by hold: b (0.8 s), c (0.3 s), a (0.2 s) */
	CHECK(strstr(buf, "{\"tid\":12,") < strstr(buf, "{\"tid\":13,"));
	CHECK(strstr(buf, "{\"tid\":13,") < strstr(buf, "{\"tid\":11,"));
	CHECK(strstr(buf, "\"total\":{\"takes\":1,\"wait_ns\":200000000,\"wait_mean_ns\":700001000,"
			  "\"hold_ns\":1300000000,") != NULL);

	/* interval 3: a's tid now belongs to a new thread (counts restart);
	 * b's hold ended at 2 s: a drop, but no hold time left in this interval
	 * (its mean covers the whole hold); c, without activity, is left out */
	fclose(f);
	free(buf);
	f = open_memstream(&buf, &len);
	r.out = f;
	entry(&e[0], 11, "a2");
	e[0].t.takes = 2;
	e[0].t.wait_ns = 2 * MS;
	e[0].t.drops = 2;
	e[0].t.hold_ns = 4 * MS;
	e[1].t.hold_start = 0;
	e[1].t.drops = 1;
	e[1].t.hold_ns = 800 * MS;
	gil_report_interval(&r, S0 + 3 * SEC, e, 3);
	fflush(f);
	CHECK(strstr(thread_json(buf, 11, t, sizeof(t)),
		     "\"name\":\"a2\",\"holding\":false,\"waiting\":false,\"takes\":2,"
		     "\"wait_ns\":2000000,") != NULL);
	CHECK(strstr(buf, "{\"tid\":13,") == NULL);
	CHECK(strstr(thread_json(buf, 12, t, sizeof(t)),
		     "\"takes\":0,\"wait_ns\":0,\"wait_mean_ns\":0,\"hold_ns\":0,"
		     "\"hold_mean_ns\":800000000,\"drops\":1,") != NULL);
	fclose(f);
	free(buf);
	gil_report_free(&r);
}

static void add_symbol(struct symbols *s, uint32_t id, const char *name, int firstlineno)
{
	struct symbol *sym = calloc(1, sizeof(*sym));

	sym->name = strdup(name);
	sym->path = strdup("/w/gilstat.py");
	sym->base = sym->path + 3;
	sym->firstlineno = firstlineno;
	CHECK(symbols_set(s, id, sym) == 0);
}

static void test_text_and_event(void)
{
	struct gil_report_opts o = { .hist = 1 };
	struct symbols syms;
	struct gil_event *ev = calloc(1, sizeof(*ev));
	struct gil_report r;
	struct gil_entry e;
	FILE *f = open_memstream(&buf, &len);

	symbols_init(&syms);
	add_symbol(&syms, PYBPF_SYM_FIRST, "hold_50ms", 60);
	add_symbol(&syms, PYBPF_SYM_FIRST + 1, "hog_main", 68);
	gil_report_init(&r, &o, f, &proc, &syms, "take_gil/drop_gil", S0);
	entry(&e, 21, "hog");
	e.t.takes = 4;
	e.t.wait_ns = 4 * MS;
	e.t.drops = 4;
	e.t.hold_ns = 200 * MS;
	e.t.wait_hist[20] = 4;   /* 1.05 ms .. 2.10 ms */
	e.t.hold_hist[25] = 4;   /* 33.55 ms .. 67.11 ms */
	gil_report_interval(&r, S0 + SEC, &e, 1);

	ev->pid = NOPID;
	ev->tid = 21;
	ev->kind = GIL_EV_HOLD;
	ev->end_ns = S0 + SEC / 2;
	ev->duration_ns = 50 * MS;
	ev->depth = 3;
	snprintf(ev->comm, sizeof(ev->comm), "hog");
	ev->frames[0] = (struct frame_rec){ PYBPF_SYM_FIRST, PYBPF_LASTI_NONE };
	ev->frames[1] = (struct frame_rec){ PYBPF_SYM_FIRST + 1, PYBPF_LASTI_NONE };
	ev->frames[2] = (struct frame_rec){ PYBPF_SYM_NOT_CODE, PYBPF_LASTI_NONE };
	gil_report_event(&r, ev);
	fflush(f);
	CHECK(strstr(buf, "GIL held 20.0 %, 4 takes, 4 drops") != NULL);
	CHECK(strstr(buf, "\n      21  hog                    4     4.00 ms     1.00 ms   200.00 ms"
			  "    50.00 ms        4   20.0\n") != NULL);
	CHECK(strstr(buf, "\n      1.05 ms .. 2.10 ms           4  |****") != NULL);
	CHECK(strstr(buf, "\n     33.55 ms .. 67.11 ms          4  |****") != NULL);
	/* the root frame runs no code object: not shown */
	CHECK(strstr(buf, "  long hold 50.00 ms  tid 21 (hog): "
			  "hog_main (gilstat.py:68);hold_50ms (gilstat.py:60)\n") != NULL);
	CHECK_EQ_INT(r.events[GIL_EV_HOLD], 1);
	fclose(f);
	free(buf);
	free(ev);
	gil_report_free(&r);
	symbols_free(&syms);
}

/* The fallback probes miss forced switches: two threads can both look
 * like holding for the whole interval.  No share is printed above 100 %. */
static void test_share_at_most_100(void)
{
	struct gil_report_opts o = { .json = 1 };
	struct gil_report r;
	struct gil_entry e[2];
	FILE *f = open_memstream(&buf, &len);

	gil_report_init(&r, &o, f, &proc, NULL, "PyEval_RestoreThread/PyEval_SaveThread", S0);
	entry(&e[0], 21, "x");
	e[0].t.hold_start = S0;
	entry(&e[1], 22, "y");
	e[1].t.hold_start = S0;
	gil_report_interval(&r, S0 + SEC, e, 2);
	fflush(f);
	CHECK(strstr(buf, "\"total\":{\"takes\":0,\"wait_ns\":0,\"wait_mean_ns\":0,"
			  "\"hold_ns\":2000000000,") != NULL);
	CHECK(strstr(buf, "\"hold_pct\":200") == NULL);
	CHECK(strstr(buf, "\"hold_pct\":100.00,\"wait_pct\":0.00}}") != NULL);
	fclose(f);
	free(buf);

	r.o.json = 0;
	f = open_memstream(&buf, &len);
	r.out = f;
	gil_report_interval(&r, S0 + 2 * SEC, e, 2);
	fflush(f);
	CHECK(strstr(buf, "GIL held 100.0 %") != NULL);
	CHECK(strstr(buf, "200.0") == NULL);
	fclose(f);
	free(buf);
	gil_report_free(&r);
}

static int fake_name(void *ctx, uint32_t tid, char *out, size_t n)
{
	(void)ctx;
	if (tid != 31)
		return -1;
	snprintf(out, n, "worker-%u", tid);
	return 0;
}

/* Python names where the hook knows them, the kernel's comm otherwise;
 * only_tid (-p TID) keeps that thread's rows and events alone. */
static void test_names_and_only_tid(void)
{
	struct gil_report_opts o = { .json = 1 };
	struct gil_report r;
	struct gil_entry e[2];
	struct gil_event *ev = calloc(1, sizeof(*ev));
	char t[512];
	FILE *f = open_memstream(&buf, &len);

	gil_report_init(&r, &o, f, &proc, NULL, "take_gil/drop_gil", S0);
	r.name_fn = fake_name;
	entry(&e[0], 31, "python3.11");
	e[0].t.takes = e[0].t.drops = 1;
	e[0].t.hold_ns = 10 * MS;
	entry(&e[1], 32, "python3.11");
	e[1].t.takes = e[1].t.drops = 1;
	e[1].t.hold_ns = 20 * MS;
	gil_report_interval(&r, S0 + SEC, e, 2);
	ev->kind = GIL_EV_HOLD;
	ev->pid = NOPID;
	ev->tid = 31;
	ev->end_ns = S0 + SEC;
	snprintf(ev->comm, sizeof(ev->comm), "python3.11");
	gil_report_event(&r, ev);
	fflush(f);
	CHECK(strstr(thread_json(buf, 31, t, sizeof(t)), "\"name\":\"worker-31\"") != NULL);
	CHECK(strstr(thread_json(buf, 32, t, sizeof(t)), "\"name\":\"python3.11\"") != NULL);
	CHECK(strstr(buf, "\"tid\":31,\"name\":\"worker-31\",\"duration_ns\"") != NULL);
	fclose(f);
	free(buf);

	r.o.only_tid = 32;
	f = open_memstream(&buf, &len);
	r.out = f;
	e[0].t.takes = e[0].t.drops = 2;
	e[1].t.takes = e[1].t.drops = 2;
	gil_report_interval(&r, S0 + 2 * SEC, e, 2);
	gil_report_event(&r, ev);
	fflush(f);
	CHECK(strstr(buf, "{\"tid\":31,") == NULL);
	CHECK(strstr(buf, "{\"tid\":32,") != NULL);
	CHECK(strstr(buf, "\"type\":\"hold\"") == NULL);
	fclose(f);
	free(buf);
	free(ev);
	gil_report_free(&r);
}

/* A long wait whose stack the walk could not trust says so: never "no
 * Python frames", which is a claim about the thread (text and JSON). */
static void test_unreadable_stack(void)
{
	struct gil_report_opts o = { 0 };
	struct gil_event *ev = calloc(1, sizeof(*ev));
	struct gil_report r;
	FILE *f = open_memstream(&buf, &len);

	gil_report_init(&r, &o, f, &proc, NULL, "take_gil/drop_gil", S0);
	ev->pid = NOPID;
	ev->tid = 41;
	ev->kind = GIL_EV_WAIT;
	ev->end_ns = S0 + SEC;
	ev->duration_ns = 7 * MS;
	snprintf(ev->comm, sizeof(ev->comm), "app");
	ev->flags = GIL_EV_UNREADABLE;
	gil_report_event(&r, ev);
	ev->flags = 0;
	gil_report_event(&r, ev);
	fflush(f);
	CHECK(strstr(buf, "tid 41 (app): (Python stack unreadable)\n") != NULL);
	CHECK(strstr(buf, "tid 41 (app): (no Python frames)\n") != NULL);
	CHECK(strstr(buf, "unreadable)(no Python frames)") == NULL);
	fclose(f);
	free(buf);

	r.o.json = 1;
	f = open_memstream(&buf, &len);
	r.out = f;
	ev->flags = GIL_EV_UNREADABLE;
	gil_report_event(&r, ev);
	ev->flags = 0;
	gil_report_event(&r, ev);
	fflush(f);
	CHECK(strstr(buf, "\"stack_unreadable\":true,\"stack\":[]}\n") != NULL);
	CHECK(strstr(buf, "\"stack_unreadable\":false,\"stack\":[]}\n") != NULL);
	fclose(f);
	free(buf);
	free(ev);
	gil_report_free(&r);
}

int main(void)
{
	test_intervals();
	test_text_and_event();
	test_share_at_most_100();
	test_names_and_only_tid();
	test_unreadable_stack();
	return unit_summary("test_gilreport");
}
