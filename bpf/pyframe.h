/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pyframe.h - how to read CPython frames, code objects and strings out
 * of raw byte copies, given a struct py_offsets.  Pure functions over
 * buffers, compiled by both sides: the BPF walker (bpf/python.bpf.h) and
 * the userspace one (user/live/pywalk.c) share this single description.
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

/* Frames that run no Python code: C-stack shims (3.12+) and interpreter
 * entry frames (3.14+) have the highest owner values. */
static __always_inline int pyframe_is_shim(const struct py_offsets *o, const __u8 *frame)
{
	return o->owner_shim_min >= 0 &&
	       frame[(__u32)o->frame_owner & FRAME_MASK] >= (__u8)o->owner_shim_min;
}

/* f_code / f_executable, without the _PyStackRef tag bits (3.14+) */
static __always_inline __u64 pyframe_code(const struct py_offsets *o, const __u8 *frame)
{
	return buf_u64(frame, o->frame_code, FRAME_MASK) & ~(__u64)(__u32)o->exec_tag_mask;
}

static __always_inline __u64 pyframe_back(const struct py_offsets *o, const __u8 *frame)
{
	return buf_u64(frame, o->frame_back, FRAME_MASK);
}

/* Which copy of the bytecode the frame runs: 0 is co_code_adaptive, the
 * others are per-thread copies in co_tlbc (free-threaded 3.14+). */
static __always_inline __u32 pyframe_tlbc_index(const struct py_offsets *o, const __u8 *frame)
{
	return o->frame_tlbc_index >= 0 ? buf_u32(frame, o->frame_tlbc_index, FRAME_MASK) : 0;
}

/* Address of the pointer to bytecode copy idx (> 0) of a code object:
 * co_tlbc is a _PyCodeArray, a size followed by the copies' addresses. */
static __always_inline __u64 pycode_tlbc_slot(const struct py_offsets *o, const __u8 *code,
					      __u32 idx)
{
	return buf_u64(code, o->code_tlbc, CODE_MASK) + 8 + 8 * (__u64)(idx & 0xffff);
}

/* Where the bytecode the frame runs starts: co_code_adaptive (returned),
 * or the thread's own copy in free-threaded builds that keep one (3.14t):
 * then 0 is returned and *slot is the address of the pointer to it, for
 * the caller to read.  code is the code object's address, cb its copy. */
static __always_inline __u64 pyframe_bytecode(const struct py_offsets *o, const __u8 *frame,
					      const __u8 *cb, __u64 code, __u64 *slot)
{
	__u32 idx = pyframe_tlbc_index(o, frame);

	*slot = 0;
	if (!idx || o->code_tlbc < 0)
		return code + o->code_adaptive;
	*slot = pycode_tlbc_slot(o, cb, idx);
	return 0;
}

/* Is the object whose copy is cb a code object?  From 3.13 f_executable
 * may be something else; code_type is PyCode_Type's address there, 0
 * where every frame runs a code object. */
static __always_inline int pycode_is_code(const struct py_offsets *o, const __u8 *cb,
					  __u64 code_type)
{
	return !code_type || buf_u64(cb, o->object_type, CODE_MASK) == code_type;
}

/* Byte offset of the frame's current instruction in its bytecode.  base
 * is the address of the bytecode copy the frame runs: code +
 * code_adaptive, or the thread's own copy (pyframe_tlbc_index). */
static __always_inline __u32 pyframe_lasti(const struct py_offsets *o, const __u8 *frame,
					   __u64 base)
{
	__u64 ptr;
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

/* Size of a str object from its header (PEP 393 state bits: interned,
 * then kind:3, compact:1, ascii:1 from unicode_kind_shift on), capped.
 * A name without state (2.7's PyStringObject) is a byte string: its data
 * at unicode_ascii_size, as a compact ASCII str's. */
static __always_inline __u32 pystr_size(const struct py_offsets *o, const __u8 *head, __u32 max)
{
	__u64 len = buf_u64(head, o->unicode_length, HEAD_MASK);
	__u32 state = buf_u32(head, o->unicode_state, HEAD_MASK);
	__u32 shift = (__u32)o->unicode_kind_shift & 15;
	__u32 kind = (state >> shift) & 7, size;

	if (len > 4096)
		len = 4096;
	if (o->unicode_state < 0 || ((state >> (shift + 4)) & 1))
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
