/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* offsets.h - the one place that maps a CPython version to its struct layout.
 *
 * The table itself is generated (offsets_table.c, by tools/gen-offsets.py);
 * callers only ask for a version and get NULL when it is not supported.
 */
#ifndef PYBPF_OFFSETS_H
#define PYBPF_OFFSETS_H

#include "pybpf.h"

/* Offsets only userspace reads: they never go into the `procs` map.
 * Same conventions as struct py_offsets (bpf/pybpf.h); generated into
 * the same table. */
struct py_user_offsets {
	/* ---- `dump --locals` (user/live/pyobj.c) ---- */
	/* fast locals: args, locals, cells, free vars, in this order */
	__s32 frame_localsplus;      /* f_localsplus (<= 3.10), localsplus (3.11+) */
	__s32 code_argcount;         /* int; includes positional-only (3.8+) */
	__s32 code_posonlyargcount;  /* int (3.8+) */
	__s32 code_kwonlyargcount;   /* int */
	__s32 code_flags;            /* int */
	__s32 code_nlocals;          /* int: entries of co_varnames */
	__s32 code_nlocalsplus;      /* int (3.11+) */
	__s32 code_varnames;         /* tuple (<= 3.10) */
	__s32 code_cellvars;         /* tuple (<= 3.10) */
	__s32 code_freevars;         /* tuple (<= 3.10) */
	__s32 code_localsplusnames;  /* tuple (3.11+) */
	__s32 code_localspluskinds;  /* bytes, one kind per slot (3.11+) */
	__s32 co_varargs;            /* CO_VARARGS flag value */
	__s32 co_varkeywords;        /* CO_VARKEYWORDS flag value */
	__s32 fast_cell;             /* CO_FAST_CELL kind bit (3.11+) */
	__s32 fast_free;             /* CO_FAST_FREE kind bit (3.11+) */
	__s32 cell_ref;              /* PyCellObject.ob_ref */
	/* objects */
	__s32 type_name;             /* PyTypeObject.tp_name (char *) */
	__s32 instance_class;        /* PyInstanceObject.in_class (2.7 classic classes) */
	__s32 class_name;            /* PyClassObject.cl_name */
	__s32 tuple_size;
	__s32 tuple_items;           /* inline PyObject *[] */
	__s32 list_size;
	__s32 list_items;            /* PyObject ** */
	__s32 long_size;             /* ob_size: signed digit count (<= 3.11) */
	__s32 long_tag;              /* long_value.lv_tag (3.12+) */
	__s32 long_digits;           /* ob_digit[] */
	__s32 long_digit_size;       /* sizeof(digit) */
	__s32 long_digit_bits;       /* PyLong_SHIFT */
	__s32 long_tag_size_shift;   /* _PyLong_NON_SIZE_BITS (3.12+) */
	__s32 long_tag_sign_mask;    /* _PyLong_SIGN_MASK (3.12+) */
	__s32 long_tag_negative;     /* SIGN_NEGATIVE (3.12+) */
	__s32 int_value;             /* PyIntObject.ob_ival, a C long (2.7) */
	__s32 float_value;           /* PyFloatObject.ob_fval */
	__s32 ustr_length;           /* 2.7 unicode (PyUnicodeObject): length */
	__s32 ustr_data;             /* Py_UNICODE *str */
	__s32 ustr_char_size;        /* sizeof(Py_UNICODE): 2 (UTF-16) or 4 */
	__s32 dict_used;             /* PyDictObject.ma_used */
	__s32 dict_table;            /* ma_table, the entries (2.7: no keys object) */
	__s32 dict_mask;             /* ma_mask: entries - 1 (2.7) */
	__s32 dict_keys;             /* ma_keys */
	__s32 dict_values;           /* ma_values: non-NULL for split tables */
	__s32 dkeys_size;            /* dk_size (<= 3.10) */
	__s32 dkeys_log2_index_bytes; /* 3.11+ */
	__s32 dkeys_kind;            /* uint8_t dk_kind (3.11+) */
	__s32 dkeys_kind_general;    /* DICT_KEYS_GENERAL (3.11+) */
	__s32 dkeys_nentries;
	__s32 dkeys_indices;         /* entries follow the index table */
	__s32 dentry_size;           /* sizeof(PyDictKeyEntry) */
	__s32 dentry_key;
	__s32 dentry_value;
	__s32 dentry_unicode_size;   /* sizeof(PyDictUnicodeEntry) (3.11+) */
	__s32 dentry_unicode_key;
	__s32 dentry_unicode_value;
	__s32 set_used;              /* PySetObject.used */
	__s32 set_mask;
	__s32 set_table;
	__s32 setentry_size;
	__s32 setentry_key;
	/* ---- thread names (user/live/pythreads.c): Thread._name, threading._active ---- */
	__s32 type_flags;            /* PyTypeObject.tp_flags (unsigned long) */
	__s32 type_basicsize;        /* tp_basicsize: 3.13 inline values start there */
	__s32 type_dictoffset;       /* tp_dictoffset: > 0, the instance dict pointer */
	__s32 type_cached_keys;      /* PyHeapTypeObject.ht_cached_keys (shared keys) */
	__s32 tpflags_managed_dict;  /* Py_TPFLAGS_MANAGED_DICT (3.11+) */
	__s32 tpflags_inline_values; /* Py_TPFLAGS_INLINE_VALUES (3.13+) */
	__s32 managed_dict;          /* bytes BEFORE the object: its dict pointer (3.11+) */
	__s32 managed_values;        /* bytes before: values pointer (3.11), tagged (3.12) */
	__s32 managed_values_tag;    /* 3.12: odd word = values - tag */
	__s32 dvalues_values;        /* PyDictValues.values (3.11+), 0 (<= 3.10) */
	__s32 dvalues_valid;         /* PyDictValues.valid, a byte (3.13+) */
	__s32 interp_modules;        /* sys.modules: modules, imports.modules (3.12+) */
	__s32 module_dict;           /* PyModuleObject.md_dict */
	/* ---- the current thread state (before 3.12): proc_info.current_addr ---- */
	__s32 runtime_tstate_current; /* _PyRuntime.gilstate.tstate_current (3.7-3.11) */
};

struct offsets_entry {
	unsigned major;
	unsigned minor;
	unsigned free_threaded;      /* a --disable-gil build (PEP 703) */
	struct py_offsets off;       /* what the BPF side reads */
	struct py_user_offsets uoff; /* what only userspace reads */
};

/* Defined in the generated offsets_table.c. */
extern const struct offsets_entry offsets_table[];
extern const unsigned offsets_table_len;

/* Offsets of CPython major.minor (free-threaded or not), or NULL if the
 * table has no such build. */
const struct offsets_entry *offsets_find(unsigned major, unsigned minor, int free_threaded);

/* The facts _Py_DebugOffsets does not publish (3.13+: frame owner values,
 * tag bits, str state bits, and what dump needs beyond it), for a build
 * whose struct layouts come from its _Py_DebugOffsets: the table's entry
 * for that minor, else the newest one before it (of the same kind, else
 * the default build's).  *exact is 0 when the entry is another minor's or
 * kind's.  NULL below 3.13. */
const struct offsets_entry *offsets_base(unsigned major, unsigned minor, int free_threaded,
					int *exact);

/* Supported versions for messages, e.g. "3.7, 3.8, 3.9"; static storage. */
const char *offsets_supported(void);

#endif /* PYBPF_OFFSETS_H */
