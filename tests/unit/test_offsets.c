/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_offsets.c - spot-check the generated offsets table and its lookup.
 *
 * The expected numbers are ones a user can confirm with
 * `gdb -batch -ex 'ptype/o struct _ts' libpython3.X.so.1.0`; they guard
 * against a generator change that silently shifts or drops a field.
 */
#include "unit.h"
#include "offsets.h"

static void test_lookup(void)
{
	CHECK(offsets_find(3, 7, 0) != NULL);
	CHECK(offsets_find(3, 13, 0) != NULL);
	CHECK(offsets_find(3, 6, 0) != NULL);
	CHECK(offsets_find(2, 7, 0) != NULL);
	CHECK(offsets_find(3, 5, 0) == NULL);
	CHECK(offsets_find(2, 6, 0) == NULL);
	CHECK(offsets_find(4, 0, 0) == NULL);
	CHECK(offsets_base(3, 6, 0, &(int){ 0 }) == NULL);  /* no _Py_DebugOffsets */
	CHECK_EQ_STR(offsets_supported(), "2.7, 3.6, 3.7, 3.8, 3.9, 3.10, 3.11, 3.12, 3.13, 3.14, 3.15");
}

static void test_known_offsets(void)
{
	const struct offsets_entry *o;

	o = offsets_find(3, 11, 0);       /* struct _ts, _PyInterpreterFrame */
	if (o) {
		CHECK_EQ_INT(o->off.tstate_thread_id, 152);
		CHECK_EQ_INT(o->off.tstate_native_thread_id, 160);
		CHECK_EQ_INT(o->off.tstate_cframe, 56);
		CHECK_EQ_INT(o->off.tstate_frame, -1);
		CHECK_EQ_INT(o->off.frame_code, 32);
		CHECK_EQ_INT(o->off.frame_owner, 69);
		CHECK_EQ_INT(o->off.frame_is_entry, 68);  /* "bool is_entry; char owner;" */
		CHECK_EQ_INT(o->off.owner_shim_min, -1);  /* no C-stack shims yet */
		/* _PyCFrame { uint8_t use_tracing; current_frame; previous; } */
		CHECK_EQ_INT(o->off.cframe_current_frame, 8);
		CHECK_EQ_INT(o->off.cframe_previous, 16);
		CHECK_EQ_INT(o->off.tstate_root_cframe, 336);
	}
	o = offsets_find(3, 12, 0);
	if (o) {
		CHECK_EQ_INT(o->off.owner_shim_min, 3);
		CHECK_EQ_INT(o->off.frame_owner, 70);
		CHECK_EQ_INT(o->off.frame_is_entry, -1);  /* an entry shim instead */
		CHECK_EQ_INT(o->off.cframe_current_frame, 0);
		CHECK_EQ_INT(o->off.cframe_previous, 8);
		CHECK_EQ_INT(o->off.tstate_root_cframe, 272);
		CHECK_EQ_INT(o->off.runtime_gil, -1);   /* per-interpreter GIL */
		CHECK(o->off.interp_gil >= 0);
		CHECK_EQ_INT(o->off.unicode_ascii_size, 40); /* no wstr */
	}
	o = offsets_find(3, 13, 0);       /* also in _PyRuntime.debug_offsets */
	if (o) {
		CHECK_EQ_INT(o->off.tstate_frame, 72);
		CHECK_EQ_INT(o->off.tstate_cframe, -1);
		CHECK_EQ_INT(o->off.cframe_previous, -1);
		CHECK_EQ_INT(o->off.tstate_root_cframe, -1);
		CHECK_EQ_INT(o->off.frame_code, 0);
		CHECK_EQ_INT(o->off.frame_lasti, 56);
		CHECK_EQ_INT(o->off.frame_owner, 70);
		CHECK_EQ_INT(o->off.runtime_interp_head, 632);
	}
	o = offsets_find(3, 7, 0);
	if (o) {
		CHECK_EQ_INT(o->off.tstate_thread_id, 176);
		CHECK_EQ_INT(o->off.tstate_frame, 24);
		CHECK_EQ_INT(o->off.unicode_ascii_size, 48);
	}
	o = offsets_find(3, 6, 0);        /* interp_head, _PyThreadState_Current */
	if (o) {
		CHECK_EQ_INT(o->off.runtime_interp_head, 0);
		CHECK_EQ_INT(o->off.interp_tstate_head, 8);
		CHECK_EQ_INT(o->off.tstate_thread_id, 152);
		CHECK_EQ_INT(o->off.tstate_frame, 24);
		CHECK_EQ_INT(o->off.frame_lasti, 120);
		CHECK_EQ_INT(o->off.lasti_kind, LASTI_BYTES);  /* wordcode, yet f_lasti in bytes */
		CHECK_EQ_INT(o->off.unicode_state, 32);
		CHECK_EQ_INT(o->off.unicode_ascii_size, 48);
		CHECK_EQ_INT(o->off.runtime_gil, -1);
		CHECK_EQ_INT(o->off.gil_locked, -1);
		CHECK_EQ_INT(o->off.gil_last_holder, 0);
	}
	o = offsets_find(2, 7, 0);        /* struct _ts, PyStringObject names */
	if (o) {
		CHECK_EQ_INT(o->off.runtime_interp_head, 0);
		CHECK_EQ_INT(o->off.tstate_next, 0);
		CHECK_EQ_INT(o->off.tstate_interp, 8);
		CHECK_EQ_INT(o->off.tstate_frame, 16);
		CHECK_EQ_INT(o->off.tstate_thread_id, 144);
		CHECK_EQ_INT(o->off.frame_code, 32);
		CHECK_EQ_INT(o->off.frame_back, 24);
		CHECK_EQ_INT(o->off.code_name, 88);
		CHECK_EQ_INT(o->off.code_linetable, 104);  /* co_lnotab */
		CHECK_EQ_INT(o->off.unicode_state, -1);    /* a byte string: */
		CHECK_EQ_INT(o->off.unicode_length, 16);   /* ob_size */
		CHECK_EQ_INT(o->off.unicode_hash, 24);     /* ob_shash */
		CHECK_EQ_INT(o->off.unicode_ascii_size, 36); /* ob_sval */
		CHECK_EQ_INT(o->off.bytes_data, 36);
		CHECK_EQ_INT(o->off.gil_locked, -1);
		CHECK_EQ_INT(o->off.gil_last_holder, 0);
		CHECK_EQ_INT(o->off.interp_gil, -1);
	}
}

/* Fields of `dump --locals` (user/live/pyobj*.c). */
static void test_object_offsets(void)
{
	const struct offsets_entry *o;
	unsigned i;

	o = offsets_find(3, 7, 0);        /* PyFrameObject, co_varnames */
	if (o) {
		CHECK_EQ_INT(o->uoff.frame_localsplus, 360);
		CHECK_EQ_INT(o->uoff.code_varnames, 64);
		CHECK_EQ_INT(o->uoff.code_posonlyargcount, -1); /* PEP 570 is 3.8 */
		CHECK_EQ_INT(o->uoff.dkeys_size, 8);
		CHECK_EQ_INT(o->uoff.dkeys_indices, 40);
	}
	o = offsets_find(3, 11, 0);       /* _PyInterpreterFrame, localsplus tables */
	if (o) {
		CHECK_EQ_INT(o->uoff.frame_localsplus, 72);
		CHECK_EQ_INT(o->uoff.code_localsplusnames, 96);
		CHECK_EQ_INT(o->uoff.code_localspluskinds, 104);
		CHECK_EQ_INT(o->uoff.fast_cell, 0x40);
		CHECK_EQ_INT(o->uoff.fast_free, 0x80);
		CHECK_EQ_INT(o->uoff.dentry_unicode_size, 16);
		CHECK_EQ_INT(o->uoff.long_size, 16);
	}
	o = offsets_find(2, 7, 0);        /* PyIntObject, PyUnicodeObject, 2.7's dict */
	if (o) {
		CHECK_EQ_INT(o->uoff.frame_localsplus, 376);
		CHECK_EQ_INT(o->uoff.code_kwonlyargcount, -1);
		CHECK_EQ_INT(o->uoff.int_value, 16);
		CHECK_EQ_INT(o->uoff.ustr_length, 16);
		CHECK_EQ_INT(o->uoff.ustr_data, 24);
		CHECK_EQ_INT(o->uoff.ustr_char_size, 4);   /* pyenv builds UCS-4 */
		CHECK_EQ_INT(o->uoff.dict_keys, -1);
		CHECK_EQ_INT(o->uoff.dict_mask, 32);
		CHECK_EQ_INT(o->uoff.dict_table, 40);
		CHECK_EQ_INT(o->uoff.dentry_size, 24);
		CHECK_EQ_INT(o->uoff.dentry_key, 8);
		CHECK_EQ_INT(o->uoff.dentry_value, 16);
		CHECK_EQ_INT(o->uoff.instance_class, 16);
		CHECK_EQ_INT(o->uoff.class_name, 32);
		CHECK_EQ_INT(o->uoff.tuple_size, 16);
	}
	o = offsets_find(3, 6, 0);        /* the first split dict (bpo-27350) */
	if (o) {
		CHECK_EQ_INT(o->uoff.dict_table, -1);
		CHECK_EQ_INT(o->uoff.dict_keys, 32);
		CHECK_EQ_INT(o->uoff.dkeys_indices, 40);
		CHECK_EQ_INT(o->uoff.int_value, -1);
		CHECK_EQ_INT(o->uoff.ustr_char_size, -1);
		CHECK_EQ_INT(o->uoff.instance_class, -1);
	}
	o = offsets_find(3, 12, 0);       /* lv_tag */
	if (o) {
		CHECK_EQ_INT(o->uoff.long_size, -1);
		CHECK_EQ_INT(o->uoff.long_tag, 16);
		CHECK_EQ_INT(o->uoff.long_digits, 24);
		CHECK_EQ_INT(o->uoff.long_tag_size_shift, 3);
		CHECK_EQ_INT(o->uoff.long_tag_negative, 2);
	}
	for (i = 0; i < offsets_table_len; i++) {
		o = &offsets_table[i];
		if (offsets_table[i].free_threaded) {
			/* PEP 703: ob_tid, flags, ref counts before ob_type */
			CHECK_EQ_INT(o->off.object_type, 24);
			CHECK_EQ_INT(o->uoff.float_value, 32);
			CHECK_EQ_INT(o->off.unicode_ascii_size, 56);
			continue;
		}
		CHECK_EQ_INT(o->off.object_type, 8);
		CHECK_EQ_INT(o->uoff.cell_ref, 16);
		CHECK_EQ_INT(o->uoff.float_value, 16);
		/* 3.14 caches the tuple's hash before its items */
		CHECK_EQ_INT(o->uoff.tuple_items, offsets_table[i].minor >= 14 ? 32 : 24);
		CHECK_EQ_INT(o->uoff.long_digit_bits, 30);
		CHECK_EQ_INT(o->uoff.long_digit_size, 4);
		CHECK_EQ_INT(o->uoff.co_varargs, 4);
		CHECK_EQ_INT(o->uoff.co_varkeywords, 8);
		CHECK(o->uoff.frame_localsplus > 0);
		CHECK(o->uoff.code_argcount >= 0 && o->uoff.code_flags >= 0);
		/* one layout per concern: the reader picks by presence */
		CHECK((o->uoff.long_size >= 0) != (o->uoff.long_tag >= 0));
		CHECK((o->uoff.code_varnames >= 0) != (o->uoff.code_localsplusnames >= 0));
		CHECK((o->uoff.code_localsplusnames >= 0) == (o->uoff.code_localspluskinds >= 0));
		CHECK((o->uoff.code_localsplusnames >= 0) == (o->uoff.fast_cell >= 0));
		CHECK_EQ_INT((o->uoff.dkeys_size >= 0) + (o->uoff.dkeys_log2_index_bytes >= 0) +
			     (o->uoff.dict_table >= 0), 1);
		CHECK((o->uoff.dict_table >= 0) == (o->uoff.dict_mask >= 0));
		CHECK((o->uoff.dict_table >= 0) != (o->uoff.dict_keys >= 0));
		/* 2.7 alone: int, unicode and classic instances of their own */
		CHECK_EQ_INT(o->uoff.int_value >= 0, offsets_table[i].major == 2);
		CHECK_EQ_INT(o->uoff.ustr_data >= 0, offsets_table[i].major == 2);
		CHECK_EQ_INT(o->uoff.instance_class >= 0, offsets_table[i].major == 2);
		CHECK_EQ_INT(o->off.unicode_state < 0, offsets_table[i].major == 2);
		CHECK(o->uoff.setentry_size == 16);
	}
}

/* Fields of thread names (user/live/pythreads.c, user/live/pyobj_attr.c): where an
 * instance keeps its attributes, per version. */
static void test_attr_offsets(void)
{
	const struct offsets_entry *o;
	unsigned i;

	o = offsets_find(3, 10, 0);       /* __dict__ at tp_dictoffset only */
	if (o) {
		CHECK_EQ_INT(o->uoff.type_dictoffset, 288);
		CHECK_EQ_INT(o->uoff.tpflags_managed_dict, -1);
		CHECK_EQ_INT(o->uoff.managed_dict, -1);
		CHECK_EQ_INT(o->uoff.dvalues_values, 0);
	}
	o = offsets_find(3, 11, 0);       /* values and dict pointers before the object */
	if (o) {
		CHECK_EQ_INT(o->uoff.tpflags_managed_dict, 1 << 4);
		CHECK_EQ_INT(o->uoff.managed_dict, 24);
		CHECK_EQ_INT(o->uoff.managed_values, 32);
		CHECK_EQ_INT(o->uoff.managed_values_tag, -1);
	}
	o = offsets_find(3, 12, 0);       /* one tagged word */
	if (o) {
		CHECK_EQ_INT(o->uoff.managed_dict, 24);
		CHECK_EQ_INT(o->uoff.managed_values, 24);
		CHECK_EQ_INT(o->uoff.managed_values_tag, 1);
	}
	o = offsets_find(3, 13, 0);       /* inline values after the object */
	if (o) {
		CHECK_EQ_INT(o->uoff.tpflags_inline_values, 1 << 2);
		CHECK_EQ_INT(o->uoff.managed_values, -1);
		CHECK_EQ_INT(o->uoff.dvalues_values, 8);
		CHECK_EQ_INT(o->uoff.dvalues_valid, 3);
	}
	for (i = 0; i < offsets_table_len; i++) {
		o = &offsets_table[i];
		CHECK_EQ_INT(o->uoff.type_flags, offsets_table[i].free_threaded ? 184 : 168);
		CHECK_EQ_INT(o->uoff.module_dict, offsets_table[i].free_threaded ? 32 : 16);
		CHECK(o->uoff.interp_modules > 0);
		/* shared keys are PEP 412 (3.3) */
		CHECK(offsets_table[i].major == 2 ? o->uoff.type_cached_keys == -1
						   : o->uoff.type_cached_keys > 0);
		/* a managed dict comes with the flag that says so */
		CHECK((o->uoff.managed_dict >= 0) == (o->uoff.tpflags_managed_dict > 0));
	}
}

static void test_per_version_kinds(void)
{
	static const struct { unsigned major, minor; unsigned kind; } want[] = {
		{ 2, 7, LASTI_BYTES }, { 3, 6, LASTI_BYTES },
		{ 3, 7, LASTI_BYTES }, { 3, 8, LASTI_BYTES }, { 3, 9, LASTI_BYTES },
		{ 3, 10, LASTI_UNITS }, { 3, 11, LASTI_PREV_INSTR },
		{ 3, 12, LASTI_PREV_INSTR }, { 3, 13, LASTI_INSTR_PTR },
	};
	unsigned i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct offsets_entry *o = offsets_find(want[i].major, want[i].minor, 0);
		int v = want[i].major * 100 + want[i].minor;

		CHECK(o != NULL);
		if (!o)
			continue;
		CHECK_EQ_INT(o->off.lasti_kind, want[i].kind);
		/* co_qualname arrived in 3.11, frame owners too. */
		CHECK_EQ_INT(o->off.code_qualname >= 0, v >= 311);
		CHECK_EQ_INT(o->off.frame_owner >= 0, v >= 311);
		/* Exactly one way to reach the GIL state: in _PyRuntime (3.7+),
		 * through the interpreter (3.12+), _PyThreadState_Current (< 3.7) */
		CHECK_EQ_INT((o->off.runtime_gil >= 0) + (o->off.interp_gil >= 0) + (o->off.gil_locked < 0), 1);
		CHECK_EQ_INT(o->off.gil_locked < 0, v < 307);
		/* _PyRuntime is 3.7's (bpo-30860): before, &interp_head stands for it */
		CHECK_EQ_INT(o->off.runtime_interp_head == 0, v < 307);
	}
}

/* Fields the walker reads on every sample must exist in every version. */
static void test_every_version_complete(void)
{
	unsigned i;

	CHECK(offsets_table_len > 0);
	for (i = 0; i < offsets_table_len; i++) {
		const struct offsets_entry *o = &offsets_table[i];

		CHECK(o->off.runtime_interp_head >= 0);
		CHECK(o->off.interp_tstate_head >= 0);
		CHECK(o->off.tstate_next >= 0);
		CHECK(o->off.tstate_thread_id >= 0);
		CHECK(o->off.frame_code >= 0);
		CHECK(o->off.frame_back >= 0);
		CHECK(o->off.frame_lasti >= 0);
		CHECK(o->off.code_name >= 0);
		CHECK(o->off.code_filename >= 0);
		CHECK(o->off.code_linetable >= 0);
		/* A current frame is reached directly or through cframe. */
		CHECK((o->off.tstate_frame >= 0) !=
		      (o->off.tstate_cframe >= 0 && o->off.cframe_current_frame >= 0));
	}
}

int main(void)
{
	test_lookup();
	test_known_offsets();
	test_object_offsets();
	test_attr_offsets();
	test_per_version_kinds();
	test_every_version_complete();
	return unit_summary("test_offsets");
}
