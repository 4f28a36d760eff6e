/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* symbols.h - symbol ids (registered code objects) -> function name,
 * file and line table, decoded from the raw copies the BPF side made. */
#ifndef PYBPF_SYMBOLS_H
#define PYBPF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include "htab.h"
#include "pybpf.h"

struct symbol {
	uint32_t pid;
	uint32_t version;        /* 0x030b for 3.11 */
	char *name;              /* qualified name on 3.11+ */
	char *path;              /* co_filename */
	const char *base;        /* basename of path */
	int firstlineno;
	uint8_t *lines;          /* line table content */
	size_t lines_len;
	size_t lines_total;      /* full size of the table in the process */
};

struct symbols {
	struct htab by_id;       /* uint32_t id -> struct symbol * */
	uint64_t lines_missing;  /* tables neither copied whole nor readable */
};

void symbols_init(struct symbols *s);
void symbols_free(struct symbols *s);

/* Decode a code_event.  off/version describe the event's process;
 * line tables longer than the BPF copy are read from the live process. */
int symbols_add(struct symbols *s, const struct code_event *ev,
		const struct py_offsets *off, uint32_t version);
/* Own sym (malloc'd, with malloc'd name, path and lines) as id's symbol,
 * in place of any before it. */
int symbols_set(struct symbols *s, uint32_t id, struct symbol *sym);
/* Forget the symbols keep() says no to (a long run forgets the processes
 * that exited once their samples are written); returns how many went. */
size_t symbols_forget(struct symbols *s, int (*keep)(void *ctx, const struct symbol *sym),
		      void *ctx);
/* NULL for unknown ids. */
const struct symbol *symbols_get(const struct symbols *s, uint32_t id);
/* Line of the instruction at byte offset lasti; 0 if unknown. */
uint32_t symbol_line(const struct symbol *sym, uint32_t lasti);

/* Whether a frame is shown: a frame the walker found running no code
 * object is not (profiles and gil reports alike).  It has no name, and no
 * frame of CPython's own is like that -- it is an entry shim caught while
 * the eval loop was still filling it in (3.13 publishes the frame above it
 * first), or a stale walk's garbage. */
static inline int frame_runs_code(const struct frame_rec *r)
{
	return r->sym_id != PYBPF_SYM_NOT_CODE;
}

/* Decode a raw str object copy into malloc'd UTF-8 (NULL on bad input). */
char *pystr_decode(const uint8_t *blob, size_t len, const struct py_offsets *off);

#endif /* PYBPF_SYMBOLS_H */
