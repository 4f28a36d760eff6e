/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pybpf.h - the ABI shared by the BPF programs and the userspace loader.
 *
 * Everything here is plain data with fixed-width fields and no pointers:
 * the BPF side reads it from maps, userspace writes it.  Both compilers
 * see this file, so it only includes the kernel's fixed-width types.
 */
#ifndef PYBPF_H
#define PYBPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "unwind.h"

#define PYBPF_MAX_DEPTH     1024  /* frames walked per sample, innermost first */
#define PYBPF_CHUNK_FRAMES  32    /* frames per stored stack chunk */
#define PYBPF_MAX_CHUNKS    (PYBPF_MAX_DEPTH / PYBPF_CHUNK_FRAMES)
#define PYBPF_MAX_THREADS   1024  /* PyThreadStates scanned to find a thread */
#define PYBPF_MAX_INTERPS   8     /* interpreters scanned (subinterpreters) */

/* Raw object copies made when a code object is first seen.  Userspace
 * decodes them: the BPF side never needs to know string layouts. */
#define PYBPF_NAME_BLOB     256   /* str object header + data (name/qualname) */
#define PYBPF_FILE_BLOB     512   /* str object header + data (filename) */
#define PYBPF_LINES_BLOB    4096  /* bytes object header + data (line table) */
#define PYBPF_CODE_READ     256   /* bytes read from a code object per frame */
#define PYBPF_FRAME_READ    128   /* bytes read from a frame per frame */
#define PYBPF_NAME_HEAD     64    /* bytes read from a name per frame (validator) */

/* Special symbol ids: real ones start at PYBPF_SYM_FIRST. */
#define PYBPF_SYM_UNKNOWN   0     /* code object could not be registered */
#define PYBPF_SYM_NOT_CODE  1     /* frame whose executable is not a code object */
#define PYBPF_SYM_PENDING   2     /* BPF side only: named when its stack is stored */
#define PYBPF_SYM_FIRST     16

#define PYBPF_LASTI_NONE    0xffffffffu

/* A data-stack chunk (3.11+): previous, size, top, then the frames; at
 * least 16 KiB (DATA_STACK_CHUNK_SIZE, Python/pystate.c, 3.11-3.15) */
#define PYBPF_CHUNK_DATA    24
#define PYBPF_CHUNK_MIN     (16 * 1024)

/* How a frame records its position in the bytecode.  One value per
 * CPython change that moved it. */
enum pybpf_lasti_kind {
	LASTI_BYTES      = 0, /* int f_lasti, byte offset (<= 3.9) */
	LASTI_UNITS      = 1, /* int f_lasti, 2-byte code units (3.10, bpo-27129) */
	LASTI_PREV_INSTR = 2, /* _Py_CODEUNIT *prev_instr (3.11, 3.12) */
	LASTI_INSTR_PTR  = 3, /* _Py_CODEUNIT *instr_ptr (3.13+, gh-105727) */
};

/* Struct offsets of one CPython minor version that the BPF side reads
 * (the `procs` map carries them), generated from DWARF by
 * tools/gen-offsets.py into user/process/offsets_table.c.  -1 means "this
 * version has no such field".  What only userspace reads (locals, object
 * reprs, thread names) is struct py_user_offsets, user/process/offsets.h. */
struct py_offsets {
	/* _PyRuntimeState (3.7+); 2.7 and 3.6 have none: their runtime address
	 * is that of the static interp_head itself, and this offset is 0 */
	__s32 runtime_interp_head;   /* interpreters.head */
	/* PyInterpreterState */
	__s32 interp_next;
	__s32 interp_tstate_head;    /* tstate_head (<= 3.10), threads.head (3.11+) */
	__s32 interp_code_gen;       /* a counter that moves before a code object can
				      * be replaced at another's address: 3.13
				      * func_state.next_version (u32, new code objects'
				      * co_version), 3.14+ _code_object_generation
				      * (u64, bumped as one is freed) */
	/* PyThreadState */
	__s32 tstate_next;
	__s32 tstate_interp;
	__s32 tstate_thread_id;      /* pthread_self() of the thread */
	__s32 tstate_native_thread_id; /* kernel tid (3.11+) */
	__s32 tstate_datastack_chunk; /* _PyStackChunk * in use: its data, from
				       * PYBPF_CHUNK_DATA on, holds the frames (3.11+) */
	__s32 tstate_status;         /* _status bits (3.12+): PY_TSTATUS_* */
	__s32 tstate_frame;          /* frame (<= 3.10), current_frame (3.13+) */
	__s32 tstate_cframe;         /* cframe (3.11, 3.12) */
	__s32 cframe_current_frame;  /* _PyCFrame.current_frame (3.11, 3.12) */
	__s32 cframe_previous;       /* _PyCFrame.previous: the caller's cframe (3.11, 3.12) */
	__s32 tstate_root_cframe;    /* root_cframe: the thread's first activation's caller
				      * (3.11, 3.12) */
	__s32 tstate_base_frame;     /* base_frame (3.15+): the address of the frame
				      * every chain of the thread ends in */
	/* frame: PyFrameObject (<= 3.10), _PyInterpreterFrame (3.11+) */
	__s32 frame_code;            /* f_code, f_executable (3.13+) */
	__s32 frame_back;            /* f_back, previous (3.11+) */
	__s32 frame_lasti;           /* f_lasti, prev_instr, instr_ptr */
	__s32 frame_owner;           /* owner (3.11+), a char */
	__s32 frame_is_entry;        /* is_entry (3.11): a bool, the frame an eval-loop
				      * activation was entered with (3.12+: a shim) */
	__s32 owner_shim_min;        /* owners >= this are not Python code: C-stack
				      * shims (3.12+), interpreter entry frames (3.14+) */
	__s32 exec_tag_mask;         /* tag bits of f_executable, a _PyStackRef (3.14+) */
	__s32 frame_tlbc_index;      /* tlbc_index: the thread's bytecode copy (3.14t) */
	__s32 code_tlbc;             /* co_tlbc: _PyCodeArray * of bytecode copies (3.14t) */
	__u32 lasti_kind;            /* enum pybpf_lasti_kind */
	/* PyCodeObject */
	__s32 code_name;
	__s32 code_qualname;         /* 3.11+ */
	__s32 code_filename;
	__s32 code_firstlineno;
	__s32 code_linetable;        /* co_lnotab (<= 3.9), co_linetable (3.10+) */
	__s32 code_adaptive;         /* co_code_adaptive: first code unit (3.11+) */
	__s32 code_version;          /* co_version: numbers code objects as made (3.12+) */
	__s32 object_type;           /* PyObject.ob_type (24 in free-threaded builds) */
	/* str / bytes objects (for userspace decoding and BPF blob sizes).
	 * Names are PEP 393 str objects from 3.3 on; 2.7's are PyStringObject
	 * (unicode_state -1): byte strings whose length, hash and data sit at
	 * unicode_length (ob_size), unicode_hash (ob_shash), unicode_ascii_size
	 * (ob_sval) */
	__s32 unicode_length;        /* PyASCIIObject.length */
	__s32 unicode_hash;          /* PyASCIIObject.hash */
	__s32 unicode_state;         /* PyASCIIObject.state, -1: a byte string (2.7) */
	__s32 unicode_kind_shift;    /* bit of state.kind: 2, 8 when interned is a byte (3.14t) */
	__s32 unicode_ascii_size;    /* sizeof(PyASCIIObject): compact ASCII data */
	__s32 unicode_compact_size;  /* sizeof(PyCompactUnicodeObject) */
	__s32 bytes_size;            /* PyVarObject.ob_size of a bytes object */
	__s32 bytes_data;            /* PyBytesObject.ob_sval */
	/* GIL state: the holder is the thread state at gil_last_holder if
	 * gil_locked says the GIL is taken.  2.7 and 3.6 keep no such struct
	 * where it can be found, but _PyThreadState_Current is the holder, NULL
	 * while the GIL is free: the GIL address is that variable's (found by
	 * symbol), gil_locked -1 (no flag), gil_last_holder 0 */
	__s32 runtime_gil;           /* _PyRuntime.ceval.gil (3.7-3.11) */
	__s32 interp_gil;            /* interp->ceval.gil pointer (3.12+) */
	__s32 gil_locked;            /* int; -1: the holder pointer alone says */
	__s32 gil_last_holder;
};

/* One profiled process, keyed by tgid in the `procs` map. */
struct proc_info {
	__u64 runtime_addr;          /* &_PyRuntime in the target, &interp_head (2.7, 3.6) */
	__u64 code_type_addr;        /* &PyCode_Type, 0 = do not check */
	__u32 version;               /* PY_VERSION_HEX >> 16, e.g. 0x030b */
	__u32 max_depth;             /* frames to walk, <= PYBPF_MAX_DEPTH */
	__u32 frame_read;            /* bytes of a frame the walker reads, <= PYBPF_FRAME_READ */
	__u32 code_read;             /* bytes of a code object, <= PYBPF_CODE_READ */
	__u64 gil_addr;              /* the GIL state (3.7-3.11: in _PyRuntime; 2.7, 3.6:
				      * &_PyThreadState_Current); 0: via interp */
	__u32 want_gil;              /* mark samples of the GIL holder (COUNT_GIL) */
	__u32 code_gen_size;         /* bytes of the code-object counter: 4 (3.12, 3.13), 8 */
	__u64 code_gen_addr;         /* 3.12: &_Py_next_func_version, the process-wide
				      * counter co_version is taken from; 0: the
				      * interpreter's (interp_code_gen) or none */
	__u32 code_free_probe;       /* 1: code_frees counts this process's code objects
				      * freed (a uprobe on PyCode_Type's tp_dealloc,
				      * pybpf_code_free): the code-object counter of
				      * builds that have none (before 3.12) */
	__u32 pad;
	__u64 code_frees;            /* frees so far, from an epoch userspace picks at
				      * every push of this record (never reused) */
	__u64 current_addr;          /* the GIL holder's current thread state pointer:
				      * _PyRuntime.gilstate.tstate_current (3.7-3.11),
				      * _PyThreadState_Current (2.7, 3.6); 0 from 3.12,
				      * where _status says which state is in use */
	struct py_offsets off;
};

/* tid -> its PyThreadState, found by scanning the interpreters' lists.
 * A cached entry is re-validated on every use (python.bpf.h cached_ok). */
struct thread_entry {
	__u64 tstate;                /* 0: no thread state found at scan_ns */
	__u64 scan_ns;
	__u64 lists_sig;             /* the thread lists' heads when scanned (lists_sig) */
	char comm[16];               /* kernel thread name at first sight */
	__u32 multi;                 /* the thread had several thread states */
	__u32 pad;
};

/* PyThreadState._status bits (3.12+; the same places through 3.15) */
#define PY_TSTATUS_UNBOUND (1u << 2) /* deleted: thread_id is stale */
#define PY_TSTATUS_ACTIVE  (1u << 4) /* the thread's state in use */

/* tid -> the stack a thread had when it last blocked (--idle) */
struct offcpu_entry {
	__u64 start_ns;              /* when it went off-CPU; 0 = on CPU */
	__u64 sig;                   /* block signature of that stack (sampler.bpf.c) */
	__u64 stack_hash;            /* that stack, 0 = none */
	__u32 pid;
	__u32 pad;
	__u64 native_hash;           /* --native: its native side, 0 = none */
};

/* One walked frame: registered code object id and byte offset of the
 * instruction in its bytecode (PYBPF_LASTI_NONE if not started). */
struct frame_rec {
	__u32 sym_id;
	__u32 lasti;
};

#define STACK_TRUNCATED  1u  /* more frames than max_depth: root side cut */

/* Stacks are stored once and reach userspace through a ring buffer
 * (bpf/stackstore.bpf.h): cut into chunks of PYBPF_CHUNK_FRAMES frames
 * from the root end, so that only the innermost chunk is partial and
 * stacks that differ near the leaf share every chunk rootward of it.  A
 * chunk's key is a hash of its frames and of its parent's key (the chunk
 * rootward of it), so equal keys mean equal frames all the way to the
 * root.  A stack's head, keyed by the stack hash, holds the innermost
 * chunk's frames itself and its parent's key. */
enum stack_event_kind {
	STACK_EV_HEAD  = 1,
	STACK_EV_CHUNK = 2,
};

struct stack_event {
	__u32 kind;                  /* enum stack_event_kind */
	__u32 depth;                 /* head: frames in the whole stack */
	__u32 flags;                 /* head: STACK_* */
	__u32 nframes;               /* frames used in frames[]: a chunk's are all */
	__u64 key;                   /* head: the stack hash; chunk: its key */
	__u64 parent;                /* key of the chunk rootward of frames[], 0 = none */
	struct frame_rec frames[PYBPF_CHUNK_FRAMES]; /* innermost first */
};
_Static_assert(sizeof(struct stack_event) == 32 + 8 * PYBPF_CHUNK_FRAMES, "stack_event");

/* Sample counts, keyed per process, thread, stack and kind, in one of two
 * maps: userspace swaps them before it drains one (see maps.bpf.h). */
#define COUNT_GIL   1u   /* the sampled thread held the GIL */
#define COUNT_IDLE  2u   /* off-CPU time (--idle): the value is nanoseconds */
#define COUNT_GILWAIT 4u /* time waiting in take_gil (--gil-wait): nanoseconds */
/* In a count's slot (bpf/maps.bpf.h): the key is new since the slot was
 * last drained, so it is handed over even with a count of 0 (a stack
 * stored with zero weight, e.g. where a thread blocked). */
#define COUNT_FRESH (1ull << 63)
struct count_key {
	__u32 pid;
	__u32 tid;
	__u64 stack_hash;
	__u32 pad;
	__u32 flags;                 /* COUNT_* */
	__u64 native_hash;           /* --native: the native_stacks key; 0 = none */
};

/* --native: one sample's native side, in map native_stacks keyed by a
 * hash of all of it (count_key.native_hash; bpf/native_sample.bpf.h).
 * Python-only stacks never have one.  Kernel frames innermost first, as
 * bpf_get_stack gives them; user frames as native_walk leaves them. */
#define PYBPF_NATIVE_KFRAMES 64
#define PYBPF_ENTRY_WORDS    (PYBPF_MAX_DEPTH / 64)
struct native_stack {
	__u32 nkernel;               /* frames in kpcs */
	__u32 pad;
	/* bit i: Python frame i (innermost first) is the outermost frame of
	 * its eval-loop activation, as the walk saw it (3.11: is_entry; 3.12+:
	 * its caller is a C-stack shim); unused (0) up to 3.10, where every
	 * frame is one */
	__u64 entry[PYBPF_ENTRY_WORDS];
	__u64 kpcs[PYBPF_NATIVE_KFRAMES];
	struct native_state user;    /* user pcs in user.pcs[0 .. user.n), user.stop */
};

/* First sight of a (pid, code object, validator) triple.  The validator
 * mixes fields of the code object and the head of its name, so a code
 * object freed and replaced by another at the same address gets a new id. */
struct code_key {
	__u32 pid;
	__u32 pad;
	__u64 code_addr;
	__u64 validator;
};

/* Sent through the ring buffer on first sight: raw copies of the name,
 * filename and line table objects, taken while the code is on a stack. */
struct code_event {
	__u32 pid;
	__u32 sym_id;
	__u64 code_addr;
	__s32 firstlineno;
	__u32 name_len;              /* bytes copied into name[] (0 = failed) */
	__u32 file_len;
	__u32 lines_len;
	__u32 lines_total;           /* ob_size of the line table */
	__u32 pad;
	__u8 name[PYBPF_NAME_BLOB];  /* qualname (3.11+) or name */
	__u8 file[PYBPF_FILE_BLOB];
	__u8 lines[PYBPF_LINES_BLOB];
};

/* Per-CPU counters, one per outcome; shown by -v and summarized by record. */
enum pybpf_stat {
	STAT_SAMPLES = 0,      /* perf events in profiled processes */
	STAT_STACKS,           /* samples recorded */
	STAT_NO_TSTATE,        /* thread has no PyThreadState (not a Python thread) */
	STAT_EMPTY,            /* thread state without Python frames */
	STAT_NOT_READY,        /* process without an interpreter yet (start-up) */
	STAT_EXITING,          /* thread exiting (do_exit): not walked, not an error */
	STAT_ERR_RUNTIME,      /* reading _PyRuntime / interpreter failed */
	STAT_ERR_TSTATE,       /* reading a thread state failed */
	STAT_ERR_FRAME,        /* reading a frame failed */
	STAT_ERR_CODE,         /* reading a code object failed */
	STAT_ERR_NAME,         /* reading a name for the validator failed */
	STAT_TRUNCATED,        /* stack deeper than max_depth */
	STAT_LOST_COUNTS,      /* counts map full: sample lost */
	STAT_LOST_STACKS,      /* stacks map full: sample lost */
	STAT_LOST_CODES,       /* code map full: frame shown as <unknown> */
	STAT_LOST_EVENTS,      /* ring buffer full: frame shown as <unknown> */
	STAT_ERR_SYMBOL,       /* reading name/file/line table for an event failed */
	STAT_THREAD_SCAN,      /* thread list longer than PYBPF_MAX_THREADS */
	STAT_NESTED,           /* a program would have nested on this CPU: refused */
	STAT_LOST_TIMELINE,    /* timeline ring full: a sample left out of the time order */
	STAT_FRAMES,           /* Python frames walked */
	STAT_CODE_UNREAD,      /* ... named with no read of their code object */
	STAT_READS,            /* reads of target memory for Python stacks (all programs) */
	STAT_STACKS_STORED,    /* stacks sent to userspace (a new stack hash) */
	STAT_CHUNKS_STORED,    /* chunks sent with them */
	STAT_CHUNKS_SHARED,    /* chunks of new stacks that were stored already */
	STAT_EVAL_ENTRY,       /* walks restarted from the caller's frame: the sample
				* caught an eval-loop activation being entered (3.11, 3.12) */
	STAT_EVAL_ENTRY_STALE, /* ... whose caller's activation did not link up either
				* (a cframe's previous not yet set, or a cframe
				* unreadable): not counted */
	STAT_NR,
};

/* The timeline ring buffer's record (timeline.bpf.h): a sample at
 * time_ns (dur_ns 0), or an off-CPU interval [time_ns, time_ns + dur_ns),
 * of the stack counted under (pid, tid, stack_hash, flags). */
struct timeline_rec {
	__u64 time_ns;           /* bpf_ktime_get_ns() clock */
	__u64 dur_ns;
	__u64 stack_hash;
	__u32 pid, tid;
	__u32 flags;             /* COUNT_* */
	__u32 pad;
	__u64 native_hash;       /* --native: count_key.native_hash */
};

#endif /* PYBPF_H */
