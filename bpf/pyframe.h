/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pyframe.h - how to read CPython frames, code objects and strings out
 * of raw byte copies, given a struct py_offsets.  Pure functions over
 * buffers, compiled by both sides: the BPF walker (bpf/python.bpf.h) and
 * the userspace one (user/pywalk.c) share this single description.
 *
 * Buffers are at least (mask + 1 + 8) bytes: offsets are masked so the
 * verifier can bound every load. */
#ifndef PYBPF_PYFRAME_H
#define PYBPF_PYFRAME_H

#include "pybpf.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define FRAME_MASK (PYBPF_FRAME_READ - 1)
#define CODE_MASK  (PYBPF_CODE_READ - 1)
#define HEAD_MASK  (PYBPF_NAME_HEAD - 1)

static __always_inline __u64 buf_u64(const __u8 *buf, __s32 off, __u32 mask)
{
	return *(const __u64 *)(buf + ((__u32)off & mask));
}

static __always_inline __u32 buf_u32(const __u8 *buf, __s32 off, __u32 mask)
{
	return *(const __u32 *)(buf + ((__u32)off & mask));
}

/* 3.12+: shim frames owned by the C stack are not Python code */
static __always_inline int pyframe_is_shim(const struct py_offsets *o, const __u8 *frame)
{
	return o->owner_cstack >= 0 &&
	       frame[(__u32)o->frame_owner & FRAME_MASK] == (__u8)o->owner_cstack;
}

static __always_inline __u64 pyframe_code(const struct py_offsets *o, const __u8 *frame)
{
	return buf_u64(frame, o->frame_code, FRAME_MASK);
}

static __always_inline __u64 pyframe_back(const struct py_offsets *o, const __u8 *frame)
{
	return buf_u64(frame, o->frame_back, FRAME_MASK);
}

/* Byte offset of the frame's current instruction in its bytecode. */
static __always_inline __u32 pyframe_lasti(const struct py_offsets *o, const __u8 *frame,
					   __u64 code)
{
	__u64 ptr, base;
	__s32 lasti;

	switch (o->lasti_kind) {
	case LASTI_BYTES:
	case LASTI_UNITS:
		lasti = (__s32)buf_u32(frame, o->frame_lasti, FRAME_MASK);
		if (lasti < 0)
			return PYBPF_LASTI_NONE;
		return o->lasti_kind == LASTI_UNITS ? (__u32)lasti * 2 : (__u32)lasti;
	default: /* pointers into co_code_adaptive */
		ptr = buf_u64(frame, o->frame_lasti, FRAME_MASK);
		base = code + o->code_adaptive;
		if (ptr < base || ptr - base > (1u << 30))
			return PYBPF_LASTI_NONE;
		return (__u32)(ptr - base);
	}
}

/* The name a profile shows: co_qualname (3.11+, Class.method), else co_name */
static __always_inline __u64 pycode_name(const struct py_offsets *o, const __u8 *code)
{
	return buf_u64(code, o->code_qualname >= 0 ? o->code_qualname : o->code_name, CODE_MASK);
}

/* Size of a str object from its header (PEP 393 state bits, unchanged
 * from 3.3 to 3.14: interned:2, kind:3, compact:1, ascii:1), capped. */
static __always_inline __u32 pystr_size(const struct py_offsets *o, const __u8 *head, __u32 max)
{
	__u64 len = buf_u64(head, o->unicode_length, HEAD_MASK);
	__u32 state = buf_u32(head, o->unicode_state, HEAD_MASK);
	__u32 kind = (state >> 2) & 7, size;

	if (len > 4096)
		len = 4096;
	if ((state >> 6) & 1)
		size = o->unicode_ascii_size + len + 1;
	else
		size = o->unicode_compact_size + (len + 1) * kind;
	return size < max ? size : max;
}

/* Size of a bytes object (header + data + NUL), capped. */
static __always_inline __u32 pybytes_size(const struct py_offsets *o, const __u8 *head, __u32 max,
					  __u64 *total)
{
	__u64 n = buf_u64(head, o->bytes_size, HEAD_MASK);
	__u32 size;

	*total = n;
	if (n > (1u << 20))
		return 0;
	size = o->bytes_data + (__u32)n + 1;
	return size < max ? size : max;
}

#endif /* PYBPF_PYFRAME_H */
