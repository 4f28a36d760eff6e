// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativeseed.c - a blocked thread's native side from /proc (see
 * nativeseed.h).  A thread asleep in a system call has its user registers
 * saved at kernel entry; /proc/PID/task/TID/syscall shows two of them, the
 * stack pointer and the pc (not rbp: the first frames' CFA rules are
 * rsp-based in the system-call wrappers, and a frame that saved rbp gives
 * it back; a walk that needs it earlier ends there, counted).  The user
 * walk is the one of `dump --native` (nativeunwind.c); the kernel frames
 * are the kernel's own unwind of the sleeping task, as names with offsets,
 * turned back into return addresses so they symbolize like
 * bpf_get_stack's (user/native/nativeprof.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "htab.h"
#include "kallsyms.h"
#include "nativeseed.h"
#include "nativeunwind.h"

struct kname {
	uint64_t hash;           /* of the name */
	uint64_t addr;
};

struct native_seed {
	struct native_unwind *nu;
	struct kname *ksyms;     /* text symbols, sorted by hash */
	size_t nksyms, capksyms;
	int ksyms_tried;
};

int native_seed_new(struct native_seed **out)
{
	struct native_seed *sd = calloc(1, sizeof(*sd));
	int err;

	*out = NULL;
	if (!sd)
		return -ENOMEM;
	err = native_unwind_new(&sd->nu);
	if (err) {
		free(sd);
		return err;
	}
	*out = sd;
	return 0;
}

void native_seed_free(struct native_seed *sd)
{
	if (!sd)
		return;
	native_unwind_free(sd->nu);
	free(sd->ksyms);
	free(sd);
}

int native_seed_maps(struct native_seed *sd, pid_t pid)
{
	return native_unwind_maps(sd->nu, pid);
}

/* ---- kernel frames ---- */

static int cmp_kname(const void *a, const void *b)
{
	const struct kname *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static uint64_t name_hash(const char *s)
{
	return hash_bytes(s, strlen(s), 0x6b73796d);
}

static int add_kname(void *ctx, uint64_t addr, const char *name)
{
	struct native_seed *sd = ctx;

	if (sd->nksyms == sd->capksyms) {
		size_t cap = sd->capksyms ? sd->capksyms * 2 : 65536;
		struct kname *n = realloc(sd->ksyms, cap * sizeof(*n));

		if (!n)
			return 1;
		sd->ksyms = n;
		sd->capksyms = cap;
	}
	sd->ksyms[sd->nksyms].hash = name_hash(name);
	sd->ksyms[sd->nksyms++].addr = addr;
	return 0;
}

/* Text symbols by name; a name given to several static functions keeps
 * the first address, which symbolizes back to the same name. */
static void load_knames(struct native_seed *sd)
{
	sd->ksyms_tried = 1;
	kallsyms_each_text(add_kname, sd);
	qsort(sd->ksyms, sd->nksyms, sizeof(*sd->ksyms), cmp_kname);
}

static uint64_t kname_addr(struct native_seed *sd, const char *name)
{
	struct kname key = { .hash = name_hash(name) }, *k;

	if (!sd->ksyms_tried)
		load_knames(sd);
	k = sd->nksyms ? bsearch(&key, sd->ksyms, sd->nksyms, sizeof(key), cmp_kname) : NULL;
	return k ? k->addr : 0;
}

/* "[<0>] hrtimer_nanosleep+0xb5/0x130" lines, innermost first, as the
 * return addresses bpf_get_stack would give (a name not in kallsyms ends
 * the stack: the frames below it would be misplaced). */
static int read_kstack(struct native_seed *sd, pid_t pid, pid_t tid, struct native_stack *st)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (st->nkernel < PYBPF_NATIVE_KFRAMES && fgets(line, sizeof(line), f)) {
		char *s = strchr(line, ']'), *plus;
		unsigned long long off = 0;
		uint64_t addr;

		if (!s)
			continue;
		s += strspn(s + 1, " ") + 1;
		s[strcspn(s, " \n")] = 0;
		plus = strchr(s, '+');
		if (plus) {
			*plus = 0;
			off = strtoull(plus + 1, NULL, 16);
		}
		addr = *s ? kname_addr(sd, s) : 0;
		if (!addr)
			break;
		st->kpcs[st->nkernel++] = addr + off;
	}
	fclose(f);
	return 0;
}

/* ---- user registers ---- */

/* "nr a1 .. a6 sp pc" in a system call, "-1 sp pc" blocked outside one
 * (a page fault), "running" otherwise */
static int read_regs(pid_t pid, pid_t tid, struct native_regs *r)
{
	char path[64], buf[256], *tok, *save = NULL;
	unsigned long long v[9];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (tok = strtok_r(buf, " \n", &save); tok && n < 9; tok = strtok_r(NULL, " \n", &save))
		v[n++] = strtoull(tok, NULL, 0);
	memset(r, 0, sizeof(*r));
	if (n == 3 && !strncmp(buf, "-1", 2)) {
		r->sp = v[1];
		r->pc = v[2];
	} else if (n == 9) {
		r->sp = v[7];
		r->pc = v[8];
	} else {
		return -EAGAIN; /* running */
	}
	return r->sp && r->pc ? 0 : -EAGAIN;
}

int native_seed_read(struct native_seed *sd, pid_t pid, pid_t tid, struct native_stack *st)
{
	struct native_regs before, after;
	struct native_walk w;
	uint64_t pcs[UNWIND_MAX_FRAMES];
	size_t i;
	int err;

	memset(st, 0, sizeof(*st));
	err = read_regs(pid, tid, &before);
	if (err)
		return err;
	native_unwind_walk(sd->nu, pid, &before, pcs, UNWIND_MAX_FRAMES, &w);
	err = read_kstack(sd, pid, tid, st);
	if (err)
		return err;
	/* the stack read is only the thread's if it slept throughout */
	if (read_regs(pid, tid, &after) || after.sp != before.sp || after.pc != before.pc)
		return -EAGAIN;
	st->user.regs = before;
	st->user.n = (__u32)w.n;
	st->user.max = UNWIND_MAX_FRAMES;
	st->user.stop = w.stop;
	st->user.pid = (__u32)pid;
	for (i = 0; i < w.n; i++)
		st->user.pcs[i] = pcs[i];
	return 0;
}
