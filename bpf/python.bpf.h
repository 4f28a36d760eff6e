/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* python.bpf.h - the in-kernel CPython unwinder: thread state lookup,
 * frame walk, first-sight registration of code objects.
 *
 * Every CPython layout fact comes from the per-process struct py_offsets
 * that userspace pushed; nothing here branches on a version number.
 */
#ifndef PYBPF_PYTHON_BPF_H
#define PYBPF_PYTHON_BPF_H

#include "pybpf.h"
#include "maps.bpf.h"
#include "pyframe.h"

/* Every read of the target's memory for a Python stack, counted with -v:
 * what a sample costs is mostly how many of these it makes ("user-memory
 * reads").  Without -v the count is not even loaded: a map look-up per
 * read costs time, and more than doubles the verifier's work. */
const volatile __u32 count_reads = 0;

static __always_inline long uread(void *dst, __u32 len, const void *src)
{
	if (count_reads)
		stat_inc(STAT_READS);
	return bpf_probe_read_user(dst, len, src);
}

/* pythread.h's read primitive: the target's memory, from any context */
typedef int py_rctx_t;
#define PY_READ(rc, dst, len, addr) uread((dst), (len), (void *)(addr))
#include "pythread.h"

#define NEG_CACHE_NS (200ull * 1000 * 1000) /* re-scan threads without a tstate */

/* A per-CPU 4-way set-associative cache of code objects seen, set chosen
 * by address: up to four code objects that share a set all stay (a
 * direct-mapped cache lost ~1 frame in 6 of a 100-deep stack to code
 * objects evicting each other at every sample, a 2-way one up to 1 in 4:
 * allocators place objects of a size at regular strides, which no cheap
 * hash spreads like random addresses).  It is exact: a slot answers only for its whole
 * key.  Symbol
 * ids never change meaning, so a slot left behind by an LRU eviction of
 * `codes` is still right.
 *
 * What a hit costs depends on what tells code objects apart.  From 3.12
 * on, co_version numbers code objects as they are made (an interpreter
 * counter bumped per code object: consecutive values on 3.12, 3.13, 3.14
 * and 3.15 alike), so (address, co_version) names one code object until
 * 2^32 more have been made: the slot's validator is then SLOT_SERIAL |
 * co_version, and a hit needs only the code object's header, which the
 * type check reads anyway.  A co_version of 0 is not trusted.  Before
 * 3.12 there is no such number and the slot holds the full validator
 * (code_validator), which reads the name and line table heads.
 *
 * A hit needs no read of the code object at all while the code-object
 * counter of its process or interpreter is that of the walk that last
 * found it in the slot (walk_gen_tag): on every build that has such a
 * counter, or where pybpf's uprobe counts code objects freed. */
#define CODE_SET_BITS    8
#define CODE_CACHE_WAYS  4
#define CODE_CACHE_SLOTS (CODE_CACHE_WAYS << CODE_SET_BITS) /* 32 KiB a CPU: the most a
							      * per-CPU value can be */
#define SLOT_SERIAL (1ull << 63)
struct code_slot {
	__u64 code_addr;
	__u64 validator;     /* the code_key's, or SLOT_SERIAL | co_version */
	__u64 gen_tag;       /* walk_gen_tag of the walk that last found it, 0 = none */
	__u32 pid;
	__u32 sym_id;
};

struct code_cache {
	struct code_slot slots[CODE_CACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct code_cache);
} code_cache SEC(".maps");

/* Frames are read through a window, a copy of a span of the target's
 * memory that the walk takes frames from until one lies outside it.  A
 * thread's frames (3.11+) live in its data-stack chunks, a caller below
 * its callee: the first frame found in the chunk in use (the thread
 * state's datastack_chunk, which the thread-state read brings along) is
 * copied with everything below it in that chunk -- all the frames of a
 * stack up to ~150 deep -- in one read of up to STACK_COPY bytes (a chunk
 * is at least that big, so the span is mapped).  Frames elsewhere (an
 * older chunk) come with up to FRAME_SPAN bytes of their page below them
 * when the frame read last was in a data stack just above (never below
 * the page, which might be another chunk's edge and unmapped).  A frame
 * object (<= 3.10), a generator's frame or a C-stack shim costs a read
 * of its own header, into the side window: the last SIDE_COPY bytes of
 * the frame window's buffer, which data-stack copies never reach, so a
 * shim or a generator's frame between two data-stack frames leaves the
 * copy of the data stack in place for the caller.  On 3.12 the read of
 * the innermost cframe fills the side window with the C stack around it,
 * where its activation's entry shim sits (the eval loop's locals), so the
 * walk that reaches that shim reads nothing.  Code objects go through a
 * window of their own (load_code). */
#define WIN_PAGE     4096
#define STACK_COPY   PYBPF_CHUNK_MIN /* frame window: its buffer's size */
#define SIDE_COPY    512  /* side window: the end of the frame window's buffer */
#define SIDE_AT      (STACK_COPY - SIDE_COPY)
#define DATA_COPY    SIDE_AT /* frame window: the most of a data stack copied at once */
#define CFRAME_BELOW 128  /* 3.12: side window bytes below the cframe's current_frame */
#define OVER_READS   4    /* frames read past max_depth to check the first entry (walk_step) */
#define FRAME_SPAN   1024 /* frame window: at most this much of the page below */
#define CODE_ALIGN   1024 /* code window: the aligned block a code object starts in */
#define DATASTACK_NEAR (64u * 1024) /* a caller this far below is in the same stack */
#define TS_READ      512  /* span of a thread state read at once */
#define TS_MASK      (TS_READ - 1)

struct scan_state {
	__u64 fsbase;        /* the thread's thread_id */
	__u64 interp;        /* the interpreter whose list is being walked */
	__u64 tstate;        /* cursor in its list, 0 = at its end */
	struct py_pick pick;
	__u32 failed;        /* a thread state could not be read */
	__u32 pad;
};

/* Per-CPU scratch: too big for the 512-byte BPF stack. */
struct walk_scratch {
	__u32 busy;          /* a program on this CPU is using it */
	__u32 pad;
	/* The windows' bounds live here, not in the walk's stack context: a
	 * value loaded from a map is one the verifier does not track from
	 * iteration to iteration of the bpf_loop callback (it would, through
	 * the stack, and never find two iterations' states equal). */
	__u64 win_lo, win_hi;   /* target addresses copied into the frame window */
	__u64 side_lo, side_hi; /* ... into its side window */
	__u64 cwin_lo, cwin_hi; /* ... into cwin */
	/* The walk's own state, here and not in struct walk_ctx for the same
	 * reason: values on the stack that change every iteration (the
	 * depth, the previous code object) are values the verifier tells
	 * states apart by, and it re-checked walk_step for many of them. */
	__u64 frame;            /* next frame to read, 0 = done */
	__u64 hash;             /* running stack hash */
	__u64 last_code;        /* code object of the previous frame ... */
	__u64 gen_tag;          /* walk_gen_tag, 0 = none */
	__u32 last_id;          /* ... and its symbol id */
	__u32 depth;            /* frames recorded */
	__u32 last_in_stack;    /* the frame read last lives in a data stack (3.11+) */
	__u32 unread;           /* frames named without reading their code object */
	__u32 entered;          /* the walk has passed the innermost activation's entry */
	__u32 defer;            /* name frames only if their stack is new (walk_frames) */
	__u32 pending;          /* frames left to name (PYBPF_SYM_PENDING) */
	__u32 name_reads;       /* ... of which name_frames read the code object */
	__u32 name_unknown;     /* name_frames: 1 a frame left unnamed (PYBPF_SYM_UNKNOWN),
				 * 2 a code object unreadable (the sample is dropped) */
	__u32 pad2;
	__u64 id_hash;          /* name_frames: the stack's hash by symbol ids */
	__u64 caller_cframe;    /* 3.11, 3.12: the cframe below the activation walked,
				 * 0 = nothing to check by (walk_from_caller);
				 * CFRAME_UNLINKED from first_frame_w until
				 * walk_frames sees it */
	__u64 caller_frame;     /* ... its current_frame, where that activation's
				 * entry must lead (check_entry) */
	__u64 caller_prev;      /* ... and its previous */
	__u32 restarted;        /* the walk started again from the caller's frame */
	__u32 over;             /* frames passed over past max_depth, to reach the
				 * innermost activation's entry (walk_step) */
	__u32 pad3;
	__u32 stale;            /* no stack to trust: the caller did not link up
				 * either, or the first cframe was unlinked or
				 * unreadable (STAT_EVAL_ENTRY_STALE) */
	__u64 chunk;            /* the data-stack chunk to copy frames from next, 0 = unknown */
	__u64 chunk_prev;       /* ... and the one before it, once it is copied */
	__u64 last_frame;       /* address of the frame read last */
	__u64 base_frame;       /* 3.15+: the frame every chain of the thread ends in,
				 * below its first activation's shim: never read
				 * (0 = unknown) */
	struct scan_state scan; /* find_tstate's scan of the thread lists */
	__u64 entry[PYBPF_ENTRY_WORDS]; /* --native: activation bits (struct native_stack) */
	/* the walked frames, innermost first, contiguous: stored stacks are
	 * cut into chunks from the root end (stackstore.bpf.h) */
	struct frame_rec frames[PYBPF_MAX_DEPTH];
	__u64 codes[PYBPF_MAX_DEPTH]; /* a pending frame's code object (only theirs set) */
	__u8 frame_buf[PYBPF_FRAME_READ + 8];
	__u8 name_buf[PYBPF_NAME_HEAD + 8];
	__u8 hdr_buf[PYBPF_NAME_HEAD + 8];
	__u8 ts_buf[TS_READ + 8]; /* thread state, from ts_lo on (tstate_span) */
	__u8 cwin[WIN_PAGE + PYBPF_CODE_READ + 8]; /* code objects, [cwin_lo, cwin_hi) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_scratch);
} scratch SEC(".maps");

/* The frame window, [win_lo, win_hi) of the target: per-CPU, apart from
 * the scratch (a per-CPU value holds at most 32 KiB). */
struct frame_window {
	__u8 b[STACK_COPY + PYBPF_FRAME_READ + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame_window);
} frame_window SEC(".maps");

struct walk_ctx {
	struct walk_scratch *s;  /* this CPU's scratch, held between walk_begin and walk_end */
	struct frame_window *fw; /* ... and frame window */
	struct code_cache *cache;
	struct proc_info *proc;
	__u64 hash;          /* the walked stack's hash (from s->hash at the end) */
	__u64 tstate;        /* the walked thread's PyThreadState */
	__u32 frame_read;    /* bytes of a frame the walk uses */
	__u32 ts_read;       /* s->ts_buf holds the thread state read by find_tstate_w */
	__u32 code_read;     /* bytes of a code object the walk uses */
	__u32 pid;
	__u32 depth;         /* frames in the walked stack (from s->depth at the end) */
	__u32 max_depth;
	__u32 flags;         /* STACK_* */
	__u32 entries;       /* --native: mark activations in s->entry (enum walk_entries) */
	__u32 defer;         /* the caller counts the stack (count_stack): frames may be
			      * named only if it is new (walk_frames, name_frames) */
	__u32 pad;
	__u64 native_hash;   /* --native: the sample's native_stacks key, 0 = none */
};

/* --native: how the walk tells which Python frame begins an activation of
 * the eval loop (user/native/nativemerge.h); up to 3.10 each frame is one. */
enum walk_entries {
	WALK_ENTRIES_NONE = 0,   /* not asked (Python only), or <= 3.10 */
	WALK_ENTRIES_IS_ENTRY,   /* 3.11: _PyInterpreterFrame.is_entry (frame_is_entry),
				  * a byte the frame read already holds */
	WALK_ENTRIES_SHIM,       /* 3.12+: the frame whose caller is a C-stack shim */
};

static __always_inline void walk_set_entry(struct walk_scratch *s, __u32 i)
{
	s->entry[(i / 64) & (PYBPF_ENTRY_WORDS - 1)] |= 1ull << (i & 63);
}

static __always_inline __u64 mix64(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* A walked stack's hash, ended with its depth and STACK_* flags: the one
 * ending of both its hashes (by code-object address, by symbol id). */
static __always_inline __u64 stack_hash_end(__u64 h, __u32 depth, __u32 flags)
{
	return mix64(h, ((__u64)depth << 32) | flags);
}

static __always_inline __u64 read_u64(__u64 addr)
{
	return py_read_u64(0, addr);
}

/* ---- thread state lookup ------------------------------------------- */

static __always_inline int first_frame(struct proc_info *proc, __u64 tstate, __u64 *frame)
{
	return py_first_frame(0, &proc->off, tstate, frame);
}

/* The scan for a thread's state (pythread.h says which one).  Its
 * changing values live in the per-CPU scratch, as the walk's do (see
 * struct walk_scratch): the loop callback's stack context holds only
 * pointers, which stay the same from step to step. */
struct scan_ctx {
	struct proc_info *proc;
	struct scan_state *st;
};

/* One step of the scan over every interpreter's thread list: one thread
 * state, or at a list's end the move to the next interpreter.  A single
 * loop over both (not a loop per interpreter) is verified once; the loop's
 * bound is the only bound (a count in the context would be a value the
 * verifier tells states apart by, and multiply its work). */
static long scan_step(__u32 i, struct scan_ctx *c)
{
	const struct py_offsets *o = &c->proc->off;
	struct scan_state *st = c->st;
	struct py_tstate_id id;
	__u64 frame;

	if (!st->tstate) {
		st->interp = read_u64(st->interp + o->interp_next);
		if (!st->interp)
			return 1;
		st->tstate = read_u64(st->interp + o->interp_tstate_head);
		return 0;
	}
	if (py_tstate_id(0, o, st->tstate, st->fsbase, &id)) {
		st->failed = 1;
		return 1;
	}
	if (id.thread_id == st->fsbase && py_tstate_live(&id) &&
	    py_pick_add(&st->pick, o, st->tstate, id.status, 0,
			py_pick_wants_frame(&st->pick, o) &&
			first_frame(c->proc, st->tstate, &frame) == 0 && frame))
		return 1;
	st->tstate = read_u64(st->tstate + o->tstate_next);
	return 0;
}

/* Every interpreter's thread list head, mixed into one value: a new
 * thread state is pushed at the head of its list, so this changes when a
 * thread gains one, or an interpreter comes or goes.  0 if unreadable. */
__noinline __u64 lists_sig(struct proc_info *proc)
{
	const struct py_offsets *o;
	__u64 interp, sig = 1;
	int i;

	if (!proc)
		return 0;
	o = &proc->off;
	interp = read_u64(proc->runtime_addr + o->runtime_interp_head);
	if (!interp)
		return 0;
	for (i = 0; i < PYBPF_MAX_INTERPS && interp; i++) {
		sig = (sig ^ interp ^ (read_u64(interp + o->interp_tstate_head) << 1)) *
		      0x9e3779b97f4a7c15ull;
		interp = read_u64(interp + o->interp_next);
	}
	return sig;
}

/* Is the first interpreter's newest thread state this thread's?  A state
 * freed and made again at the same address (a C thread calling in through
 * PyGILState_Ensure, 1000 times a second) leaves the list heads as they
 * were, so a "none" found while the new state had no thread_id yet would
 * otherwise stand. */
static __always_inline int head_is_mine(struct proc_info *proc, __u64 fsbase)
{
	__u64 interp = read_u64(proc->runtime_addr + proc->off.runtime_interp_head);
	__u64 head = interp ? read_u64(interp + proc->off.interp_tstate_head) : 0;

	return head && read_u64(head + proc->off.tstate_thread_id) == fsbase;
}

/* Walk every interpreter's thread list for this thread's state: the
 * thread_id is its pthread_self(), which x86_64 keeps in fsbase.  Never
 * the GIL holder's state: that would give C-busy threads wrong stacks.
 * Of several, py_pick's choice.  *multi: it has more than one.
 * *failed: the lists could not be read, so "not found" proves nothing. */
static __always_inline __u64 scan_threads(struct proc_info *proc, __u64 fsbase, int *failed,
					  __u32 *multi)
{
	const struct py_offsets *o = &proc->off;
	struct scan_ctx c = { .proc = proc };
	struct scan_state *st;
	__u32 zero = 0;
	struct walk_scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	*failed = 1;
	*multi = 0;
	if (!s)
		return 0;
	st = c.st = &s->scan;
	__builtin_memset(st, 0, sizeof(*st));
	st->fsbase = fsbase;
	if (uread(&st->interp, sizeof(st->interp),
		  (void *)(proc->runtime_addr + o->runtime_interp_head))) {
		stat_inc(STAT_ERR_RUNTIME);
		return 0;
	}
	if (!st->interp) {
		/* just started: the interpreter does not exist yet */
		stat_inc(STAT_NOT_READY);
		return 0;
	}
	st->tstate = read_u64(st->interp + o->interp_tstate_head);
	bpf_loop(PYBPF_MAX_THREADS + PYBPF_MAX_INTERPS, scan_step, &c, 0);
	if (st->failed) {
		stat_inc(STAT_ERR_TSTATE);
		return 0;
	}
	if (st->tstate && !py_pick_result(&st->pick))
		stat_inc(STAT_THREAD_SCAN); /* lists longer than the scan */
	*failed = 0;
	*multi = st->pick.multi;
	return py_pick_result(&st->pick);
}

/* A cached thread state whose thread_id is still this thread's: from
 * 3.12 it must not be unbound, and be active, or else be the thread's only
 * state with every thread list as at the scan (a state entered since
 * would be new at a head).  Before 3.12 the thread_id is all there is. */
static __always_inline int cached_ok(struct proc_info *proc, const struct thread_entry *te,
				     __u32 status)
{
	if (proc->off.tstate_status < 0 || (status & PY_TSTATUS_ACTIVE))
		return !(status & PY_TSTATUS_UNBOUND);
	if (status & PY_TSTATUS_UNBOUND)
		return 0;
	return !te->multi && lists_sig(proc) == te->lists_sig;
}

/* Before 3.12 a thread state has no _status, but the GIL holder's current
 * state is a global: when it is this thread's, it is the state in use (a
 * thread inside a subinterpreter holds the GIL with that interpreter's
 * state).  0 when the thread does not hold the GIL, or from 3.12. */
static __always_inline __u64 current_of(struct proc_info *proc, __u64 fsbase)
{
	__u64 cur;

	if (!proc->current_addr)
		return 0;
	cur = read_u64(proc->current_addr);
	return cur && read_u64(cur + proc->off.tstate_thread_id) == fsbase ? cur : 0;
}

/* Before 3.12: the cached state, or the current one if the thread holds
 * the GIL with another (the cache follows it: at the thread's next block,
 * after it released the GIL, the state it last ran is the one kept). */
static __always_inline __u64 follow_current(struct proc_info *proc, struct thread_entry *te,
					    __u64 fsbase)
{
	__u64 cur;

	if (!proc->current_addr)
		return te->tstate;
	cur = read_u64(proc->current_addr);
	if (cur && cur != te->tstate && read_u64(cur + proc->off.tstate_thread_id) == fsbase)
		te->tstate = cur;
	return te->tstate;
}

/* Is the current thread exiting (in do_exit, which sets PF_EXITING
 * first)?  It runs no more Python, and its process's memory may be gone
 * or going (exit_mm), so a walk would only fail to read: such samples
 * are counted apart (STAT_EXITING), not as read failures. */
#define PF_EXITING 0x00000004 /* include/linux/sched.h, unchanged since 2.6 */
static __always_inline int thread_exiting(void)
{
	return bpf_get_current_task_btf()->flags & PF_EXITING;
}

/* tid -> its PyThreadState: the cached one if it is still the thread's
 * (cached_ok); a cached "none" while every thread list is unchanged and
 * the answer young; else a scan.  A scan that failed to read is not
 * cached. */
__noinline __u64 find_tstate(struct proc_info *proc, __u32 tid)
{
	const struct py_offsets *o;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 fsbase = task->thread.fsbase;
	struct thread_entry *te, fresh = {};
	__u64 now = bpf_ktime_get_ns();
	__u32 status = 0;
	int failed;

	if (!proc)
		return 0;
	o = &proc->off;
	te = bpf_map_lookup_elem(&threads, &tid);
	if (te) {
		if (te->tstate && read_u64(te->tstate + o->tstate_thread_id) == fsbase &&
		    (o->tstate_status < 0 ||
		     !uread(&status, sizeof(status), (void *)(te->tstate + o->tstate_status))) &&
		    cached_ok(proc, te, status))
			return follow_current(proc, te, fsbase);
		if (!te->tstate && now - te->scan_ns < NEG_CACHE_NS &&
		    lists_sig(proc) == te->lists_sig && !head_is_mine(proc, fsbase))
			return 0;
	}
	fresh.lists_sig = lists_sig(proc);
	fresh.tstate = current_of(proc, fsbase);
	failed = 0;
	if (!fresh.tstate)
		fresh.tstate = scan_threads(proc, fsbase, &failed, &fresh.multi);
	if (failed)
		return 0;
	fresh.scan_ns = now;
	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	bpf_map_update_elem(&threads, &tid, &fresh, BPF_ANY);
	return fresh.tstate;
}

/* Where the thread state's fields a walk needs (thread_id, _status, the
 * frame or cframe pointer, with a code-object generation the interpreter,
 * and if they fit the data-stack chunk in use and the root cframe's frame
 * pointer and previous) sit: one span, read at once.  (3.15's base frame
 * pointer comes with it when it lies inside: first_frame_w.) */
static __always_inline __u32 tstate_span(const struct py_offsets *o, __u32 *len)
{
	__s32 a = o->tstate_thread_id;
	__s32 b = o->tstate_cframe >= 0 ? o->tstate_cframe : o->tstate_frame;
	__s32 lo = a < b ? a : b, hi = (a > b ? a : b) + 8, c;

	if (o->tstate_status >= 0 && o->tstate_status < lo)
		lo = o->tstate_status;
	if (o->tstate_status + 4 > hi)
		hi = o->tstate_status + 4;
	if (o->interp_code_gen >= 0 && o->tstate_interp < lo)
		lo = o->tstate_interp;
	if (o->interp_code_gen >= 0 && o->tstate_interp + 8 > hi)
		hi = o->tstate_interp + 8;
	c = o->tstate_datastack_chunk;
	if (c >= 0 && (c < lo ? hi - c : c + 8 - lo) <= TS_READ) {
		if (c < lo)
			lo = c;
		if (c + 8 > hi)
			hi = c + 8;
	}
	c = o->tstate_root_cframe + o->cframe_current_frame; /* with previous after it */
	if (o->tstate_root_cframe >= 0 && c >= lo && c + 16 - lo <= TS_READ && c + 16 > hi)
		hi = c + 16;
	*len = lo >= 0 && hi - lo <= TS_READ ? (__u32)(hi - lo) : 0;
	return (__u32)lo;
}

/* find_tstate for a walk: the cached thread state is validated by the
 * same read that fetches its frame pointer (s->ts_buf), so a sample pays
 * one thread-state read, not two. */
static __always_inline __u64 find_tstate_w(struct walk_ctx *w, struct proc_info *proc, __u32 tid)
{
	const struct py_offsets *o = &proc->off;
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_entry *te = bpf_map_lookup_elem(&threads, &tid);
	__u32 len, lo = tstate_span(o, &len), status = 0;

	w->ts_read = 0;
	if (te && te->tstate && len) {
		len &= 2 * TS_READ - 1;
		if (len > TS_READ)
			len = TS_READ;
		if (!uread(w->s->ts_buf, len, (void *)(te->tstate + lo)) &&
		    buf_u64(w->s->ts_buf, o->tstate_thread_id - (__s32)lo, TS_MASK) ==
		    task->thread.fsbase) {
			if (o->tstate_status >= 0)
				status = (__u32)buf_u64(w->s->ts_buf, o->tstate_status - (__s32)lo,
							TS_MASK);
			if (cached_ok(proc, te, status)) {
				__u64 tstate = te->tstate;

				if (follow_current(proc, te, task->thread.fsbase) != tstate)
					return te->tstate; /* another state: ts_buf is not its */
				w->ts_read = 1;
				return tstate;
			}
		}
	}
	return find_tstate(proc, tid);
}

/* A cframe whose previous is not set: it is no root cframe (whose previous
 * is NULL), so it is one being entered and the sample has no stack to
 * trust (walk_frames); never a pointer. */
#define CFRAME_UNLINKED 1

/* The innermost cframe's current_frame and previous (at addr) into cf,
 * 3.12: with the C stack around them, the side window (the eval loop's
 * locals, its entry shim among them) when that is readable, else alone.
 * 0, or -1 if unreadable. */
static __always_inline int side_read_cframe(struct walk_ctx *w, const struct py_offsets *o,
					    __u64 addr, __u64 *cf)
{
	struct walk_scratch *s = w->s;
	__u64 lo = addr - CFRAME_BELOW;

	if (o->frame_is_entry >= 0 || /* 3.11: no shims to find there */
	    uread(w->fw->b + SIDE_AT, SIDE_COPY, (void *)lo))
		return uread(cf, 16, (void *)addr) ? -1 : 0;
	s->side_lo = lo;
	s->side_hi = lo + SIDE_COPY;
	cf[0] = *(__u64 *)(w->fw->b + SIDE_AT + CFRAME_BELOW);
	cf[1] = *(__u64 *)(w->fw->b + SIDE_AT + CFRAME_BELOW + 8);
	return 0;
}

/* first_frame, from the thread state copy find_tstate_w made if any,
 * with (3.15+) the base frame's address from the same copy (s->base_frame);
 * on 3.11 and 3.12 also, in the same read of the cframe, its previous: the
 * caller's (*caller, 0 = none, or CFRAME_UNLINKED; walk_from_caller). */
static __always_inline int first_frame_w(struct walk_ctx *w, struct proc_info *proc,
					 __u64 tstate, __u64 *frame, __u64 *caller)
{
	const struct py_offsets *o = &proc->off;
	__u32 len, lo = tstate_span(o, &len);
	__u64 cframe, cf[2];

	*caller = 0;
	w->s->base_frame = 0;
	if (o->tstate_cframe < 0) {
		if (!w->ts_read)
			return first_frame(proc, tstate, frame);
		*frame = buf_u64(w->s->ts_buf, o->tstate_frame - (__s32)lo, TS_MASK);
		if (o->tstate_base_frame >= (__s32)lo && o->tstate_base_frame + 8 <= (__s32)(lo + len))
			w->s->base_frame = buf_u64(w->s->ts_buf, o->tstate_base_frame - (__s32)lo,
						   TS_MASK);
		return 0;
	}
	*frame = 0;
	if (w->ts_read)
		cframe = buf_u64(w->s->ts_buf, o->tstate_cframe - (__s32)lo, TS_MASK);
	else if (uread(&cframe, sizeof(cframe), (void *)(tstate + o->tstate_cframe)))
		return -1;
	if (!cframe)
		return 0;
	if (o->cframe_previous != o->cframe_current_frame + 8)
		return uread(frame, sizeof(*frame),
			     (void *)(cframe + o->cframe_current_frame)) ? -1 : 0;
	if (side_read_cframe(w, o, cframe + o->cframe_current_frame, cf))
		return -1;
	*frame = cf[0];
	*caller = cf[1];
	if (!cf[1] && o->tstate_root_cframe >= 0 && cframe != tstate + o->tstate_root_cframe)
		*caller = CFRAME_UNLINKED;
	return 0;
}

/* A tag for what the walk may assume of code objects seen before.  A
 * code object can take the address of a freed one only after a counter
 * moved: on 3.12 and 3.13 the one new code objects are numbered from
 * (co_version; process-wide on 3.12, the interpreter's on 3.13), on 3.14+
 * the interpreter's count of code objects freed (code_dealloc bumps it
 * before the memory can be reused), and before 3.12 (or on a 3.12 whose
 * counter has no symbol) the count of frees pybpf's own uprobe on
 * PyCode_Type's tp_dealloc keeps in the procs record (code_free_probe:
 * a map value, so reading it is no read of the target).  So a cache slot
 * last found by a walk that began with the same (interpreter, counter)
 * still describes the code object at its address: the header read then
 * was of this very object, and none has been made (or freed) since.  A
 * frame only runs its own interpreter's code objects, whose counter is the
 * one read.  0: no counter (no probe either), unreadable, or a 3.12/3.13
 * counter stuck at 0 (it stops there when it wraps). */
static __always_inline __u64 walk_gen_tag(struct walk_ctx *w, struct proc_info *proc,
					  __u64 tstate)
{
	const struct py_offsets *o = &proc->off;
	__u32 len, lo = tstate_span(o, &len);
	__u64 interp = 0, addr = proc->code_gen_addr, gen = 0;

	if (proc->code_free_probe)
		/* the epoch tells this process (and this push) apart */
		return mix64(0x9e3779b97f4a7c15ull, *(volatile __u64 *)&proc->code_frees) ?: 1;
	if (!addr) {
		if (o->interp_code_gen < 0)
			return 0;
		interp = w->ts_read ?
			 buf_u64(w->s->ts_buf, o->tstate_interp - (__s32)lo, TS_MASK) :
			 read_u64(tstate + o->tstate_interp);
		if (!interp)
			return 0;
		addr = interp + o->interp_code_gen;
	}
	if (proc->code_gen_size == 4) {
		if (uread(&gen, 4, (void *)addr) || !gen)
			return 0;
	} else if (uread(&gen, 8, (void *)addr)) {
		return 0;
	}
	return mix64(mix64(0x9e3779b97f4a7c15ull, interp), gen) ?: 1;
}

/* Does tstate hold the GIL?  locked && last_holder == tstate, from
 * _PyRuntime.ceval.gil (3.7-3.11) or interp->ceval.gil (3.12+, gh-104210);
 * without a locked flag (gil_locked < 0: 2.7, 3.6, where gil_addr is
 * &_PyThreadState_Current, NULL while the GIL is free) the holder alone. */
static __always_inline int holds_gil(struct proc_info *proc, __u64 tstate)
{
	const struct py_offsets *o = &proc->off;
	__u64 gil = proc->gil_addr;

	if (!gil && o->interp_gil >= 0)
		gil = read_u64(read_u64(tstate + o->tstate_interp) + o->interp_gil);
	return gil && py_gil_holder(0, o, gil) == tstate;
}

/* ---- first sight of a code object ------------------------------------ */

static __always_inline __u32 read_str_blob(__u8 *dst, __u32 max, __u8 *head,
					  __u64 addr, const struct py_offsets *o)
{
	__u32 size;

	if (!addr || uread(head, PYBPF_NAME_HEAD, (void *)addr))
		return 0;
	size = pystr_size(o, head, max);
	if (uread(dst, size, (void *)addr))
		return 0;
	return size;
}

/* Copy name, filename and line table while the code object is pinned by
 * a live frame, and send them to userspace; returns the new symbol id. */
static __noinline __u32 register_code(struct walk_ctx *w, const __u8 *cb, __u64 code,
				       __u64 validator)
{
	const struct py_offsets *o = &w->proc->off;
	struct walk_scratch *s = w->s;
	struct code_key key = { .pid = w->pid, .code_addr = code, .validator = validator };
	struct code_event *ev;
	__u64 name, file, lines, total;
	__u32 id, size, *old;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(STAT_LOST_EVENTS);
		return PYBPF_SYM_UNKNOWN;
	}
	name = pycode_name(o, cb);
	file = buf_u64(cb, o->code_filename, CODE_MASK);
	lines = buf_u64(cb, o->code_linetable, CODE_MASK);

	ev->pid = w->pid;
	ev->code_addr = code;
	ev->firstlineno = (__s32)buf_u32(cb, o->code_firstlineno, CODE_MASK);
	ev->name_len = read_str_blob(ev->name, PYBPF_NAME_BLOB, s->hdr_buf, name, o);
	ev->file_len = read_str_blob(ev->file, PYBPF_FILE_BLOB, s->hdr_buf, file, o);
	ev->lines_len = 0;
	ev->lines_total = 0;
	if (lines && !uread(s->hdr_buf, PYBPF_NAME_HEAD, (void *)lines)) {
		size = pybytes_size(o, s->hdr_buf, PYBPF_LINES_BLOB, &total);
		if (size && !uread(ev->lines, size, (void *)lines)) {
			ev->lines_len = size;
			ev->lines_total = total;
		}
	}
	if (!ev->name_len || !ev->file_len || !ev->lines_len)
		stat_inc(STAT_ERR_SYMBOL);

	id = __sync_fetch_and_add(&next_sym_id, 1);
	ev->sym_id = id;
	if (bpf_map_update_elem(&codes, &key, &id, BPF_NOEXIST)) {
		/* another CPU registered it first, or the map refused */
		bpf_ringbuf_discard(ev, 0);
		old = bpf_map_lookup_elem(&codes, &key);
		if (old)
			return *old;
		stat_inc(STAT_LOST_CODES);
		return PYBPF_SYM_UNKNOWN;
	}
	bpf_ringbuf_submit(ev, 0);
	return id;
}

/* ---- the frame walk ------------------------------------------------- */

/* Identity of a code object beyond its address, so that a freed code
 * object replaced at the same address by another -- whose name, file and
 * line table may reuse the old ones' addresses -- is told apart: the
 * pointers it holds, its first line, the head of its name (length, cached
 * hash, first characters), and its creation number (co_version, 3.12+)
 * or, before 3.12, the head of its line table (a module reloaded with a
 * function's body moved down has the same bytecode and name, not the same
 * line table). */
static __always_inline __u64 code_validator(struct walk_ctx *w, const __u8 *cb, __u64 name)
{
	const struct py_offsets *o = &w->proc->off;
	struct walk_scratch *s = w->s;
	__u64 v, lines;

	lines = buf_u64(cb, o->code_linetable, CODE_MASK);
	v = mix64(name, buf_u64(cb, o->code_filename, CODE_MASK));
	v = mix64(v, lines);
	v = mix64(v, buf_u32(cb, o->code_firstlineno, CODE_MASK));
	if (o->code_version >= 0)
		v = mix64(v, buf_u32(cb, o->code_version, CODE_MASK));
	else if (!uread(s->hdr_buf, PYBPF_NAME_HEAD, (void *)lines))
		/* size and the first 24 bytes of the table */
		v = mix64(mix64(mix64(mix64(v, buf_u64(s->hdr_buf, o->bytes_size, HEAD_MASK)),
				      buf_u64(s->hdr_buf, o->bytes_data, HEAD_MASK)),
				buf_u64(s->hdr_buf, o->bytes_data + 8, HEAD_MASK)),
			  buf_u64(s->hdr_buf, o->bytes_data + 16, HEAD_MASK));
	if (uread(s->name_buf, PYBPF_NAME_HEAD, (void *)name)) {
		stat_inc(STAT_ERR_NAME);
		return v;
	}
	v = mix64(v, buf_u64(s->name_buf, o->unicode_length, HEAD_MASK));
	v = mix64(v, buf_u64(s->name_buf, o->unicode_hash, HEAD_MASK));
	v = mix64(v, buf_u64(s->name_buf, o->unicode_ascii_size, HEAD_MASK));
	v = mix64(v, buf_u64(s->name_buf, o->unicode_ascii_size + 8, HEAD_MASK));
	return v;
}

/* The cache set for the code object at code: the top bits of a
 * multiplicative hash of its address (objects are 16-byte aligned) and
 * pid; its CODE_CACHE_WAYS slots follow each other. */
static __always_inline struct code_slot *code_set_of(struct walk_ctx *w, __u64 code)
{
	__u64 h = ((code >> 4) ^ ((__u64)w->pid << 44)) * 0x9e3779b97f4a7c15ull;

	return &w->cache->slots[((h >> (64 - CODE_SET_BITS)) * CODE_CACHE_WAYS) &
				(CODE_CACHE_SLOTS - CODE_CACHE_WAYS)];
}

/* The slot of the set that holds pid's code object at code, or NULL. */
static __always_inline struct code_slot *code_way(struct code_slot *set, __u64 code, __u32 pid)
{
	int i;

#pragma unroll
	for (i = 0; i < CODE_CACHE_WAYS; i++)
		if (set[i].code_addr == code && set[i].pid == pid)
			return &set[i];
	return NULL;
}

/* The slot to fill for pid's code object at code: the one that holds
 * that address already (an object since replaced there), else the first,
 * the others moving down one (the set keeps the newest four). */
static __always_inline struct code_slot *code_fill_way(struct code_slot *set, __u64 code,
						       __u32 pid)
{
	struct code_slot *slot = code_way(set, code, pid);
	int i;

	if (slot)
		return slot;
#pragma unroll
	for (i = CODE_CACHE_WAYS - 1; i > 0; i--)
		set[i] = set[i - 1];
	return &set[0];
}

/* The symbol id of the code object whose header is at cb (in s->cwin).
 * A cache hit on (address, co_version) (3.12+) reads nothing more;
 * anything else computes the full validator and asks `codes`,
 * registering the code object on first sight.  The slot found or filled
 * takes the walk's generation tag. */
static __always_inline __u32 code_symbol(struct walk_ctx *w, __u64 code, const __u8 *cb)
{
	const struct py_offsets *o = &w->proc->off;
	struct code_key key = { .pid = w->pid, .code_addr = code };
	struct code_slot *set = code_set_of(w, code), *slot = code_way(set, code, w->pid);
	__u64 serial = 0;
	__u32 *sym, id;

	if (o->code_version >= 0) {
		serial = buf_u32(cb, o->code_version, CODE_MASK);
		if (serial)
			serial |= SLOT_SERIAL;
		if (serial && slot && slot->validator == serial)
			goto hit;
	}
	key.validator = code_validator(w, cb, pycode_name(o, cb));
	if (!serial && slot && slot->validator == key.validator)
		goto hit;
	sym = bpf_map_lookup_elem(&codes, &key);
	id = sym ? *sym : register_code(w, cb, code, key.validator);
	if (id >= PYBPF_SYM_FIRST) {
		slot = code_fill_way(set, code, w->pid);
		slot->code_addr = code;
		slot->validator = serial ?: key.validator;
		slot->pid = w->pid;
		slot->sym_id = id;
		slot->gen_tag = w->s->gen_tag;
	}
	return id;
hit:
	slot->gen_tag = w->s->gen_tag;
	return slot->sym_id;
}

/* The code object at addr, from the code window if it holds it, else
 * after copying the CODE_ALIGN-aligned block it starts in (and its end,
 * if it runs past) into the window: code objects made together -- a
 * module's, as it is compiled or unmarshalled -- tend to be neighbours
 * (pymalloc pools group objects of a size), so one copy often serves
 * several frames.  The block never leaves the object's page, so it is
 * mapped; a failed read still falls back to the object alone.  NULL if
 * unreadable. */
static __always_inline const __u8 *load_code(struct walk_ctx *w, __u64 addr)
{
	struct walk_scratch *s = w->s;
	__u32 cr = w->code_read & (2 * PYBPF_CODE_READ - 1);
	__u64 lo = addr & ~(__u64)(CODE_ALIGN - 1), n;

	if (cr > PYBPF_CODE_READ)
		cr = PYBPF_CODE_READ;
	if (addr >= s->cwin_lo && addr + cr <= s->cwin_hi)
		goto have;
	n = addr + cr - lo;
	if (n < CODE_ALIGN)
		n = CODE_ALIGN;
	if (n > WIN_PAGE + PYBPF_CODE_READ)
		n = WIN_PAGE + PYBPF_CODE_READ;
	if (uread(s->cwin, n, (void *)lo)) {
		if (uread(s->cwin, cr, (void *)addr))
			return NULL;
		lo = addr;
		n = cr;
	}
	s->cwin_lo = lo;
	s->cwin_hi = lo + n;
have:
	return s->cwin + ((addr - s->cwin_lo) & (WIN_PAGE - 1));
}

/* Start of the bytecode the frame runs (pyframe_bytecode); 0 if unreadable. */
static __always_inline __u64 bytecode_base(struct walk_ctx *w, const __u8 *fb, __u64 code)
{
	const struct py_offsets *o = &w->proc->off;
	const __u8 *cb;
	__u64 base, slot;

	if (pyframe_tlbc_index(o, fb) == 0 || o->code_tlbc < 0)
		return code + o->code_adaptive; /* without a code window load */
	cb = load_code(w, code);
	if (!cb)
		return 0;
	base = pyframe_bytecode(o, fb, cb, code, &slot);
	return slot ? read_u64(slot) : base;
}

/* How code_id named a code object. */
enum code_id_how {
	CODE_ID_CACHED,     /* from the code cache, with no read of the target */
	CODE_ID_READ,       /* its header read (and registered on first sight) */
	CODE_ID_NOT_CODE,   /* 3.13+: f_executable may be something else: *id NOT_CODE */
	CODE_ID_UNREADABLE, /* the object could not be read */
};

/* The symbol id of the code object at code (*id) -- from the code cache
 * if a walk with this walk's generation tag found it there (no code
 * object freed or made since), else from its header -- and how. */
static __always_inline enum code_id_how code_id(struct walk_ctx *w, __u64 code, __u32 *id)
{
	struct walk_scratch *s = w->s;
	struct code_slot *slot = code_way(code_set_of(w, code), code, w->pid);
	const __u8 *cb;

	if (slot && s->gen_tag && slot->gen_tag == s->gen_tag) {
		*id = slot->sym_id;
		return CODE_ID_CACHED;
	}
	cb = load_code(w, code);
	if (!cb)
		return CODE_ID_UNREADABLE;
	if (!pycode_is_code(&w->proc->off, cb, w->proc->code_type_addr)) {
		*id = PYBPF_SYM_NOT_CODE;
		return CODE_ID_NOT_CODE;
	}
	*id = code_symbol(w, code, cb);
	return CODE_ID_READ;
}

/* The thread state's 8-byte field at off (*v), from the copy
 * find_tstate_w made if that holds it (tstate_span); 0 if not. */
static __always_inline int ts_copied(struct walk_ctx *w, struct proc_info *proc, __s32 off,
				     __u64 *v)
{
	__u32 len, lo = tstate_span(&proc->off, &len);
	__s32 at = off - (__s32)lo;

	if (!w->ts_read || off < 0 || at < 0 || at + 8 > (__s32)len)
		return 0;
	*v = buf_u64(w->s->ts_buf, at, TS_MASK);
	return 1;
}

/* The thread's data-stack chunk in use (3.11+), if the thread-state read
 * brought it (tstate_span); 0 otherwise. */
static __always_inline __u64 datastack_chunk(struct walk_ctx *w, struct proc_info *proc)
{
	__u64 chunk;

	return ts_copied(w, proc, proc->off.tstate_datastack_chunk, &chunk) ? chunk : 0;
}

/* Does the data-stack chunk at base hold the frame at addr, within the
 * span one read copies from the chunk's start? */
static __always_inline int in_chunk(__u64 base, __u64 addr, __u32 fr)
{
	return base && addr >= base + PYBPF_CHUNK_DATA && addr + fr - base <= DATA_COPY;
}

/* Does the window or the side window hold the frame at addr? */
static __always_inline int in_windows(struct walk_ctx *w, __u64 addr)
{
	struct walk_scratch *s = w->s;
	__u32 fr = w->frame_read < PYBPF_FRAME_READ ? w->frame_read : PYBPF_FRAME_READ;

	return (addr >= s->win_lo && addr + fr <= s->win_hi) ||
	       (addr >= s->side_lo && addr + fr <= s->side_hi);
}

/* The frame at addr, from the window or the side window if one holds it,
 * else after copying it into the window: with everything below it in its
 * data-stack chunk (the one in use, or the one before it, whose address
 * the copy of the first brings) if it lies there, else with up to
 * FRAME_SPAN bytes of its page below it when the frame read last was in a
 * data stack just above, where callers sit; else (a shim, a generator's
 * frame) alone, into the side window.  A window read that fails falls
 * back to the frame alone; NULL if that fails too. */
static __always_inline const __u8 *load_frame(struct walk_ctx *w, __u64 addr)
{
	struct walk_scratch *s = w->s;
	__u32 fr = w->frame_read & (2 * PYBPF_FRAME_READ - 1);
	__u64 lo = addr, n;

	if (fr > PYBPF_FRAME_READ)
		fr = PYBPF_FRAME_READ;

	if (addr >= s->win_lo && addr + fr <= s->win_hi)
		goto have;
	if (addr >= s->side_lo && addr + fr <= s->side_hi)
		goto side;
	if (s->chunk_prev && !in_chunk(s->chunk, addr, fr) && in_chunk(s->chunk_prev, addr, fr)) {
		/* past the chunk in use's first frame: into the one before */
		s->chunk = s->chunk_prev;
		s->chunk_prev = 0;
	}
	if (in_chunk(s->chunk, addr, fr)) {
		lo = s->chunk;
	} else if (s->last_in_stack && addr < s->last_frame &&
		   s->last_frame - addr < DATASTACK_NEAR) {
		lo = addr & ~(__u64)(WIN_PAGE - 1);
		if (addr + fr - lo > FRAME_SPAN)
			lo = addr + fr - FRAME_SPAN;
	} else {
		if (uread(w->fw->b + SIDE_AT, fr, (void *)addr))
			return NULL;
		s->side_lo = addr;
		s->side_hi = addr + fr;
		goto side;
	}
	n = addr + fr - lo;
	if (n > DATA_COPY)
		n = DATA_COPY;
	if (uread(w->fw->b, n, (void *)lo)) {
		if (lo == addr || uread(w->fw->b, fr, (void *)addr))
			return NULL;
		lo = addr;
		n = fr;
	}
	if (lo == s->chunk && n >= 8)
		s->chunk_prev = *(__u64 *)w->fw->b; /* the chunk header's previous */
	s->win_lo = lo;
	s->win_hi = lo + n;
have:
	return w->fw->b + ((addr - s->win_lo) & (STACK_COPY - 1));
side:
	return w->fw->b + ((SIDE_AT + addr - s->side_lo) & (STACK_COPY - 1));
}

#define WALK_HASH_SEED 0x9e3779b97f4a7c15ull

/* 3.11, 3.12: a C function entering the eval loop points tstate->cframe
 * at its new cframe before it sets that cframe's current_frame and
 * previous (3.11.7 stores both last, in one 16-byte store), and on 3.12
 * before it links its entry shim to the caller's frame.  A sample in
 * those few instructions finds stale values there: a frame of an
 * activation since gone (on 3.12 often this activation's own entry shim),
 * or garbage, and a "caller" that may be stale too.
 *
 * So each activation's walk is checked by links: its entry -- the shim on
 * 3.12, the is_entry frame on 3.11 -- must lead to the frame pointer of
 * the cframe below it (s->caller_cframe; s->caller_frame and
 * s->caller_prev are that cframe's current_frame and previous).  A walk
 * of the innermost activation that fails to read, ends, or meets an entry
 * that leads elsewhere starts again -- once -- from the caller's frame:
 * the stack the new activation is being called from, which must in turn
 * link up to the cframe below the caller.  If that fails too, the
 * caller was stale as well, and the sample is not counted (s->stale:
 * STAT_EVAL_ENTRY_STALE), rather than shown with a made-up stack.  No
 * code object need be read to trust a frame (frames are named later:
 * name_frames). */

/* cframe's current_frame and previous into s->caller_frame and
 * s->caller_prev.  -1 if unreadable. */
static __always_inline int load_caller(struct walk_ctx *w, __u64 cframe)
{
	struct walk_scratch *s = w->s;
	__u64 cf[2];

	if (uread(cf, sizeof(cf), (void *)(cframe + w->proc->off.cframe_current_frame)))
		return -1;
	s->caller_frame = cf[0];
	s->caller_prev = cf[1];
	return 0;
}

/* load_caller for the innermost activation's caller: a thread's first
 * activation's is the root cframe, in the thread-state copy already. */
static __always_inline int load_first_caller(struct walk_ctx *w, struct proc_info *proc,
					     __u64 tstate)
{
	struct walk_scratch *s = w->s;
	__s32 at = proc->off.tstate_root_cframe + proc->off.cframe_current_frame;

	if (proc->off.tstate_root_cframe >= 0 &&
	    s->caller_cframe == tstate + proc->off.tstate_root_cframe &&
	    ts_copied(w, proc, at, &s->caller_frame) && ts_copied(w, proc, at + 8, &s->caller_prev))
		return 0;
	return load_caller(w, s->caller_cframe);
}

/* The activation being walked does not link up: start again from the
 * caller's frame (1), or, if this already is the caller's walk, give the
 * sample up (0, s->stale): the caller was stale too.  0 too when there is
 * nothing to check by. */
static __always_inline int walk_from_caller(struct walk_ctx *w)
{
	struct walk_scratch *s = w->s;
	__u64 below;

	if (s->entered)
		return 0;
	if (s->restarted) {
		s->stale = 1;
		return 0;
	}
	if (!s->caller_cframe)
		return 0;
	s->restarted = 1;
	s->frame = s->caller_frame;
	below = s->caller_prev;
	/* the caller's own caller, to check the caller's walk by: only the
	 * root cframe has no previous, and it has no frame; a cframe that
	 * cannot be read is no live one */
	if ((!below && s->frame) || (below && load_caller(w, below))) {
		s->stale = 1;
		return 0;
	}
	s->caller_cframe = below;
	s->hash = WALK_HASH_SEED;
	s->depth = 0;
	s->over = 0;
	s->last_code = 0;
	s->last_id = 0;
	s->unread = 0;
	s->pending = 0;
	if (w->entries)
		__builtin_memset(s->entry, 0, sizeof(s->entry));
	stat_inc(STAT_EVAL_ENTRY);
	return 1;
}

/* An activation's entry has been reached, and next is where it leads.
 * The innermost activation's (the first entry met) must lead to the
 * caller's frame: 0 if it does, or if there is nothing to check by, and
 * the walk has now entered; 1 if the walk started again from the caller's,
 * -1 if it gives up.  Entries met after the first are not checked (0). */
static __always_inline int check_entry(struct walk_ctx *w, __u64 next)
{
	struct walk_scratch *s = w->s;

	if (s->entered)
		return 0;
	if (s->caller_cframe && next != s->caller_frame)
		return walk_from_caller(w) ? 1 : -1;
	s->entered = 1;
	return 0;
}

static long walk_step(__u32 i, struct walk_ctx *w)
{
	struct proc_info *proc = w->proc;
	const struct py_offsets *o = &proc->off;
	struct walk_scratch *s = w->s;
	struct frame_rec *rec;
	const __u8 *fb;
	__u64 frame = s->frame, code;
	__u32 id, lasti, idx;
	int r;

	if (!frame) /* no entry met: the frame pointer was stale */
		return walk_from_caller(w) ? 0 : 1;
	/* Past max_depth with the innermost activation's entry not yet
	 * checked (3.11, 3.12): go on, recording nothing, to check it, so a
	 * stale frame pointer is not shown as a truncated stack: through the
	 * frames already copied, and OVER_READS frames more (a stale pointer
	 * shows within a frame or two; a deep activation then stops unchecked,
	 * as it did before). */
	if (s->depth >= w->max_depth &&
	    (s->entered || !s->caller_cframe || (s->over >= OVER_READS && !in_windows(w, frame))))
		return 1;
	fb = load_frame(w, frame);
	if (!fb) {
		if (walk_from_caller(w))
			return 0;
		if (!s->stale)
			stat_inc(STAT_ERR_FRAME);
		return 1;
	}
	s->frame = pyframe_back(o, fb);
	if (s->frame == frame) { /* a frame its own caller: garbage */
		if (walk_from_caller(w))
			return 0;
		if (!s->stale)
			stat_inc(STAT_ERR_FRAME);
		return 1;
	}
	s->last_frame = frame;
	/* owner 0, FRAME_OWNED_BY_THREAD (3.11+): a frame in the data stack */
	s->last_in_stack = o->frame_owner >= 0 && !fb[(__u32)o->frame_owner & FRAME_MASK];
	if (pyframe_is_shim(o, fb)) {
		if (s->frame == s->base_frame) /* 3.15+: it runs nothing, ends the chain */
			s->frame = 0;
		r = check_entry(w, s->frame);
		if (r) /* restarted from the caller: go on; gave up: stop */
			return r < 0;
		if (s->depth && w->entries == WALK_ENTRIES_SHIM)
			walk_set_entry(s, s->depth - 1);
		return 0;
	}
	if (o->frame_is_entry >= 0 && fb[(__u32)o->frame_is_entry & FRAME_MASK]) {
		r = check_entry(w, s->frame); /* 3.11: an activation's first frame */
		if (r)
			return r < 0;
	}
	if (s->depth >= w->max_depth) { /* passed over (above) */
		s->over++;
		return 0;
	}

	code = pyframe_code(o, fb);
	if (code && code == s->last_code) {
		/* recursion: every frame of one walk is alive at once, so the
		 * same address is the same code object */
		id = s->last_id;
		s->unread++;
		lasti = id == PYBPF_SYM_NOT_CODE ? PYBPF_LASTI_NONE :
			pyframe_lasti(o, fb, bytecode_base(w, fb, code));
		goto record;
	}
	if (!code && o->tstate_cframe < 0) /* 3.13+: a frame that runs nothing */
		return 0;
	if (code < WIN_PAGE || (code & 7)) { /* no object's address: garbage */
		if (walk_from_caller(w))
			return 0;
		if (!s->stale)
			stat_inc(STAT_ERR_CODE);
		return 1;
	}
	if (s->defer) {
		/* named later, and only if the stack is new (name_frames) */
		id = PYBPF_SYM_PENDING;
		s->unread++;
		lasti = pyframe_lasti(o, fb, bytecode_base(w, fb, code));
		goto seen;
	}
	switch (code_id(w, code, &id)) {
	case CODE_ID_CACHED:
		s->unread++;
		break;
	case CODE_ID_READ:
		break;
	case CODE_ID_UNREADABLE:
		if (walk_from_caller(w))
			return 0;
		if (!s->stale)
			stat_inc(STAT_ERR_CODE);
		return 1;
	case CODE_ID_NOT_CODE:
		if (walk_from_caller(w))
			return 0;
		if (s->stale)
			return 1;
		lasti = PYBPF_LASTI_NONE;
		goto seen;
	}
	lasti = pyframe_lasti(o, fb, bytecode_base(w, fb, code));
seen:
	s->last_code = code;
	s->last_id = id;
record:
	idx = s->depth;
	rec = &s->frames[idx & (PYBPF_MAX_DEPTH - 1)];
	rec->sym_id = id;
	rec->lasti = lasti;
	if (id == PYBPF_SYM_PENDING) {
		s->codes[idx & (PYBPF_MAX_DEPTH - 1)] = code;
		s->pending++;
		s->hash = mix64(s->hash, ((code >> 4) << 21) ^ lasti);
	} else {
		s->hash = mix64(s->hash, ((__u64)id << 32) | lasti);
	}
	if (w->entries == WALK_ENTRIES_IS_ENTRY && o->frame_is_entry >= 0 &&
	    fb[(__u32)o->frame_is_entry & FRAME_MASK])
		walk_set_entry(s, idx); /* 3.11: an activation's first frame */
	s->depth++;
	return 0;
}

/* Frames visited per walk: max_depth Python frames plus a shim or entry
 * frame for each (C calling Python), so shims never eat the depth. */
#define PYBPF_WALK_STEPS (2 * PYBPF_MAX_DEPTH + 64)

/* Walk tstate's frames into w (w->s and w->cache set by the caller): the
 * one walk every program uses.  -1 if the thread state was unreadable;
 * a stack with frames left past the depth limit, or cut by a failed read,
 * is marked truncated. */
static __always_inline int walk_frames(struct walk_ctx *w, struct proc_info *proc, __u32 pid,
				       __u64 tstate)
{
	struct walk_scratch *s = w->s;

	w->proc = proc;
	w->pid = pid;
	w->tstate = tstate;
	w->max_depth = proc->max_depth < PYBPF_MAX_DEPTH ? proc->max_depth : PYBPF_MAX_DEPTH;
	w->frame_read = proc->frame_read < PYBPF_FRAME_READ ? proc->frame_read : PYBPF_FRAME_READ;
	w->code_read = proc->code_read < PYBPF_CODE_READ ? proc->code_read : PYBPF_CODE_READ;
	s->win_lo = s->win_hi = 0;
	s->side_lo = s->side_hi = 0;
	s->cwin_lo = s->cwin_hi = 0;
	s->hash = WALK_HASH_SEED;
	s->depth = 0;
	s->last_code = 0;
	s->last_id = 0;
	s->last_in_stack = 0;
	s->unread = 0;
	s->chunk = s->chunk_prev = 0;
	s->entered = 0;
	s->pending = 0;
	if (w->entries)
		__builtin_memset(s->entry, 0, sizeof(s->entry));
	if (first_frame_w(w, proc, tstate, &s->frame, &s->caller_cframe)) {
		stat_inc(STAT_ERR_TSTATE);
		return -1;
	}
	s->restarted = 0;
	s->over = 0;
	s->stale = s->caller_cframe == CFRAME_UNLINKED;
	/* a live cframe is readable: one that is not is stale */
	if (s->caller_cframe && !s->stale && load_first_caller(w, proc, tstate))
		s->stale = 1;
	if (s->stale) {
		stat_inc(STAT_EVAL_ENTRY_STALE);
		return -1;
	}
	if (!s->frame)
		walk_from_caller(w); /* a new activation's cframe, not filled in yet */
	s->gen_tag = s->frame ? walk_gen_tag(w, proc, tstate) : 0;
	/* a code object's address names it while the generation tag holds:
	 * a stack of addresses stored (and named) before under the same tag
	 * is the same stack, so only a new one needs its frames named */
	s->defer = w->defer && s->gen_tag;
	s->chunk = datastack_chunk(w, proc);
	bpf_loop(PYBPF_WALK_STEPS, walk_step, w, 0);
	if (s->stale) {
		stat_inc(STAT_EVAL_ENTRY_STALE);
		return -1;
	}
	stat_add(STAT_FRAMES, s->depth);
	stat_add(STAT_CODE_UNREAD, s->unread);
	if (s->frame || s->over)
		w->flags |= STACK_TRUNCATED;
	if (s->pending) /* addresses name code objects of this process, under this tag */
		s->hash = mix64(mix64(s->hash, s->gen_tag), pid);
	w->hash = s->hash;
	w->depth = s->depth;
	return 0;
}

/* One frame of name_frames: a pending frame gets its symbol id. */
static long name_step(__u32 i, struct walk_ctx *w)
{
	struct walk_scratch *s = w->s;
	struct frame_rec *rec = &s->frames[i & (PYBPF_MAX_DEPTH - 1)];
	__u64 code = 0;
	__u32 id;

	if (i >= s->depth)
		return 1;
	if (rec->sym_id == PYBPF_SYM_PENDING)
		code = s->codes[i & (PYBPF_MAX_DEPTH - 1)];
	if (code && code == s->last_code) {
		rec->sym_id = s->last_id; /* recursion */
	} else if (code) {
		switch (code_id(w, code, &id)) {
		case CODE_ID_CACHED:
			break;
		case CODE_ID_UNREADABLE:
			stat_inc(STAT_ERR_CODE);
			s->name_unknown = 2;
			return 1;
		default:
			s->name_reads++;
		}
		rec->sym_id = id;
		s->last_code = code;
		s->last_id = id;
	}
	if (rec->sym_id == PYBPF_SYM_NOT_CODE)
		rec->lasti = PYBPF_LASTI_NONE;
	if (rec->sym_id == PYBPF_SYM_UNKNOWN && !s->name_unknown)
		s->name_unknown = 1;
	s->id_hash = mix64(s->id_hash, ((__u64)rec->sym_id << 32) | rec->lasti);
	return 0;
}

/* Name the frames walk_frames left pending, for a stack about to be
 * stored.  A frame left unnamed (the code map or event ring full) must not
 * stay so under an address hash that recurs: such a stack takes the hash
 * of its symbol ids instead, as an eager walk's (w->hash changes).  0 if
 * every frame has a name or an unknown; -1 if a code object could not be
 * read (the sample is dropped, counted as a code read failure). */
static __always_inline int name_frames(struct walk_ctx *w)
{
	struct walk_scratch *s = w->s;

	if (!s->pending)
		return 0;
	s->last_code = 0;
	s->last_id = 0;
	s->name_reads = 0;
	s->name_unknown = 0;
	s->id_hash = WALK_HASH_SEED;
	bpf_loop(PYBPF_MAX_DEPTH, name_step, w, 0);
	/* walk_frames counted them as named without a read */
	stat_add(STAT_CODE_UNREAD, -(__u64)s->name_reads);
	if (s->name_unknown > 1)
		return -1;
	s->pending = 0;
	if (s->name_unknown)
		w->hash = stack_hash_end(s->id_hash, w->depth, w->flags);
	return 0;
}

/* Take this CPU's scratch and code cache for one walk.  Programs can nest
 * on a CPU (a perf event interrupting a uprobe program, say), and the
 * kernel does not stop every such pair: the inner one is refused here and
 * counted, so no walk ever sees another's half-written scratch or cache
 * slot.  Nesting is not parallelism: a test-then-set on one CPU is safe. */
static __always_inline int walk_begin(struct walk_ctx *w)
{
	__u32 zero = 0;
	struct walk_scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	w->cache = bpf_map_lookup_elem(&code_cache, &zero);
	w->fw = bpf_map_lookup_elem(&frame_window, &zero);
	if (!s || !w->cache || !w->fw)
		return -1;
	if (s->busy) {
		stat_inc(STAT_NESTED);
		return -1;
	}
	s->busy = 1;
	s->stale = 0;
	w->s = s;
	return 0;
}

static __always_inline void walk_end(struct walk_ctx *w)
{
	if (w->s)
		w->s->busy = 0;
	w->s = NULL;
}

#endif /* PYBPF_PYTHON_BPF_H */
