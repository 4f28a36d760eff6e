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
	const struct py_offsets *o;

	o = offsets_find(3, 11, 0);       /* struct _ts, _PyInterpreterFrame */
	if (o) {
		CHECK_EQ_INT(o->tstate_thread_id, 152);
		CHECK_EQ_INT(o->tstate_native_thread_id, 160);
		CHECK_EQ_INT(o->tstate_cframe, 56);
		CHECK_EQ_INT(o->tstate_frame, -1);
		CHECK_EQ_INT(o->frame_code, 32);
		CHECK_EQ_INT(o->frame_owner, 69);
		CHECK_EQ_INT(o->owner_shim_min, -1);  /* no C-stack shims yet */
	}
	o = offsets_find(3, 12, 0);
	if (o) {
		CHECK_EQ_INT(o->owner_shim_min, 3);
		CHECK_EQ_INT(o->frame_owner, 70);
		CHECK_EQ_INT(o->runtime_gil, -1);   /* per-interpreter GIL */
		CHECK(o->interp_gil >= 0);
		CHECK_EQ_INT(o->unicode_ascii_size, 40); /* no wstr */
	}
	o = offsets_find(3, 13, 0);       /* also in _PyRuntime.debug_offsets */
	if (o) {
		CHECK_EQ_INT(o->tstate_frame, 72);
		CHECK_EQ_INT(o->tstate_cframe, -1);
		CHECK_EQ_INT(o->frame_code, 0);
		CHECK_EQ_INT(o->frame_lasti, 56);
		CHECK_EQ_INT(o->frame_owner, 70);
		CHECK_EQ_INT(o->runtime_interp_head, 632);
	}
	o = offsets_find(3, 7, 0);
	if (o) {
		CHECK_EQ_INT(o->tstate_thread_id, 176);
		CHECK_EQ_INT(o->tstate_frame, 24);
		CHECK_EQ_INT(o->unicode_ascii_size, 48);
	}
	o = offsets_find(3, 6, 0);        /* interp_head, _PyThreadState_Current */
	if (o) {
		CHECK_EQ_INT(o->runtime_interp_head, 0);
		CHECK_EQ_INT(o->interp_tstate_head, 8);
		CHECK_EQ_INT(o->tstate_thread_id, 152);
		CHECK_EQ_INT(o->tstate_frame, 24);
		CHECK_EQ_INT(o->frame_lasti, 120);
		CHECK_EQ_INT(o->lasti_kind, LASTI_BYTES);  /* wordcode, yet f_lasti in bytes */
		CHECK_EQ_INT(o->unicode_state, 32);
		CHECK_EQ_INT(o->unicode_ascii_size, 48);
		CHECK_EQ_INT(o->runtime_gil, -1);
		CHECK_EQ_INT(o->gil_locked, -1);
		CHECK_EQ_INT(o->gil_last_holder, 0);
	}
	o = offsets_find(2, 7, 0);        /* struct _ts, PyStringObject names */
	if (o) {
		CHECK_EQ_INT(o->runtime_interp_head, 0);
		CHECK_EQ_INT(o->tstate_next, 0);
		CHECK_EQ_INT(o->tstate_interp, 8);
		CHECK_EQ_INT(o->tstate_frame, 16);
		CHECK_EQ_INT(o->tstate_thread_id, 144);
		CHECK_EQ_INT(o->frame_code, 32);
		CHECK_EQ_INT(o->frame_back, 24);
		CHECK_EQ_INT(o->code_name, 88);
		CHECK_EQ_INT(o->code_linetable, 104);  /* co_lnotab */
		CHECK_EQ_INT(o->unicode_state, -1);    /* a byte string: */
		CHECK_EQ_INT(o->unicode_length, 16);   /* ob_size */
		CHECK_EQ_INT(o->unicode_hash, 24);     /* ob_shash */
		CHECK_EQ_INT(o->unicode_ascii_size, 36); /* ob_sval */
		CHECK_EQ_INT(o->bytes_data, 36);
		CHECK_EQ_INT(o->gil_locked, -1);
		CHECK_EQ_INT(o->gil_last_holder, 0);
		CHECK_EQ_INT(o->interp_gil, -1);
	}
}

/* Fields of `dump --locals` (user/live/pyobj*.c). */
static void test_object_offsets(void)
{
	const struct py_offsets *o;
	unsigned i;

	o = offsets_find(3, 7, 0);        /* PyFrameObject, co_varnames */
	if (o) {
		CHECK_EQ_INT(o->frame_localsplus, 360);
		CHECK_EQ_INT(o->code_varnames, 64);
		CHECK_EQ_INT(o->code_posonlyargcount, -1); /* PEP 570 is 3.8 */
		CHECK_EQ_INT(o->dkeys_size, 8);
		CHECK_EQ_INT(o->dkeys_indices, 40);
	}
	o = offsets_find(3, 11, 0);       /* _PyInterpreterFrame, localsplus tables */
	if (o) {
		CHECK_EQ_INT(o->frame_localsplus, 72);
		CHECK_EQ_INT(o->code_localsplusnames, 96);
		CHECK_EQ_INT(o->code_localspluskinds, 104);
		CHECK_EQ_INT(o->fast_cell, 0x40);
		CHECK_EQ_INT(o->fast_free, 0x80);
		CHECK_EQ_INT(o->dentry_unicode_size, 16);
		CHECK_EQ_INT(o->long_size, 16);
	}
	o = offsets_find(2, 7, 0);        /* PyIntObject, PyUnicodeObject, 2.7's dict */
	if (o) {
		CHECK_EQ_INT(o->frame_localsplus, 376);
		CHECK_EQ_INT(o->code_kwonlyargcount, -1);
		CHECK_EQ_INT(o->int_value, 16);
		CHECK_EQ_INT(o->ustr_length, 16);
		CHECK_EQ_INT(o->ustr_data, 24);
		CHECK_EQ_INT(o->ustr_char_size, 4);   /* pyenv builds UCS-4 */
		CHECK_EQ_INT(o->dict_keys, -1);
		CHECK_EQ_INT(o->dict_mask, 32);
		CHECK_EQ_INT(o->dict_table, 40);
		CHECK_EQ_INT(o->dentry_size, 24);
		CHECK_EQ_INT(o->dentry_key, 8);
		CHECK_EQ_INT(o->dentry_value, 16);
		CHECK_EQ_INT(o->instance_class, 16);
		CHECK_EQ_INT(o->class_name, 32);
		CHECK_EQ_INT(o->tuple_size, 16);
	}
	o = offsets_find(3, 6, 0);        /* the first split dict (bpo-27350) */
	if (o) {
		CHECK_EQ_INT(o->dict_table, -1);
		CHECK_EQ_INT(o->dict_keys, 32);
		CHECK_EQ_INT(o->dkeys_indices, 40);
		CHECK_EQ_INT(o->int_value, -1);
		CHECK_EQ_INT(o->ustr_char_size, -1);
		CHECK_EQ_INT(o->instance_class, -1);
	}
	o = offsets_find(3, 12, 0);       /* lv_tag */
	if (o) {
		CHECK_EQ_INT(o->long_size, -1);
		CHECK_EQ_INT(o->long_tag, 16);
		CHECK_EQ_INT(o->long_digits, 24);
		CHECK_EQ_INT(o->long_tag_size_shift, 3);
		CHECK_EQ_INT(o->long_tag_negative, 2);
	}
	for (i = 0; i < offsets_table_len; i++) {
		o = &offsets_table[i].off;
		if (offsets_table[i].free_threaded) {
			/* PEP 703: ob_tid, flags, ref counts before ob_type */
			CHECK_EQ_INT(o->object_type, 24);
			CHECK_EQ_INT(o->float_value, 32);
			CHECK_EQ_INT(o->unicode_ascii_size, 56);
			continue;
		}
		CHECK_EQ_INT(o->object_type, 8);
		CHECK_EQ_INT(o->cell_ref, 16);
		CHECK_EQ_INT(o->float_value, 16);
		/* 3.14 caches the tuple's hash before its items */
		CHECK_EQ_INT(o->tuple_items, offsets_table[i].minor >= 14 ? 32 : 24);
		CHECK_EQ_INT(o->long_digit_bits, 30);
		CHECK_EQ_INT(o->long_digit_size, 4);
		CHECK_EQ_INT(o->co_varargs, 4);
		CHECK_EQ_INT(o->co_varkeywords, 8);
		CHECK(o->frame_localsplus > 0);
		CHECK(o->code_argcount >= 0 && o->code_flags >= 0);
		/* one layout per concern: the reader picks by presence */
		CHECK((o->long_size >= 0) != (o->long_tag >= 0));
		CHECK((o->code_varnames >= 0) != (o->code_localsplusnames >= 0));
		CHECK((o->code_localsplusnames >= 0) == (o->code_localspluskinds >= 0));
		CHECK((o->code_localsplusnames >= 0) == (o->fast_cell >= 0));
		CHECK_EQ_INT((o->dkeys_size >= 0) + (o->dkeys_log2_index_bytes >= 0) +
			     (o->dict_table >= 0), 1);
		CHECK((o->dict_table >= 0) == (o->dict_mask >= 0));
		CHECK((o->dict_table >= 0) != (o->dict_keys >= 0));
		/* 2.7 alone: int, unicode and classic instances of their own */
		CHECK_EQ_INT(o->int_value >= 0, offsets_table[i].major == 2);
		CHECK_EQ_INT(o->ustr_data >= 0, offsets_table[i].major == 2);
		CHECK_EQ_INT(o->instance_class >= 0, offsets_table[i].major == 2);
		CHECK_EQ_INT(o->unicode_state < 0, offsets_table[i].major == 2);
		CHECK(o->setentry_size == 16);
	}
}

/* Fields of thread names (user/live/pythreads.c, user/live/pyobj_attr.c): where an
 * instance keeps its attributes, per version. */
static void test_attr_offsets(void)
{
	const struct py_offsets *o;
	unsigned i;

	o = offsets_find(3, 10, 0);       /* __dict__ at tp_dictoffset only */
	if (o) {
		CHECK_EQ_INT(o->type_dictoffset, 288);
		CHECK_EQ_INT(o->tpflags_managed_dict, -1);
		CHECK_EQ_INT(o->managed_dict, -1);
		CHECK_EQ_INT(o->dvalues_values, 0);
	}
	o = offsets_find(3, 11, 0);       /* values and dict pointers before the object */
	if (o) {
		CHECK_EQ_INT(o->tpflags_managed_dict, 1 << 4);
		CHECK_EQ_INT(o->managed_dict, 24);
		CHECK_EQ_INT(o->managed_values, 32);
		CHECK_EQ_INT(o->managed_values_tag, -1);
	}
	o = offsets_find(3, 12, 0);       /* one tagged word */
	if (o) {
		CHECK_EQ_INT(o->managed_dict, 24);
		CHECK_EQ_INT(o->managed_values, 24);
		CHECK_EQ_INT(o->managed_values_tag, 1);
	}
	o = offsets_find(3, 13, 0);       /* inline values after the object */
	if (o) {
		CHECK_EQ_INT(o->tpflags_inline_values, 1 << 2);
		CHECK_EQ_INT(o->managed_values, -1);
		CHECK_EQ_INT(o->dvalues_values, 8);
		CHECK_EQ_INT(o->dvalues_valid, 3);
	}
	for (i = 0; i < offsets_table_len; i++) {
		o = &offsets_table[i].off;
		CHECK_EQ_INT(o->type_flags, offsets_table[i].free_threaded ? 184 : 168);
		CHECK_EQ_INT(o->module_dict, offsets_table[i].free_threaded ? 32 : 16);
		CHECK(o->interp_modules > 0);
		/* shared keys are PEP 412 (3.3) */
		CHECK(offsets_table[i].major == 2 ? o->type_cached_keys == -1
						   : o->type_cached_keys > 0);
		/* a managed dict comes with the flag that says so */
		CHECK((o->managed_dict >= 0) == (o->tpflags_managed_dict > 0));
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
		const struct py_offsets *o = offsets_find(want[i].major, want[i].minor, 0);
		int v = want[i].major * 100 + want[i].minor;

		CHECK(o != NULL);
		if (!o)
			continue;
		CHECK_EQ_INT(o->lasti_kind, want[i].kind);
		/* co_qualname arrived in 3.11, frame owners too. */
		CHECK_EQ_INT(o->code_qualname >= 0, v >= 311);
		CHECK_EQ_INT(o->frame_owner >= 0, v >= 311);
		/* Exactly one way to reach the GIL state: in _PyRuntime (3.7+),
		 * through the interpreter (3.12+), _PyThreadState_Current (< 3.7) */
		CHECK_EQ_INT((o->runtime_gil >= 0) + (o->interp_gil >= 0) + (o->gil_locked < 0), 1);
		CHECK_EQ_INT(o->gil_locked < 0, v < 307);
		/* _PyRuntime is 3.7's (bpo-30860): before, &interp_head stands for it */
		CHECK_EQ_INT(o->runtime_interp_head == 0, v < 307);
	}
}

/* Fields the walker reads on every sample must exist in every version. */
static void test_every_version_complete(void)
{
	unsigned i;

	CHECK(offsets_table_len > 0);
	for (i = 0; i < offsets_table_len; i++) {
		const struct py_offsets *o = &offsets_table[i].off;

		CHECK(o->runtime_interp_head >= 0);
		CHECK(o->interp_tstate_head >= 0);
		CHECK(o->tstate_next >= 0);
		CHECK(o->tstate_thread_id >= 0);
		CHECK(o->frame_code >= 0);
		CHECK(o->frame_back >= 0);
		CHECK(o->frame_lasti >= 0);
		CHECK(o->code_name >= 0);
		CHECK(o->code_filename >= 0);
		CHECK(o->code_linetable >= 0);
		/* A current frame is reached directly or through cframe. */
		CHECK((o->tstate_frame >= 0) !=
		      (o->tstate_cframe >= 0 && o->cframe_current_frame >= 0));
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
