// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* symbols.c - decode first-sight code object copies into symbols.
 * Names are copied in the kernel while the code object is on a live
 * stack, so they stay right after the code is freed or the process exits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "linetable.h"
#include "proc.h"
#include "symbols.h"
#include "utf8.h"

void symbols_init(struct symbols *s)
{
	memset(s, 0, sizeof(*s));
	htab_init(&s->by_id, sizeof(uint32_t), sizeof(struct symbol *));
}

static void symbol_free(struct symbol *sym)
{
	if (!sym)
		return;
	free(sym->name);
	free(sym->path);
	free(sym->lines);
	free(sym);
}

void symbols_free(struct symbols *s)
{
	size_t pos = 0;
	const void *k;
	void *v;

	while (htab_next(&s->by_id, &pos, &k, &v))
		symbol_free(*(struct symbol **)v);
	htab_free(&s->by_id);
	memset(s, 0, sizeof(*s));
}

int symbols_set(struct symbols *s, uint32_t id, struct symbol *sym)
{
	struct symbol **slot = htab_put(&s->by_id, &id, NULL);

	if (!slot)
		return -ENOMEM;
	symbol_free(*slot);
	*slot = sym;
	return 0;
}

struct forget_ctx {
	int (*keep)(void *ctx, const struct symbol *sym);
	void *ctx;
};

static int keep_symbol(void *ctx, const void *key, void *val)
{
	struct forget_ctx *f = ctx;
	struct symbol *sym = *(struct symbol **)val;

	(void)key;
	if (f->keep(f->ctx, sym))
		return 1;
	symbol_free(sym);
	return 0;
}

size_t symbols_forget(struct symbols *s, int (*keep)(void *ctx, const struct symbol *sym),
		      void *ctx)
{
	struct forget_ctx f = { keep, ctx };
	long gone = htab_retain(&s->by_id, keep_symbol, &f);

	return gone > 0 ? (size_t)gone : 0;
}

/* 2.7's names are byte strings (unicode_state < 0): length at
 * unicode_length, data at unicode_ascii_size; valid UTF-8 is decoded,
 * other bytes kept as their Latin-1 characters (see utf8_get). */
static char *pybytes_decode(const uint8_t *blob, size_t len, const struct py_offsets *off)
{
	size_t data = (size_t)off->unicode_ascii_size, n, i, step, o = 0;
	int64_t length;
	char *out;

	if (len < data + 1)
		return NULL;
	memcpy(&length, blob + off->unicode_length, 8);
	if (length < 0)
		return NULL;
	n = (size_t)length < len - data ? (size_t)length : len - data;
	out = malloc(n * 4 + 4);
	if (!out)
		return NULL;
	for (i = 0; i < n; i += step)
		o += utf8_put(out + o, utf8_get(blob + data + i, n - i, &step));
	if (n < (size_t)length)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = 0;
	return out;
}

/* PEP 393 compact strings: ASCII data follows PyASCIIObject, other
 * kinds (1, 2 or 4 bytes per character) follow PyCompactUnicodeObject.
 * A copy cut short by the blob size ends in "...". */
char *pystr_decode(const uint8_t *blob, size_t len, const struct py_offsets *off)
{
	uint32_t state, kind, ascii;
	size_t data, n, avail, i, o = 0;
	int64_t length;
	char *out;

	if (off->unicode_state < 0)
		return pybytes_decode(blob, len, off);
	if (len < (size_t)off->unicode_compact_size && len < (size_t)off->unicode_ascii_size + 1)
		return NULL;
	memcpy(&state, blob + off->unicode_state, 4);
	memcpy(&length, blob + off->unicode_length, 8);
	kind = (state >> 2) & 7;
	ascii = (state >> 6) & 1;
	if (ascii)
		kind = 1;
	if (length < 0 || (kind != 1 && kind != 2 && kind != 4))
		return NULL;
	data = ascii ? (size_t)off->unicode_ascii_size : (size_t)off->unicode_compact_size;
	avail = len > data ? (len - data) / kind : 0;
	n = (size_t)length < avail ? (size_t)length : avail;
	out = malloc(n * 4 + 4);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		const uint8_t *p = blob + data + i * kind;
		uint32_t c = kind == 1 ? p[0] : kind == 2 ? (uint32_t)(p[0] | p[1] << 8)
				 : (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);

		o += utf8_put(out + o, c);
	}
	if (n < (size_t)length)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = 0;
	return out;
}

/* The BPF copy holds at most PYBPF_LINES_BLOB bytes of the table; read
 * longer ones from the process while the code object is still alive,
 * checking it still has a table of the announced size. */
static void read_long_table(struct symbol *sym, const struct code_event *ev,
			    const struct py_offsets *off)
{
	uint64_t table = 0, size = 0;
	uint8_t *buf;

	if (proc_read(ev->pid, ev->code_addr + off->code_linetable, &table, 8) || !table ||
	    proc_read(ev->pid, table + off->bytes_size, &size, 8) || size != ev->lines_total)
		return;
	buf = malloc(size ? size : 1);
	if (!buf || proc_read(ev->pid, table + off->bytes_data, buf, size)) {
		free(buf);
		return;
	}
	free(sym->lines);
	sym->lines = buf;
	sym->lines_len = size;
}

int symbols_add(struct symbols *s, const struct code_event *ev,
		const struct py_offsets *off, uint32_t version)
{
	struct symbol *sym;
	size_t have;
	char *slash;

	sym = calloc(1, sizeof(*sym));
	if (!sym)
		return -ENOMEM;
	sym->pid = ev->pid;
	sym->version = version;
	sym->firstlineno = ev->firstlineno;
	sym->lines_total = ev->lines_total;
	sym->name = pystr_decode(ev->name, ev->name_len, off);
	sym->path = pystr_decode(ev->file, ev->file_len, off);
	if (!sym->name)
		sym->name = strdup("<unknown>");
	if (!sym->path)
		sym->path = strdup("");
	slash = sym->path ? strrchr(sym->path, '/') : NULL;
	sym->base = slash ? slash + 1 : sym->path;

	have = ev->lines_len > (uint32_t)off->bytes_data ? ev->lines_len - off->bytes_data - 1 : 0;
	if (have > ev->lines_total)
		have = ev->lines_total;
	if (ev->lines_len) {
		sym->lines = malloc(have ? have : 1);
		if (sym->lines) {
			memcpy(sym->lines, ev->lines + off->bytes_data, have);
			sym->lines_len = have;
		}
	}
	if (ev->lines_len && have < ev->lines_total)
		read_long_table(sym, ev, off);
	if (sym->lines_len < ev->lines_total || !ev->lines_len)
		s->lines_missing++;
	if (symbols_set(s, ev->sym_id, sym)) {
		symbol_free(sym);
		return -ENOMEM;
	}
	return 0;
}

const struct symbol *symbols_get(const struct symbols *s, uint32_t id)
{
	struct symbol **slot = htab_get(&s->by_id, &id);

	return slot ? *slot : NULL;
}

uint32_t symbol_line(const struct symbol *sym, uint32_t lasti)
{
	int line;

	if (lasti == PYBPF_LASTI_NONE)
		return sym->firstlineno > 0 ? (uint32_t)sym->firstlineno : 0;
	if (!sym->lines)
		return 0;
	/* a prefix of a table answers only where it is sure (see linetable.h) */
	line = linetable_addr2line_cut(sym->version, sym->firstlineno, sym->lines, sym->lines_len,
				       sym->lines_total, lasti);
	return line > 0 ? (uint32_t)line : 0;
}
