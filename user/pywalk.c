// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pywalk.c - walk a live process's thread states and frames from
 * userspace with the same offsets and frame description (bpf/pyframe.h)
 * as the in-kernel walker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pyframe.h"
#include "pywalk.h"

/* glibc's struct pthread keeps the kernel tid at this offset on x86_64
 * (unchanged since glibc 2.x's NPTL); checked against /proc below. */
#define GLIBC_PTHREAD_TID 720

static uint64_t rd64(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;

	return addr && proc_read(pid, addr, &v, sizeof(v)) == 0 ? v : 0;
}

static int task_exists(pid_t pid, int32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return tid > 0 && access(path, F_OK) == 0;
}

static int32_t thread_tid(const struct pyproc *p, uint64_t tstate, uint64_t thread_id)
{
	const struct py_offsets *o = &p->off;
	int32_t tid = 0;

	if (o->tstate_native_thread_id >= 0) /* 3.11+ */
		proc_read(p->pid, tstate + o->tstate_native_thread_id, &tid, sizeof(tid));
	else if (thread_id)
		proc_read(p->pid, thread_id + GLIBC_PTHREAD_TID, &tid, sizeof(tid));
	return task_exists(p->pid, tid) ? tid : 0;
}

/* The GIL state: _PyRuntime.ceval.gil (3.7-3.11), interp->ceval.gil
 * (3.12+); without a locked flag (gil_locked < 0: 2.7, 3.6) the holder
 * pointer alone, _PyThreadState_Current, NULL while the GIL is free. */
static uint64_t gil_holder(const struct pyproc *p, uint64_t interp)
{
	const struct py_offsets *o = &p->off;
	uint64_t gil = 0;
	int32_t locked = 1;

	if (o->runtime_gil >= 0)
		gil = p->runtime_addr + o->runtime_gil;
	else if (o->interp_gil >= 0)
		gil = rd64(p->pid, interp + o->interp_gil);
	else if (o->gil_locked < 0)
		gil = p->gil_holder_addr;
	if (!gil || (o->gil_locked >= 0 &&
		     proc_read(p->pid, gil + o->gil_locked, &locked, sizeof(locked))) || !locked)
		return 0;
	return rd64(p->pid, gil + o->gil_last_holder);
}

int pywalk_threads(const struct pyproc *p, struct pythread *out, size_t max, size_t *n)
{
	const struct py_offsets *o = &p->off;
	uint64_t interp, ts, holder;
	int i;

	*n = 0;
	interp = rd64(p->pid, p->runtime_addr + o->runtime_interp_head);
	for (i = 0; interp && i < PYBPF_MAX_INTERPS; i++) {
		holder = gil_holder(p, interp);
		ts = rd64(p->pid, interp + o->interp_tstate_head);
		while (ts && *n < max) {
			struct pythread *t = &out[(*n)++];

			t->tstate = ts;
			t->thread_id = rd64(p->pid, ts + o->tstate_thread_id);
			t->tid = thread_tid(p, ts, t->thread_id);
			t->owns_gil = holder == ts;
			ts = rd64(p->pid, ts + o->tstate_next);
		}
		interp = rd64(p->pid, interp + o->interp_next);
	}
	return 0;
}

static uint64_t first_frame(const struct pyproc *p, uint64_t tstate)
{
	const struct py_offsets *o = &p->off;

	if (o->tstate_cframe >= 0) /* 3.11, 3.12 */
		return rd64(p->pid, rd64(p->pid, tstate + o->tstate_cframe) + o->cframe_current_frame);
	return rd64(p->pid, tstate + o->tstate_frame);
}

int pywalk_frames(const struct pyproc *p, const struct pythread *t, struct pyframe_ref *out,
		  size_t max, size_t *n, int *truncated)
{
	const struct py_offsets *o = &p->off;
	uint8_t buf[PYBPF_FRAME_READ + 8] = {}, cb[PYBPF_CODE_READ + 8] = {};
	uint64_t frame = first_frame(p, t->tstate), type, base;
	uint32_t idx;
	size_t guard;

	*n = 0;
	*truncated = 0;
	for (guard = 0; frame && guard < PYBPF_MAX_DEPTH * 4; guard++) {
		struct pyframe_ref *r;

		if (*n == max) {
			*truncated = 1;
			break;
		}
		if (proc_read(p->pid, frame, buf, PYBPF_FRAME_READ)) {
			*truncated = 1; /* the frame went away under us */
			break;
		}
		r = &out[*n];
		r->frame = frame;
		frame = pyframe_back(o, buf);
		if (pyframe_is_shim(o, buf))
			continue;
		r->code = pyframe_code(o, buf);
		if (!r->code)
			continue; /* 3.14: a thread's bottom frame runs nothing */
		if (proc_read(p->pid, r->code, cb, PYBPF_CODE_READ))
			continue;
		type = buf_u64(cb, o->object_type, CODE_MASK);
		if (p->code_type_addr && type != p->code_type_addr)
			continue; /* not a code object (3.13+ f_executable) */
		idx = pyframe_tlbc_index(o, buf);
		base = idx && o->code_tlbc >= 0 ? rd64(p->pid, pycode_tlbc_slot(o, cb, idx))
						: r->code + o->code_adaptive;
		r->lasti = pyframe_lasti(o, buf, base);
		(*n)++;
	}
	return 0;
}

static uint32_t read_str(pid_t pid, const struct py_offsets *o, uint64_t addr, uint8_t *dst,
			 uint32_t max)
{
	uint8_t head[PYBPF_NAME_HEAD + 8] = {};
	uint32_t size;

	if (!addr || proc_read(pid, addr, head, PYBPF_NAME_HEAD))
		return 0;
	size = pystr_size(o, head, max);
	return proc_read(pid, addr, dst, size) ? 0 : size;
}

int pywalk_symbol(const struct pyproc *p, struct symbols *syms, uint64_t code, uint32_t id)
{
	const struct py_offsets *o = &p->off;
	uint8_t cb[PYBPF_CODE_READ + 8] = {}, head[PYBPF_NAME_HEAD + 8] = {};
	struct code_event *ev = calloc(1, sizeof(*ev));
	uint64_t lines;
	__u64 total;
	int err;

	if (!ev)
		return -ENOMEM;
	if (proc_read(p->pid, code, cb, PYBPF_CODE_READ)) {
		free(ev);
		return -EIO;
	}
	ev->pid = p->pid;
	ev->sym_id = id;
	ev->code_addr = code;
	ev->firstlineno = (int32_t)buf_u32(cb, o->code_firstlineno, CODE_MASK);
	ev->name_len = read_str(p->pid, o, pycode_name(o, cb), ev->name, PYBPF_NAME_BLOB);
	ev->file_len = read_str(p->pid, o, buf_u64(cb, o->code_filename, CODE_MASK), ev->file,
				PYBPF_FILE_BLOB);
	lines = buf_u64(cb, o->code_linetable, CODE_MASK);
	if (lines && !proc_read(p->pid, lines, head, PYBPF_NAME_HEAD)) {
		uint32_t size = pybytes_size(o, head, PYBPF_LINES_BLOB, &total);

		if (size && !proc_read(p->pid, lines, ev->lines, size)) {
			ev->lines_len = size;
			ev->lines_total = (uint32_t)total;
		}
	}
	err = symbols_add(syms, ev, o, (p->major << 8) | p->minor);
	free(ev);
	return err;
}
