/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* out_flamegraph.c - a self-contained interactive flame graph in one SVG
 * file: stacks merged into a prefix tree by frame label, root at the
 * bottom, with a small embedded script for details, zoom and search.
 *
 * Layout: the synthetic "all" frame spans the full width at the bottom;
 * every frame above is as wide as its share of the samples, children
 * ordered by label left to right (as FlameGraph does: the x axis is not
 * time).  Frames under 0.1% of the samples are not drawn, nor anything
 * above them: at about a pixel wide they carry no readable information
 * and can make up most of the file.
 *
 * Each frame is <g data-x="first sample" data-n="samples"><title/><rect/>
 * <text/></g>; the title holds "label (N samples, P%)", which the script
 * shows on hover and reads the label back from.  Positions in samples
 * rather than pixels keep zoom arithmetic exact.  The C side already
 * truncates texts as the script would, so viewers without scripting
 * (image viewers, Inkscape) show the same picture.
 *
 * Colors depend only on the function name (not the line), so a function
 * has the same color everywhere and across runs: warm hues for Python
 * frames, blue for thread and process roots, grey for markers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define IMG_W      1200
#define PAD_X      10
#define FRAME_H    16
#define TOP_H      70     /* title, subtitle, buttons */
#define BOTTOM_H   36     /* details line */
#define CHAR_W     7.3    /* advance of a 12px monospace glyph, rounded up */
#define HIGHLIGHT  "rgb(230,0,230)"
#define ROOT_FILL  "rgb(180,180,205)"

struct fg_node {
	uint32_t depth;    /* 0 = "all" */
	uint32_t label;    /* rank of the label text; unused for the root */
	uint64_t x;        /* first sample, in the left-to-right order */
	uint64_t count;
};

struct fg {
	const struct profile *p;
	char **text;             /* per pframe: its label */
	uint32_t *rank;          /* per pframe: equal texts share a rank */
	uint32_t *rep;           /* per rank: a pframe with that label */
	struct fg_node *nodes;   /* prefix tree in pre-order */
	size_t nnodes, cap;
	uint32_t max_depth;      /* of drawn frames */
};

static size_t utf8_chars(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0, len;

	for (; *s; n++, s += len)
		len = utf8_len(s) ? utf8_len(s) : 1;
	return n;
}

/* XML-escape at most max characters of str.  Control characters other
 * than tab and newline are not allowed in XML 1.0 even as references,
 * so they, like invalid UTF-8, become U+FFFD. */
static void put_xml(FILE *f, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len;

	for (; *s && max; max--, s += len) {
		len = utf8_len(s);
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else if (*s == '\t' || *s == '\n')
			fputc(' ', f);
		else if (len == 0 || *s < 0x20 || *s == 0x7f)
			fputs("\xef\xbf\xbd", f);
		else
			fwrite(s, 1, len, f);
		if (len == 0)
			len = 1;
	}
}

/* The label cut to fit w pixels, as the script's place() does. */
static void put_fitted(FILE *f, const char *label, double w)
{
	double room = (w - 6) / CHAR_W;
	size_t max = room > 0 ? (size_t)room : 0;

	if (utf8_chars(label) <= max) {
		put_xml(f, label, (size_t)-1);
	} else if (max >= 3) {
		put_xml(f, label, max - 2);
		fputs("..", f);
	}
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void put_fill(FILE *f, const struct pframe *fr)
{
	uint32_t h = fnv1a(fr->name);
	unsigned r, g, b;

	switch (fr->kind) {
	case PFRAME_PYTHON:     /* red through orange to amber */
		r = 205 + h % 51;
		g = 50 + (h >> 8) % 160;
		b = 20 + (h >> 16) % 50;
		break;
	case PFRAME_NATIVE:     /* C: greens */
		r = 60 + h % 60;
		g = 170 + (h >> 8) % 60;
		b = 60 + (h >> 16) % 50;
		break;
	case PFRAME_KERNEL:     /* kernel: teal */
		r = 40 + h % 40;
		g = 170 + (h >> 8) % 40;
		b = 170 + (h >> 16) % 40;
		break;
	case PFRAME_THREAD:
	case PFRAME_PROCESS:    /* roots: blue, so they never read as code */
		r = 90 + h % 40;
		g = 140 + (h >> 8) % 50;
		b = 205 + (h >> 16) % 50;
		break;
	default:                /* truncation marker, unreadable frame */
		r = g = b = 165 + h % 30;
	}
	fprintf(f, "rgb(%u,%u,%u)", r, g, b);
}

/* Labels, and one rank per distinct text so that comparing ranks compares
 * texts: the tree merges frames whose labels are equal. */
static int cmp_text(const void *a, const void *b, void *ctx)
{
	char **text = ctx;

	return strcmp(text[*(const uint32_t *)a], text[*(const uint32_t *)b]);
}

static int rank_labels(struct fg *g)
{
	size_t i, n = g->p->nframes;
	uint32_t *order, r = 0;
	int len;

	g->text = calloc(n + 1, sizeof(*g->text));
	g->rank = calloc(n + 1, sizeof(*g->rank));
	g->rep = calloc(n + 1, sizeof(*g->rep));
	order = calloc(n + 1, sizeof(*order));
	if (!g->text || !g->rank || !g->rep || !order) {
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		len = pframe_label(&g->p->frames[i], NULL, 0);
		if (len < 0 || !(g->text[i] = malloc((size_t)len + 1))) {
			free(order);
			return -ENOMEM;
		}
		pframe_label(&g->p->frames[i], g->text[i], (size_t)len + 1);
		order[i] = (uint32_t)i;
	}
	qsort_r(order, n, sizeof(*order), cmp_text, g->text);
	for (i = 0; i < n; i++) {
		if (i && strcmp(g->text[order[i]], g->text[order[i - 1]]))
			r++;
		g->rank[order[i]] = r;
		if (i == 0 || g->rank[order[i - 1]] != r)
			g->rep[r] = order[i];
	}
	free(order);
	return 0;
}

/* Stacks in label order, so stacks sharing a prefix are adjacent and the
 * tree can be built in one pass, children already sorted. */
static int cmp_stacks(const void *a, const void *b, void *ctx)
{
	const struct fg *g = ctx;
	const struct pstack *x = &g->p->stacks[*(const size_t *)a];
	const struct pstack *y = &g->p->stacks[*(const size_t *)b];
	uint32_t i, rx, ry;

	for (i = 0; i < x->depth && i < y->depth; i++) {
		rx = g->rank[x->frames[i]];
		ry = g->rank[y->frames[i]];
		if (rx != ry)
			return rx < ry ? -1 : 1;
	}
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return 0;
}

static int add_node(struct fg *g, uint32_t depth, uint32_t label, uint64_t x)
{
	struct fg_node *n;

	if (g->nnodes == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 256;

		n = realloc(g->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		g->nodes = n;
		g->cap = cap;
	}
	g->nodes[g->nnodes++] = (struct fg_node){ depth, label, x, 0 };
	return 0;
}

/* path[d] is the node at depth d on the previous stack's path, *plen of
 * them.  A stack reuses the nodes of the prefix it shares with that path
 * and adds the rest; the first new node goes right after the old path's
 * node at its depth (its previous sibling), deeper ones start at their
 * parent's x, leaving a parent's own samples on the right. */
static int add_stack(struct fg *g, const struct pstack *s, size_t *path,
		     uint32_t *plen)
{
	uint32_t d, keep = 1;
	uint64_t x;
	int err;

	while (keep < *plen && keep <= s->depth &&
	       g->nodes[path[keep]].label == g->rank[s->frames[keep - 1]])
		keep++;
	for (d = 0; d < keep; d++)
		g->nodes[path[d]].count += s->count;
	for (d = keep; d <= s->depth; d++) {
		if (d < *plen && d == keep)
			x = g->nodes[path[d]].x + g->nodes[path[d]].count;
		else
			x = g->nodes[path[d - 1]].x;
		err = add_node(g, d, g->rank[s->frames[d - 1]], x);
		if (err)
			return err;
		path[d] = g->nnodes - 1;
		g->nodes[path[d]].count = s->count;
	}
	/* Sorting puts a prefix before its extensions, so the shared part
	 * never goes past this stack's own end. */
	*plen = s->depth + 1;
	return 0;
}

static int build_tree(struct fg *g)
{
	const struct profile *p = g->p;
	size_t i, *idx, *path;
	uint32_t k, plen = 1, max = 0;
	int err;

	for (i = 0; i < p->nstacks; i++) {
		for (k = 0; k < p->stacks[i].depth; k++)
			if (p->stacks[i].frames[k] >= p->nframes)
				return -EINVAL;
		if (p->stacks[i].depth > max)
			max = p->stacks[i].depth;
	}
	idx = calloc(p->nstacks + 1, sizeof(*idx));
	path = calloc((size_t)max + 1, sizeof(*path));
	err = idx && path ? add_node(g, 0, 0, 0) : -ENOMEM;
	for (i = 0; !err && i < p->nstacks; i++)
		idx[i] = i;
	if (!err)
		qsort_r(idx, p->nstacks, sizeof(*idx), cmp_stacks, g);
	for (i = 0; !err && i < p->nstacks; i++)
		err = add_stack(g, &p->stacks[idx[i]], path, &plen);
	free(path);
	free(idx);
	return err;
}

/* Frames under 0.1% of all samples are left out, with all above them. */
static int drawn(const struct fg *g, const struct fg_node *n)
{
	return n->depth == 0 || n->count * 1000 >= g->nodes[0].count;
}

static void put_node(FILE *f, const struct fg *g, const struct fg_node *n)
{
	uint64_t total = g->nodes[0].count;
	double scale = total ? (double)(IMG_W - 2 * PAD_X) / total : 0;
	double x = PAD_X + n->x * scale;
	double w = n->depth ? n->count * scale : IMG_W - 2 * PAD_X;
	double y = TOP_H + (double)(g->max_depth - n->depth) * FRAME_H;
	const char *label = n->depth ? g->text[g->rep[n->label]] : "all";

	fprintf(f, "<g data-x=\"%" PRIu64 "\" data-n=\"%" PRIu64 "\"><title>",
		n->x, n->count);
	put_xml(f, label, (size_t)-1);
	fprintf(f, " (%" PRIu64 " sample%s, %.2f%%)</title>", n->count,
		n->count == 1 ? "" : "s", total ? 100.0 * n->count / total : 100.0);
	fprintf(f, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" "
		"rx=\"2\" fill=\"", x, y, w, FRAME_H - 1);
	if (n->depth)
		put_fill(f, &g->p->frames[g->rep[n->label]]);
	else
		fputs(ROOT_FILL, f);
	fprintf(f, "\"/><text x=\"%.2f\" y=\"%.1f\">", x + 3, y + 11.5);
	put_fitted(f, label, w);
	fputs("</text></g>\n", f);
}

/* Hover, click-to-zoom, search.  Frames keep their first sample and
 * sample count (data-x, data-n): a frame is inside the zoomed one if its
 * sample range is, and above it; an ancestor if its range covers it. */
static const char script[] =
"var frames = [], matching = false;\n"
"function el(id) { return document.getElementById(id); }\n"
"function init() {\n"
"  var gs = el('frames').children;\n"
"  for (var i = 0; i < gs.length; i++) frames.push(frameOf(gs[i]));\n"
"  el('reset').onclick = unzoom;\n"
"  el('search').onclick = function () { matching ? clearSearch() : search(); };\n"
"  window.addEventListener('keydown', function (ev) {\n"
"    if (ev.key === 'F3' || ((ev.ctrlKey || ev.metaKey) && ev.key === 'f')) {\n"
"      ev.preventDefault();\n"
"      search();\n"
"    } else if (ev.key === 'Escape') {\n"
"      unzoom();\n"
"    }\n"
"  });\n"
"}\n"
"function frameOf(g) {\n"
"  var info = g.querySelector('title').textContent, r = g.querySelector('rect');\n"
"  var f = { g: g, r: r, t: g.querySelector('text'), info: info,\n"
"    label: info.substring(0, info.lastIndexOf(' (')),\n"
"    x: +g.getAttribute('data-x'), n: +g.getAttribute('data-n'),\n"
"    y: +r.getAttribute('y'), fill: r.getAttribute('fill') };\n"
"  g.onmouseover = function () { el('details').textContent = info; };\n"
"  g.onmouseout = function () { el('details').textContent = ' '; };\n"
"  g.onclick = function () { zoom(f); };\n"
"  return f;\n"
"}\n"
"function place(f, x, w) {\n"
"  var chars = Array.from(f.label), max = Math.floor((w - 6) / CW);\n"
"  f.r.setAttribute('x', x.toFixed(2));\n"
"  f.r.setAttribute('width', w.toFixed(2));\n"
"  f.t.setAttribute('x', (x + 3).toFixed(2));\n"
"  f.t.textContent = chars.length <= max ? f.label :\n"
"    max >= 3 ? chars.slice(0, max - 2).join('') + '..' : '';\n"
"}\n"
"function zoom(z) {\n"
"  for (var i = 0; i < frames.length; i++) {\n"
"    var f = frames[i], end = f.x + f.n, zend = z.x + z.n;\n"
"    f.g.classList.remove('hide', 'faded');\n"
"    if (f.y <= z.y && f.x >= z.x && end <= zend) {\n"
"      place(f, PAD + (f.x - z.x) * W / z.n, f.n * W / z.n);\n"
"    } else if (f.y > z.y && f.x <= z.x && end >= zend) {\n"
"      place(f, PAD, W);\n"
"      f.g.classList.add('faded');\n"
"    } else {\n"
"      f.g.classList.add('hide');\n"
"    }\n"
"  }\n"
"  el('reset').classList.toggle('hide', z === frames[0]);\n"
"}\n"
"function unzoom() { zoom(frames[0]); }\n"
"function search() {\n"
"  var q = prompt('Search frames (regular expression):', ''), re, hits = [];\n"
"  if (!q) return;\n"
"  try { re = new RegExp(q); } catch (e) { alert(e.message); return; }\n"
"  for (var i = 1; i < frames.length; i++) {\n"
"    var hit = re.test(frames[i].label);\n"
"    frames[i].r.setAttribute('fill', hit ? HL : frames[i].fill);\n"
"    if (hit) hits.push(frames[i]);\n"
"  }\n"
"  // Nested matches overlap: count the union of their sample ranges.\n"
"  hits.sort(function (a, b) { return a.x - b.x; });\n"
"  var sum = 0, end = 0;\n"
"  for (i = 0; i < hits.length; i++) {\n"
"    var e = hits[i].x + hits[i].n;\n"
"    if (e > end) { sum += e - Math.max(hits[i].x, end); end = e; }\n"
"  }\n"
"  var total = frames[0].n || 1;\n"
"  el('matched').textContent = 'Matched: ' + (100 * sum / total).toFixed(2) +\n"
"    '% (' + sum + ' of ' + frames[0].n + ' samples) for /' + q + '/';\n"
"  el('search').textContent = 'Reset Search';\n"
"  matching = true;\n"
"}\n"
"function clearSearch() {\n"
"  for (var i = 0; i < frames.length; i++)\n"
"    frames[i].r.setAttribute('fill', frames[i].fill);\n"
"  el('matched').textContent = ' ';\n"
"  el('search').textContent = 'Search';\n"
"  matching = false;\n"
"}\n";

static const char style[] =
"text { font-family: monospace; font-size: 12px; fill: rgb(0,0,0); }\n"
"#title { font-size: 17px; text-anchor: middle; }\n"
"#subtitle { text-anchor: middle; fill: rgb(80,80,80); }\n"
"#search, #matched { text-anchor: end; }\n"
"#search, #reset { cursor: pointer; fill: rgb(30,60,170); }\n"
"#frames > g { cursor: pointer; }\n"
"#frames > g:hover > rect { stroke: rgb(40,40,40); stroke-width: 0.6; }\n"
".hide { display: none; }\n"
".faded { opacity: 0.55; }\n";

static void put_subtitle(FILE *f, const struct profile *p, uint64_t total)
{
	fprintf(f, "%" PRIu64 " sample%s", total, total == 1 ? "" : "s");
	if (p->duration_ns)
		fprintf(f, " in %.2f s", p->duration_ns / 1e9);
	if (p->rate_hz)
		fprintf(f, " at %" PRIu32 " Hz", p->rate_hz);
	if (p->python_version && p->python_version[0]) {
		fputs(", Python ", f);
		put_xml(f, p->python_version, (size_t)-1);
	}
}

static void put_header(FILE *f, const struct fg *g)
{
	const struct profile *p = g->p;
	int h = TOP_H + (int)(g->max_depth + 1) * FRAME_H + BOTTOM_H;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" onload=\"init()\">\n",
		IMG_W, h, IMG_W, h);
	fprintf(f, "<style>\n%s</style>\n", style);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n"
		"var W = %d, PAD = %d, CW = %.1f, HL = '%s';\n%s]]></script>\n",
		IMG_W - 2 * PAD_X, PAD_X, CHAR_W, HIGHLIGHT, script);
	fputs("<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
	      "<stop offset=\"5%\" stop-color=\"rgb(248,248,248)\"/>"
	      "<stop offset=\"95%\" stop-color=\"rgb(240,234,216)\"/>"
	      "</linearGradient></defs>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#bg)\"/>\n",
		IMG_W, h);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"26\">", IMG_W / 2);
	put_xml(f, p->title && p->title[0] ? p->title : "pybpf profile", (size_t)-1);
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"46\">", IMG_W / 2);
	put_subtitle(f, p, g->nodes[0].count);
	fprintf(f, "</text>\n<text id=\"reset\" class=\"hide\" x=\"%d\" y=\"26\">Reset Zoom</text>\n"
		"<text id=\"search\" x=\"%d\" y=\"26\">Search</text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n"
		"<g id=\"frames\">\n",
		PAD_X, IMG_W - PAD_X, PAD_X, h - 14, IMG_W - PAD_X, h - 14);
}

int write_flamegraph(FILE *f, const struct profile *p)
{
	struct fg g = { .p = p };
	size_t i;
	int err;

	err = rank_labels(&g);
	if (!err)
		err = build_tree(&g);
	if (err)
		goto out_free;
	for (i = 0; i < g.nnodes; i++)
		if (drawn(&g, &g.nodes[i]) && g.nodes[i].depth > g.max_depth)
			g.max_depth = g.nodes[i].depth;
	put_header(f, &g);
	for (i = 0; i < g.nnodes; i++)
		if (drawn(&g, &g.nodes[i]))
			put_node(f, &g, &g.nodes[i]);
	fputs("</g>\n</svg>\n", f);
	err = fflush(f) == EOF ? -errno : ferror(f) ? -EIO : 0;

out_free:
	for (i = 0; g.text && i < p->nframes; i++)
		free(g.text[i]);
	free(g.text);
	free(g.rank);
	free(g.rep);
	free(g.nodes);
	return err;
}
