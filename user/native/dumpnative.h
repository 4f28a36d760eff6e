/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* dumpnative.h - `dump --native`: each stopped thread's native stack
 * (user/native/nativeunwind.c from its registers), symbolized
 * (user/native/nativesyms.c), merged with the Python frames dump walked
 * (user/native/nativemerge.c), and the thread's kernel stack as /proc showed it
 * just before the stop.  Rendering stays with user/commands/dump.c. */
#ifndef PYBPF_DUMPNATIVE_H
#define PYBPF_DUMPNATIVE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include "proc.h"
#include "pywalk.h"

struct dump_native;
struct ptrace_stop;

enum dn_kind {
	DN_PYTHON = 0,           /* py: index into the thread's Python frames */
	DN_NATIVE,               /* name: function, or "file+0xOFF" */
	DN_KERNEL,               /* name: kernel function */
	DN_MARK,                 /* name: "<eval loop: Python frames unknown>", ... */
};

struct dn_frame {
	uint8_t kind;            /* enum dn_kind */
	uint8_t symbolized;      /* DN_NATIVE: name is a symbol */
	uint32_t py;
	uint64_t pc;             /* DN_NATIVE: the pc (a return address but innermost) */
	uint64_t off;            /* DN_NATIVE: its file offset */
	char name[192];
	char lib[256];           /* DN_NATIVE: the mapped file's path, or "" */
};

/* A thread's merged stack, innermost first: kernel frames, then native
 * and Python frames. */
struct dn_stack {
	struct dn_frame *f;
	size_t n, cap;
	uint32_t native_stop;    /* enum native_stat */
	int native_complete;     /* the native walk reached the first frame */
	int regs_ok;             /* registers read (else no native frames) */
	const char *kernel_note; /* why there are no kernel frames, or NULL */
};

/* 0 or -ENOMEM. */
int dump_native_new(struct dump_native **out);
void dump_native_free(struct dump_native *dn);

/* Before the stop: every thread's kernel stack, and its tid (threads
 * without a Python thread state are dumped too).  0 or -errno. */
int dump_native_snapshot(struct dump_native *dn, pid_t pid);
/* The threads the snapshot saw. */
size_t dump_native_tids(const struct dump_native *dn, const pid_t **tids);
/* While stopped, before the threads: the process's mappings.  0 or -errno. */
int dump_native_maps(struct dump_native *dn, pid_t pid);

/* Thread tid's merged stack (py: its Python frames, innermost first, as
 * pywalk_stack gave them, complete when it reached the first frame; p may
 * be NULL with npy 0 for a process or thread without Python).  0 or
 * -ENOMEM. */
int dump_native_thread(struct dump_native *dn, const struct pyproc *p, const struct ptrace_stop *s,
		       pid_t tid, const struct pyframe_ref *py, size_t npy, int py_complete,
		       struct dn_stack *out);
void dn_stack_free(struct dn_stack *st);

/* One native, kernel or marker frame as dump prints it: text
 * ("    deflate (libz.so.1)", "    [kernel] do_nanosleep") or a JSON
 * object with "kind" (first: no comma before it). */
void dump_native_print(FILE *out, const struct dn_frame *f, int json, int full_filenames,
		       int first);

/* NM_PY_* flags of a thread's Python frames (innermost first): which
 * one is the outermost frame of its eval-loop activation. */
void dump_native_py_flags(const struct pyproc *p, const struct pyframe_ref *py, size_t npy,
			  uint8_t *flags);

#endif /* PYBPF_DUMPNATIVE_H */
