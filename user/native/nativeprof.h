/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativeprof.h - a drained native side (bpf/pybpf.h struct native_stack)
 * made into frames for the profile: user pcs symbolized (return addresses
 * at pc - 1) from the process's mappings and nativesyms, kernel pcs from
 * /proc/kallsyms, each frame classified for the process's CPython version
 * (nm_classify), and merged with the Python frames (nm_merge) when the
 * profile is built.  Resolved once per (pid, native hash), at the drain
 * that first sees it, while the process's mappings are still known. */
#ifndef PYBPF_NATIVEPROF_H
#define PYBPF_NATIVEPROF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "nativemerge.h"
#include "profile.h"
#include "pybpf.h"

struct nprof;
struct native_maps;

struct nprof_frame {
	const char *name;        /* function, "lib+0xOFF" or "0xADDR"; owned by nprof */
	const char *lib;         /* the mapped file's path, "" (kernel, anonymous) */
	const char *base;        /* its base name */
	uint32_t id;             /* equal ids: equal (name, lib) */
	uint8_t kind;            /* enum nm_native_kind */
	uint8_t symbolized;      /* name is a symbol's (not "lib+0xOFF", "0xADDR") */
	uint64_t addr;           /* the pc looked up: a caller's return address - 1 */
	const struct pmapping *map; /* where addr was (owned by nprof); NULL: in no
				     * mapping known */
};

struct nprof_stack {
	uint32_t nuser, nkernel;
	struct nprof_frame *user;    /* innermost first */
	struct nprof_frame *kernel;  /* innermost first */
	int complete;                /* the user walk reached the outermost frame */
	int all_entry;               /* <= 3.10: every Python frame starts an activation */
	uint64_t entry[PYBPF_ENTRY_WORDS];
};

int nprof_new(struct nprof **out);
void nprof_free(struct nprof *np);

/* The frames of st, sampled in pid (CPython major.minor); cached by
 * (pid, hash).  NULL when out of memory. */
const struct nprof_stack *nprof_resolve(struct nprof *np, const struct native_maps *maps,
					pid_t pid, unsigned major, unsigned minor, uint64_t hash,
					const struct native_stack *st);

/* Merge ns with a Python stack of depth frames (innermost first; complete:
 * not truncated) into out (innermost first, NM_MERGE_MAX room): the eval
 * loop replaced by its Python frames, interpreter glue between two eval
 * frames dropped.  Frames written. */
size_t nprof_merge(const struct nprof_stack *ns, uint32_t depth, int complete,
		   struct nm_frame *out, size_t max);

#endif /* PYBPF_NATIVEPROF_H */
