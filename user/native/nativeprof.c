// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativeprof.c - native sides of samples as profile frames (see
 * nativeprof.h): symbolization of user and kernel pcs, and the merge. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "htab.h"
#include "kallsyms.h"
#include "nativemaps.h"
#include "nativeprof.h"
#include "nativesyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct nprof_key {
	uint64_t hash;
	uint32_t pid;
	uint32_t pad;
};

/* a mapping of a process, as a profile's pmapping */
struct map_key {
	uint32_t pid;
	uint32_t pad;
	uint64_t start, end, pgoff, dev, ino;
};

/* a user pc already named: (pid, pc, looked up at pc - 1) */
struct pc_key {
	uint64_t pc;
	uint32_t pid;
	uint32_t caller;
};

struct nprof {
	struct native_syms *syms;
	struct htab pcs;         /* pc_key -> struct nprof_frame */
	struct htab maps;        /* map_key -> struct pmapping * (file owned) */
	struct htab stacks;      /* nprof_key -> struct nprof_stack * */
	struct htab labels;      /* hash of (name, lib) -> uint32_t index into strs */
	char **strs;             /* 2 per label: name, lib */
	size_t nlabels, caplabels;
	struct ksym *ksyms;      /* sorted by address; loaded at the first kernel pc */
	size_t nksyms, capksyms;
	int ksyms_tried;
	struct pmapping kmap;    /* every kernel frame's: kernel text and modules */
	char kbuild_id[65];
};

int nprof_new(struct nprof **out)
{
	struct nprof *np = calloc(1, sizeof(*np));
	int err;

	*out = NULL;
	if (!np)
		return -ENOMEM;
	htab_init(&np->stacks, sizeof(struct nprof_key), sizeof(struct nprof_stack *));
	htab_init(&np->labels, sizeof(uint64_t), sizeof(uint32_t));
	htab_init(&np->pcs, sizeof(struct pc_key), sizeof(struct nprof_frame));
	htab_init(&np->maps, sizeof(struct map_key), sizeof(struct pmapping *));
	err = native_syms_new(&np->syms);
	if (err) {
		nprof_free(np);
		return err;
	}
	*out = np;
	return 0;
}

void nprof_free(struct nprof *np)
{
	size_t pos = 0, i;
	const void *k;
	void *v;

	if (!np)
		return;
	while (htab_next(&np->stacks, &pos, &k, &v)) {
		struct nprof_stack *ns = *(struct nprof_stack **)v;

		free(ns->user);
		free(ns->kernel);
		free(ns);
	}
	htab_free(&np->stacks);
	htab_free(&np->labels);
	htab_free(&np->pcs);
	pos = 0;
	while (htab_next(&np->maps, &pos, &k, &v)) {
		struct pmapping *pm = *(struct pmapping **)v;

		free((char *)pm->file);
		free(pm);
	}
	htab_free(&np->maps);
	for (i = 0; i < 2 * np->nlabels; i++)
		free(np->strs[i]);
	free(np->strs);
	for (i = 0; i < np->nksyms; i++)
		free(np->ksyms[i].name);
	free(np->ksyms);
	native_syms_free(np->syms);
	free(np);
}

/* One copy of each (name, lib) and an id for it. */
static int label(struct nprof *np, const char *name, const char *lib, struct nprof_frame *f)
{
	uint64_t h = hash_bytes(lib, strlen(lib) + 1, hash_bytes(name, strlen(name) + 1, 7));
	uint32_t *id = htab_get(&np->labels, &h);
	const char *b;

	if (!id) {
		char *n, *l;

		if (np->nlabels == np->caplabels) {
			size_t cap = np->caplabels ? np->caplabels * 2 : 256;
			char **strs = realloc(np->strs, 2 * cap * sizeof(*strs));

			if (!strs)
				return -ENOMEM;
			np->strs = strs;
			np->caplabels = cap;
		}
		n = strdup(name);
		l = strdup(lib);
		id = n && l ? htab_put(&np->labels, &h, NULL) : NULL;
		if (!id) {
			free(n);
			free(l);
			return -ENOMEM;
		}
		np->strs[2 * np->nlabels] = n;
		np->strs[2 * np->nlabels + 1] = l;
		*id = (uint32_t)np->nlabels++;
	}
	f->id = *id;
	f->name = np->strs[2 * *id];
	f->lib = np->strs[2 * *id + 1];
	b = strrchr(f->lib, '/');
	f->base = b ? b + 1 : f->lib;
	return 0;
}

/* ---- kernel symbols: /proc/kallsyms, text only ---- */

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int add_ksym(void *ctx, uint64_t addr, const char *name)
{
	struct nprof *np = ctx;

	if (np->nksyms == np->capksyms) {
		size_t cap = np->capksyms ? np->capksyms * 2 : 65536;
		struct ksym *n = realloc(np->ksyms, cap * sizeof(*n));

		if (!n)
			return 1;
		np->ksyms = n;
		np->capksyms = cap;
	}
	np->ksyms[np->nksyms].addr = addr;
	np->ksyms[np->nksyms].name = strdup(name);
	if (np->ksyms[np->nksyms].name)
		np->nksyms++;
	return 0;
}

static void load_ksyms(struct nprof *np)
{
	np->ksyms_tried = 1;
	kallsyms_each_text(add_ksym, np);
	qsort(np->ksyms, np->nksyms, sizeof(*np->ksyms), cmp_ksym);
}

/* The running kernel's GNU build id from /sys/kernel/notes (its ELF
 * notes, 4-byte aligned), lowercase hex into hex[65]; "" when unreadable. */
static void kernel_build_id(char *hex)
{
	unsigned char buf[4096];
	size_t n, off = 0, i;
	FILE *f = fopen("/sys/kernel/notes", "r");

	hex[0] = 0;
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	while (off + 12 <= n) {
		uint32_t namesz, descsz, type;
		size_t name_at = off + 12, desc_at;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		desc_at = name_at + ((namesz + 3) & ~3u);
		if (desc_at > n || descsz > n - desc_at)
			return;
		if (type == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 &&
		    !memcmp(buf + name_at, "GNU", 4) && descsz && descsz <= 32) {
			for (i = 0; i < descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", buf[desc_at + i]);
			return;
		}
		off = desc_at + ((descsz + 3) & ~3u);
	}
}

/* The kernel's mapping: from its lowest text symbol up (modules sit above
 * the kernel's text on x86-64); no file offsets. */
static const struct pmapping *kernel_map(struct nprof *np)
{
	if (!np->kmap.file) {
		if (!np->ksyms_tried)
			load_ksyms(np);
		kernel_build_id(np->kbuild_id);
		np->kmap.start = np->nksyms ? np->ksyms[0].addr : 0;
		np->kmap.limit = UINT64_MAX;
		np->kmap.file = "[kernel.kallsyms]";
		np->kmap.build_id = np->kbuild_id;
		np->kmap.symbolized = np->nksyms > 0;
	}
	return &np->kmap;
}

static const char *ksym_name(struct nprof *np, uint64_t pc)
{
	size_t lo = 0, hi;

	if (!np->ksyms_tried)
		load_ksyms(np);
	hi = np->nksyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (np->ksyms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? np->ksyms[lo - 1].name : NULL;
}

/* ---- user pcs ---- */

/* m of pid as a pmapping, made at its first frame; sf: its symbols, when
 * its file could be read (else no build id: not known to be that file). */
static const struct pmapping *user_map(struct nprof *np, pid_t pid,
				       const struct native_mapping *m,
				       const struct nsym_file *sf)
{
	struct map_key k = { .pid = (uint32_t)pid, .start = m->start, .end = m->end,
			     .pgoff = m->pgoff, .dev = m->dev, .ino = m->ino };
	struct pmapping **slot = htab_get(&np->maps, &k), *pm;
	const char *file = m->kind == NATIVE_MAP_ANON ? "[anon]" : m->path ? m->path : "";

	if (slot) {
		pm = *slot;
	} else {
		pm = calloc(1, sizeof(*pm));
		if (!pm || !(pm->file = strdup(file))) {
			free(pm);
			return NULL;
		}
		slot = htab_put(&np->maps, &k, NULL);
		if (!slot) {
			free((char *)pm->file);
			free(pm);
			return NULL;
		}
		*slot = pm;
		pm->start = m->start;
		pm->limit = m->end;
		pm->offset = m->pgoff;
		pm->build_id = "";
	}
	if (sf && !pm->build_id[0]) {
		pm->build_id = sf->build_id;
		pm->symbolized = sf->nsyms > 0;
	}
	return pm;
}

static int user_frame(struct nprof *np, const struct native_maps *maps, pid_t pid, uint64_t pc,
		      int caller, struct nprof_frame *f)
{
	uint64_t at = caller ? pc - 1 : pc, off = 0;
	const struct native_mapping *m = native_maps_find(maps, pid, at, &off);
	const struct nsym_file *sf = NULL;
	char path[PATH_MAX + 64], buf[192];
	const char *name = NULL, *lib;

	f->addr = at;
	if (!m) {
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)pc);
		return label(np, buf, "", f);
	}
	lib = m->path ? m->path : "";
	/* a process that exited before its last drain: its files by their
	 * paths as seen from here (right unless it lived in another mount
	 * namespace; a file of another build then has no symbol there) */
	if (m->kind == NATIVE_MAP_FILE &&
	    ((!native_maps_open_path(pid, m, path, sizeof(path)) &&
	      !native_syms_file(np->syms, path, lib, &sf)) ||
	     (lib[0] == '/' && !native_syms_file(np->syms, lib, lib, &sf))))
		name = nsym_lookup(sf, off, NULL);
	if (!(f->map = user_map(np, pid, m, sf)))
		return -ENOMEM;
	if (name) {
		f->symbolized = 1;
		return label(np, name, lib, f);
	}
	if (m->kind == NATIVE_MAP_ANON) {
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)pc);
	} else {
		const char *b = strrchr(lib, '/');

		snprintf(buf, sizeof(buf), "%.120s+0x%llx", b ? b + 1 : lib,
			 (unsigned long long)(off + (at != pc)));
	}
	return label(np, buf, lib, f);
}

static struct nprof_stack *resolve(struct nprof *np, const struct native_maps *maps, pid_t pid,
				   unsigned major, unsigned minor, const struct native_stack *st)
{
	struct nprof_stack *ns = calloc(1, sizeof(*ns));
	uint32_t i, skip = 0;

	if (!ns)
		return NULL;
	ns->nuser = st->user.n < UNWIND_MAX_FRAMES ? st->user.n : UNWIND_MAX_FRAMES;
	ns->nkernel = st->nkernel < PYBPF_NATIVE_KFRAMES ? st->nkernel : PYBPF_NATIVE_KFRAMES;
	/* the sched_switch program's own frames (bpf_prog_*, bpf_trace_run*)
	 * are pybpf's, not the thread's: cut up to the outermost of them */
	for (i = ns->nkernel; i-- > 0;) {
		const char *k = ksym_name(np, i ? st->kpcs[i] - 1 : st->kpcs[i]);

		if (k && (!strncmp(k, "bpf_prog_", 9) || !strncmp(k, "bpf_trace_run", 13) ||
			  !strncmp(k, "__bpf_trace_", 12))) {
			skip = i + 1;
			break;
		}
	}
	ns->nkernel -= skip;
	ns->user = calloc(ns->nuser ? ns->nuser : 1, sizeof(*ns->user));
	ns->kernel = calloc(ns->nkernel ? ns->nkernel : 1, sizeof(*ns->kernel));
	ns->complete = st->user.stop == NATIVE_STAT_END_LAST || st->user.stop == NATIVE_STAT_END_ZERO;
	ns->all_entry = major < 3 || (major == 3 && minor <= 10);
	memcpy(ns->entry, st->entry, sizeof(ns->entry));
	if (!ns->user || !ns->kernel)
		goto fail;
	for (i = 0; i < ns->nuser; i++) {
		struct nprof_frame *f = &ns->user[i], *cached;
		struct pc_key pk = { .pc = st->user.pcs[i], .pid = (uint32_t)pid, .caller = i > 0 };

		/* a pc is named once: opening its file (the build id) costs */
		cached = htab_get(&np->pcs, &pk);
		if (cached) {
			*f = *cached;
			continue;
		}
		if (user_frame(np, maps, pid, pk.pc, pk.caller, f))
			goto fail;
		/* unsymbolized frames ("lib+0x..") are never the eval loop */
		f->kind = f->symbolized ? (uint8_t)nm_classify(f->name, major, minor) : NM_NATIVE;
		cached = htab_put(&np->pcs, &pk, NULL);
		if (cached)
			*cached = *f;
	}
	for (i = 0; i < ns->nkernel; i++) {
		uint64_t pc = st->kpcs[i + skip];
		const char *name = ksym_name(np, i + skip ? pc - 1 : pc);
		char buf[32];

		if (!name) {
			snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)pc);
			name = buf;
		}
		if (label(np, name, "[kernel]", &ns->kernel[i]))
			goto fail;
		ns->kernel[i].symbolized = name != buf;
		ns->kernel[i].kind = NM_NATIVE;
		ns->kernel[i].addr = i + skip ? pc - 1 : pc;
		ns->kernel[i].map = kernel_map(np);
	}
	return ns;
fail:
	free(ns->user);
	free(ns->kernel);
	free(ns);
	return NULL;
}

const struct nprof_stack *nprof_resolve(struct nprof *np, const struct native_maps *maps,
					pid_t pid, unsigned major, unsigned minor, uint64_t hash,
					const struct native_stack *st)
{
	struct nprof_key k = { .hash = hash, .pid = (uint32_t)pid };
	struct nprof_stack **slot = htab_get(&np->stacks, &k), *ns;

	if (slot)
		return *slot;
	ns = resolve(np, maps, pid, major, minor, st);
	if (!ns)
		return NULL;
	slot = htab_put(&np->stacks, &k, NULL);
	if (!slot) {
		free(ns->user);
		free(ns->kernel);
		free(ns);
		return NULL;
	}
	*slot = ns;
	return ns;
}

size_t nprof_merge(const struct nprof_stack *ns, uint32_t depth, int complete,
		   struct nm_frame *out, size_t max)
{
	uint8_t kinds[UNWIND_MAX_FRAMES], *flags = calloc(depth ? depth : 1, 1);
	struct nm_input in = {
		.native = kinds, .n_native = ns->nuser, .native_complete = ns->complete,
		.python = flags, .n_python = depth, .python_complete = complete,
		.drop_glue = 1,
	};
	struct nm_result res = {};
	uint32_t i;

	if (!flags)
		return 0;
	for (i = 0; i < ns->nuser; i++)
		kinds[i] = ns->user[i].kind;
	for (i = 0; i < depth; i++)
		if (ns->all_entry ||
		    (i < PYBPF_MAX_DEPTH && (ns->entry[i / 64] >> (i % 64) & 1)))
			flags[i] = NM_PY_ENTRY;
	nm_merge(&in, out, max, &res);
	free(flags);
	return res.n;
}
