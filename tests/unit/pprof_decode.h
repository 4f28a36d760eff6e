/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pprof_decode.h - what test_pprof.c reads pprof files back with: a
 * gunzip through zlib and a minimal protobuf decoder that fills plain
 * arrays with a perftools.profiles.Profile's fields, ids and string
 * indices kept as they are in the file.
 *
 * Deliberately strict, being the other side of our own writer: an
 * unexpected wire type, field or overflow of the fixed limits sets bad.
 * Independent of user/output/protobuf.c, so a shared misunderstanding of the
 * wire format cannot hide (and go tool pprof checks it once more).
 */
#ifndef PYBPF_PPROF_DECODE_H
#define PYBPF_PPROF_DECODE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The gunzipped content of a file (gzip wrapper required); NULL if bad. */
static uint8_t *gunzip(const char *path, size_t *len)
{
	uint8_t in[4096], *out = NULL, *grown;
	size_t cap = 0;
	z_stream z = { 0 };
	int ret = Z_OK;
	FILE *f = fopen(path, "rb");

	*len = 0;
	if (!f || inflateInit2(&z, 15 + 16) != Z_OK) {
		if (f)
			fclose(f);
		return NULL;
	}
	while (ret != Z_STREAM_END && (z.avail_in = fread(in, 1, sizeof(in), f))) {
		z.next_in = in;
		while (z.avail_in && ret != Z_STREAM_END) {
			if (*len == cap) {
				cap = cap ? cap * 2 : 65536;
				if (!(grown = realloc(out, cap)))
					goto fail;
				out = grown;
			}
			z.next_out = out + *len;
			z.avail_out = cap - *len;
			ret = inflate(&z, Z_NO_FLUSH);
			if (ret != Z_OK && ret != Z_STREAM_END)
				goto fail;
			*len = cap - z.avail_out;
		}
	}
	/* Exactly one gzip member, nothing after it. */
	if (ret != Z_STREAM_END || z.avail_in || fgetc(f) != EOF)
		goto fail;
	inflateEnd(&z);
	fclose(f);
	return out ? out : calloc(1, 1);
fail:
	inflateEnd(&z);
	fclose(f);
	free(out);
	return NULL;
}

/* A protobuf reader: fields of one message, nested ones as sub-readers. */
struct rd {
	const uint8_t *p, *end;
	int bad;
};

struct field {
	uint32_t num;
	uint64_t v;        /* a varint's value */
	struct rd sub;     /* a length-delimited payload */
	int len;           /* 1 if length-delimited */
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 70 && r->p < r->end; shift += 7) {
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

/* The next field, 0 at the end of the message or on a malformed one.
 * pprof uses only varint and length-delimited fields. */
static int rd_field(struct rd *r, struct field *f)
{
	uint64_t key, n;

	if (r->bad || r->p >= r->end)
		return 0;
	key = rd_varint(r);
	f->num = (uint32_t)(key >> 3);
	f->len = (key & 7) == 2;
	if ((key & 7) == 0) {
		f->v = rd_varint(r);
	} else if (f->len) {
		n = rd_varint(r);
		if (n > (uint64_t)(r->end - r->p))
			r->bad = 1;
		else {
			f->sub = (struct rd){ r->p, r->p + n, 0 };
			r->p += n;
		}
	} else {
		r->bad = 1;
	}
	return !r->bad && f->num;
}

/* A repeated varint field, packed or not; appends to v[*n], up to max. */
static void rd_repeated(struct rd *r, struct field *f, uint64_t *v, size_t *n,
			size_t max)
{
	if (!f->len) {
		if (*n < max)
			v[(*n)++] = f->v;
		else
			r->bad = 1;
		return;
	}
	while (f->sub.p < f->sub.end && !f->sub.bad)
		if (*n < max)
			v[(*n)++] = rd_varint(&f->sub);
		else
			r->bad = 1, f->sub.bad = 1;
	r->bad |= f->sub.bad;
}

#define MAX_DEPTH 64
#define MAX_LABELS 4

struct dlabel { uint64_t key, str, num; int has_str, has_num; };
struct dsample {
	uint64_t loc[MAX_DEPTH], val[4];
	size_t nloc, nval, nlab;
	struct dlabel lab[MAX_LABELS];
};
struct dline { uint64_t func, line; };
struct dloc { uint64_t id, mapping, addr; struct dline line[2]; size_t nline; };
/* a mapping: id, memory_start, memory_limit, file_offset, filename,
 * build_id; flags: bit N set for the has_* field N (7-10) */
struct dmap { uint64_t id, start, limit, offset, file, build_id, flags; };
#define MAX_MAPS 16
struct dfunc { uint64_t id, name, system_name, file, start_line; };
struct dvt { uint64_t type, unit; };

struct dprof {
	struct dvt st[4], period_type;
	size_t nst, ns, nl, nf, nstr, nmap, ncomment;
	struct dsample *s;
	struct dloc *l;
	struct dfunc *fn;
	char **str;
	uint64_t period, time, duration, comment[4], map_id, map_flags;
	struct dmap map[MAX_MAPS]; /* the first MAX_MAPS; map_id, map_flags: the last's */
	int bad;
};

#define MAX_ITEMS 8192

static void d_value_type(struct rd r, struct dvt *vt)
{
	struct field f;

	while (rd_field(&r, &f))
		if (f.num == 1)
			vt->type = f.v;
		else if (f.num == 2)
			vt->unit = f.v;
}

static int d_sample(struct rd r, struct dsample *s)
{
	struct field f, g;
	struct dlabel *l;

	while (rd_field(&r, &f)) {
		if (f.num == 1)
			rd_repeated(&r, &f, s->loc, &s->nloc, MAX_DEPTH);
		else if (f.num == 2)
			rd_repeated(&r, &f, s->val, &s->nval, 4);
		else if (f.num == 3 && f.len && s->nlab < MAX_LABELS) {
			l = &s->lab[s->nlab++];
			while (rd_field(&f.sub, &g)) {
				if (g.num == 1)
					l->key = g.v;
				else if (g.num == 2)
					l->str = g.v, l->has_str = 1;
				else if (g.num == 3)
					l->num = g.v, l->has_num = 1;
			}
			r.bad |= f.sub.bad;
		} else
			r.bad = 1;
	}
	return r.bad;
}

static int d_location(struct rd r, struct dloc *l)
{
	struct field f, g;

	while (rd_field(&r, &f)) {
		if (f.num == 1)
			l->id = f.v;
		else if (f.num == 2)
			l->mapping = f.v;
		else if (f.num == 3)
			l->addr = f.v;
		else if (f.num == 4 && f.len && l->nline < 2) {
			while (rd_field(&f.sub, &g))
				if (g.num == 1)
					l->line[l->nline].func = g.v;
				else if (g.num == 2)
					l->line[l->nline].line = g.v;
			r.bad |= f.sub.bad;
			l->nline++;
		} else
			r.bad = 1;
	}
	return r.bad;
}

static int d_function(struct rd r, struct dfunc *fn)
{
	struct field f;

	while (rd_field(&r, &f)) {
		if (f.num == 1)
			fn->id = f.v;
		else if (f.num == 2)
			fn->name = f.v;
		else if (f.num == 3)
			fn->system_name = f.v;
		else if (f.num == 4)
			fn->file = f.v;
		else if (f.num == 5)
			fn->start_line = f.v;
	}
	return r.bad;
}

static void d_mapping(struct dprof *d, struct rd r)
{
	struct field f;

	struct dmap m = { 0 };

	while (rd_field(&r, &f))
		if (f.num >= 1 && f.num <= 6)
			(&m.id)[f.num - 1] = f.v;
		else if (f.num >= 7 && f.num <= 10 && f.v)
			m.flags |= 1u << f.num;
	d->map_id = m.id;
	d->map_flags = m.flags;
	if (d->nmap < MAX_MAPS)
		d->map[d->nmap] = m;
	d->nmap++;
	d->bad |= r.bad;
}

static void d_string(struct dprof *d, struct rd r)
{
	size_t n = (size_t)(r.end - r.p);

	if (d->nstr == MAX_ITEMS || !(d->str[d->nstr] = malloc(n + 1))) {
		d->bad = 1;
		return;
	}
	memcpy(d->str[d->nstr], r.p, n);
	d->str[d->nstr++][n] = '\0';
}

/* Decode a Profile; d->bad on anything malformed or over the limits. */
static void decode(struct dprof *d, const uint8_t *buf, size_t len)
{
	struct rd r = { buf, buf + len, 0 };
	struct field f;

	memset(d, 0, sizeof(*d));
	d->s = calloc(MAX_ITEMS, sizeof(*d->s));
	d->l = calloc(MAX_ITEMS, sizeof(*d->l));
	d->fn = calloc(MAX_ITEMS, sizeof(*d->fn));
	d->str = calloc(MAX_ITEMS, sizeof(*d->str));
	if (!d->s || !d->l || !d->fn || !d->str) {
		d->bad = 1;
		return;
	}
	while (rd_field(&r, &f) && !d->bad) {
		int full = (f.num == 2 && d->ns == MAX_ITEMS) ||
			   (f.num == 4 && d->nl == MAX_ITEMS) ||
			   (f.num == 5 && d->nf == MAX_ITEMS) ||
			   (f.num == 1 && d->nst == 4) || (f.num == 13 && d->ncomment == 4);

		if (full || (f.num <= 6 && !f.len) || (f.num > 6 && f.num != 11 && f.len)) {
			d->bad = 1;
			break;
		}
		switch (f.num) {
		case 1: d_value_type(f.sub, &d->st[d->nst++]); break;
		case 2: d->bad |= d_sample(f.sub, &d->s[d->ns++]); break;
		case 3: d_mapping(d, f.sub); break;
		case 4: d->bad |= d_location(f.sub, &d->l[d->nl++]); break;
		case 5: d->bad |= d_function(f.sub, &d->fn[d->nf++]); break;
		case 6: d_string(d, f.sub); break;
		case 9: d->time = f.v; break;
		case 10: d->duration = f.v; break;
		case 11: d_value_type(f.sub, &d->period_type); break;
		case 12: d->period = f.v; break;
		case 13: d->comment[d->ncomment++] = f.v; break;
		default: d->bad = 1;
		}
	}
	d->bad |= r.bad;
}

static void dprof_free(struct dprof *d)
{
	size_t i;

	for (i = 0; d->str && i < d->nstr; i++)
		free(d->str[i]);
	free(d->str);
	free(d->s);
	free(d->l);
	free(d->fn);
}

/* String i of the table; a marker that no test expects if out of range. */
static const char *S(const struct dprof *d, uint64_t i)
{
	return i < d->nstr ? d->str[i] : "<bad string index>";
}

#endif /* PYBPF_PPROF_DECODE_H */
