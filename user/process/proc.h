/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* proc.h - inspect a process: is it CPython, which version, where its
 * runtime lives; the only place that decides the Python version. */
#ifndef PYBPF_PROC_H
#define PYBPF_PROC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "offsets.h"
#include "pybpf.h"

struct pyproc {
	pid_t pid;
	unsigned major, minor;
	char version[32];           /* "3.11.7" */
	char exe[PATH_MAX];         /* the executable (as the process sees it) */
	char elf_path[PATH_MAX];    /* exe or libpython holding _PyRuntime */
	char cmdline[512];
	char comm[32];
	pid_t nspid;                /* the pid inside its own pid namespace */
	char cgroup[256];           /* cgroup v2 path ("0::/...") or the first line */
	uint64_t bias;              /* load bias of elf_path */
	uint64_t runtime_addr;      /* &_PyRuntime, &interp_head (2.7, 3.6) */
	uint64_t code_type_addr;    /* &PyCode_Type, 0 if not found */
	uint64_t gil_holder_addr;   /* &_PyThreadState_Current (<= 3.6), 0 if not found */
	uint64_t code_gen_addr;     /* 3.12: &_Py_next_func_version (pybpf.h), 0 if not found */
	uint64_t code_free_off;     /* where no such counter exists: file offset in
				     * elf_path of PyCode_Type's tp_dealloc, for the
				     * probe that counts code objects freed; 0 = none */
	uint32_t hexversion;        /* PY_VERSION_HEX from Py_Version (3.11+), else 0 */
	int free_threaded;          /* a --disable-gil build (3.13t+) */
	enum { OFFSETS_TABLE = 1, OFFSETS_DEBUG } offsets_source; /* generated table, _Py_DebugOffsets */
	int untested;               /* newer than the newest build this pybpf knows */
	struct py_offsets off;      /* struct layouts the BPF side reads ... */
	struct py_user_offsets uoff; /* ... that only userspace reads */
	int initialized;            /* runtime had an interpreter at inspection */
	int gone;                   /* exited (kept for its symbols and samples) */
	char err[512];              /* why inspection failed */
};

/* Fill p for pid.  0, or -errno with p->err set:
 * -ESRCH no such process, -ENOEXEC not CPython (-EAGAIN: needs a
 * libpython that is not mapped yet), -ENOTSUP unsupported
 * version, -EPROTO offsets do not match the memory. */
int pyproc_inspect(pid_t pid, struct pyproc *p);

/* "3.14.0" or "3.14.0 (free-threaded)": the version as headers show it */
const char *pyproc_version(const struct pyproc *p, char *buf, size_t len);

/* Build the record the BPF sampler uses. */
void pyproc_info(const struct pyproc *p, uint32_t max_depth, struct proc_info *info);

/* Read target memory without stopping it.  0 or -errno. */
int proc_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* root, then its children, grandchildren... (at most max); the count. */
size_t proc_descendants(pid_t root, pid_t *out, size_t max);

/* The kernel's state letter of a process (tid 0) or thread: 'R' running or
 * runnable, 'S' sleeping, 'Z' zombie...; 0 if it does not exist. */
char proc_state(pid_t pid, pid_t tid);

/* /proc/PID/exe's target, or "" */
void proc_exe(pid_t pid, char *buf, size_t len);

/* /proc/PID/task/TID/comm, or "" */
void proc_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len);

/* How many threads pid has now (/proc/PID/task), 0 if it is gone. */
size_t proc_thread_count(pid_t pid);

#endif /* PYBPF_PROC_H */
