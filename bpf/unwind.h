/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* unwind.h - the compact native unwind table (x86_64) shared by
 * user/native/ehframe.c, which derives it from an ELF's .eh_frame/.debug_frame,
 * and bpf/native.bpf.h, which unwinds with it in the kernel.
 *
 * One table per ELF file, keyed by a 64-bit file id derived from the
 * file's GNU build id (ehframe_file_id()), shared by every process that
 * maps the file.  A table is a sorted array of 8-byte rows; row i applies
 * to file offsets [rows[i].pc, rows[i + 1].pc).  Offsets are *file*
 * offsets, not link-time addresses, so a mapping's (start, pgoff) alone
 * turns a pc into a key: off = pc - vm_start + vm_pgoff * 4096.
 *
 * The return address is always at CFA - 8 (rows where the CIE says
 * otherwise are UNWIND_CFA_OTHER); rsp of the caller is the CFA.
 * Plain data, fixed-width fields: both compilers see this file.
 */
#ifndef PYBPF_UNWIND_H
#define PYBPF_UNWIND_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* How to compute the CFA at this pc: low nibble of unwind_row.kind. */
enum unwind_cfa_kind {
	UNWIND_CFA_END   = 0, /* no unwind information covers this pc (a gap) */
	UNWIND_CFA_RSP   = 1, /* CFA = rsp + 8 * cfa_off8 */
	UNWIND_CFA_RBP   = 2, /* CFA = rbp + 8 * cfa_off8 */
	UNWIND_CFA_PLT   = 3, /* the lazy-binding PLT expression: CFA =
			       * rsp + 8 + ((rip & 15) >= cfa_off8 ? 8 : 0),
			       * cfa_off8 being 11 (or 10 in some linkers' PLTs) */
	UNWIND_CFA_EXPR  = 4, /* DW_CFA_def_cfa_expression we do not interpret */
	UNWIND_CFA_OTHER = 5, /* CFA from another register, an offset that is no
			       * multiple of 8 or does not fit, or the RA not at CFA-8 */
	UNWIND_CFA_LAST  = 6, /* return address undefined: outermost frame (_start) */
	UNWIND_CFA_NR,
};

/* Where the caller's rbp is: high nibble of unwind_row.kind. */
enum unwind_rbp_kind {
	UNWIND_RBP_SAME  = 0, /* unchanged (not saved yet, or callee-saved rule) */
	UNWIND_RBP_CFA   = 1, /* saved at CFA - 8 * rbp_off8 */
	UNWIND_RBP_LOST  = 2, /* a rule we do not interpret: caller's rbp unknown */
	UNWIND_RBP_NR,
};

struct unwind_row {
	__u32 pc;        /* first file offset this row covers */
	__u16 cfa_off8;  /* CFA register + 8 * cfa_off8 (offsets of x86_64 code
			  * are multiples of 8; up to 512 KB frames) */
	__u8  rbp_off8;  /* UNWIND_RBP_CFA: rbp saved at CFA - 8 * rbp_off8 */
	__u8  kind;      /* enum unwind_cfa_kind | enum unwind_rbp_kind << 4 */
};
_Static_assert(sizeof(struct unwind_row) == 8, "unwind_row is 8 bytes");

#define UNWIND_ROW_CFA(r)  ((r)->kind & 0xf)
#define UNWIND_ROW_RBP(r)  ((r)->kind >> 4)
#define UNWIND_KIND(cfa, rbp) ((__u8)((cfa) | (rbp) << 4))

/* Where one file's rows sit in the global row array (map unwind_rows). */
struct unwind_file {
	__u32 first;     /* index of its first row */
	__u32 count;     /* rows, >= 1 */
};

/* Rows in the global array by default (8 bytes each: 32 MB); userspace
 * resizes the map before load.  Binary search steps are bounded by
 * UNWIND_SEARCH_STEPS, enough for 2^24 rows in one file. */
#define UNWIND_MAX_ROWS      (4u << 20)
#define UNWIND_SEARCH_STEPS  24
#define UNWIND_MAX_FRAMES    128  /* native frames per sample, a power of 2 */
_Static_assert((UNWIND_MAX_FRAMES & (UNWIND_MAX_FRAMES - 1)) == 0, "power of 2");

/* Registers of the frame being unwound (user mode, x86_64). */
struct native_regs {
	__u64 pc, sp, bp;
};

/* One walk (bpf/native.bpf.h native_walk): too big for the BPF stack, the
 * BPF side keeps it in a map; plain data, so userspace can read it. */
struct native_state {
	struct native_regs regs;
	__u32 n;                     /* frames in pcs, innermost first */
	__u32 max;                   /* frames wanted, <= UNWIND_MAX_FRAMES */
	__u32 stop;                  /* enum native_stat: why the walk ended */
	__u32 pid;                   /* tgid whose mappings resolve pcs (native_maps) */
	__u64 pcs[UNWIND_MAX_FRAMES];
};

/* Why a native unwind stopped or degraded, counted per CPU in
 * native_stats.  NATIVE_STAT_FRAMES counts frames produced. */
enum native_stat {
	NATIVE_STAT_WALKS = 0,     /* native walks started */
	NATIVE_STAT_FRAMES,        /* native frames produced */
	NATIVE_STAT_END_LAST,      /* stopped cleanly: outermost frame (RA undefined) */
	NATIVE_STAT_END_ZERO,      /* stopped: return address 0 */
	NATIVE_STAT_NO_MAPPING,    /* pc in no known mapping */
	NATIVE_STAT_NO_TABLE,      /* file without a table: frame pointers used */
	NATIVE_STAT_GAP,           /* pc in a gap of its table: frame pointers used */
	NATIVE_STAT_EXPR,          /* unsupported CFA expression: frame pointers used */
	NATIVE_STAT_OTHER,         /* CFA rule we cannot follow: frame pointers used */
	NATIVE_STAT_RBP_LOST,      /* caller's rbp unknown after this frame */
	NATIVE_STAT_FP_BAD,        /* frame-pointer fallback with rbp 0 or below sp */
	NATIVE_STAT_ERR_READ,      /* reading the stack failed */
	NATIVE_STAT_ERR_ROW,       /* a table lookup went outside the row array */
	NATIVE_STAT_NOT_UP,        /* the caller's sp is not above the callee's: stopped */
	NATIVE_STAT_TRUNCATED,     /* more than max frames */
	NATIVE_STAT_ANON,          /* pc in anonymous executable memory (JIT) or a vdso
				    * without a table: frame pointers used (also in NO_TABLE) */
	/* the sampler's (bpf/native_sample.bpf.h) */
	NATIVE_STAT_SAMPLES,       /* samples that took a native stack */
	NATIVE_STAT_NO_REGS,       /* no user registers (kernel thread): Python only */
	NATIVE_STAT_KERNEL_ERR,    /* bpf_get_stack failed: no kernel frames */
	NATIVE_STAT_LOST,          /* native_stacks full: sample counted Python only */
	NATIVE_STAT_NR,
};

/* ---- where a pc lives: the processes' executable mappings ----
 *
 * Map native_maps, an LPM trie: every executable mapping [start, end) of
 * a process is cut into aligned power-of-two blocks, one trie entry each,
 * keyed by (pid, block); a lookup of (pid, pc) with the full prefix finds
 * the one block holding pc in a single helper call, whatever the number
 * of mappings (user/native/nativemaps.c keeps it up to date; measured in
 * tests/unit/test_native_bpf.c).  The key's data is big-endian: the trie
 * matches bytes from the first, so pid then the address's high bits. */
struct native_map_key {
	__u32 prefixlen;             /* 32 + the block's address bits */
	__u32 pid_be;                /* tgid, big-endian */
	__u64 addr_be;               /* the block's first address, big-endian */
};
_Static_assert(sizeof(struct native_map_key) == 16, "native_map_key is 16 bytes");

#define NATIVE_MAP_PREFIX_MAX 96     /* pid and every address bit */

enum native_map_kind {
	NATIVE_MAP_FILE = 0,         /* a mapped file: file_id keys its table (if loaded) */
	NATIVE_MAP_ANON,             /* anonymous executable memory (JIT): frame pointers */
	NATIVE_MAP_VDSO,             /* the vdso: its table when built, else frame pointers */
};

struct native_map_val {
	__u64 file_id;               /* unwind_files key; 0: no table */
	__u64 off_base;              /* file offset of pc = pc + off_base (mod 2^64):
				      * vm_pgoff * page size - vm_start */
	__u32 kind;                  /* enum native_map_kind */
	__u32 pad;
};

/* Default entries of native_maps (a mapping takes about 10 to 25). */
#define NATIVE_MAPS_MAX_ENTRIES (64u << 10)

#endif /* PYBPF_UNWIND_H */
