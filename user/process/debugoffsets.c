// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* debugoffsets.c - decode a target's _Py_DebugOffsets (CPython 3.13+).
 *
 * The struct is a cookie followed by uint64_t values only, grouped in
 * sections that (mostly) start with the size of the real struct they
 * describe.  Each known layout is therefore data: the ordered names of its
 * values.  The struct's own version picks the layout; a minor newer than
 * every known one is read with the newest layout and trusted only if every
 * section validates.  Sources: Include/internal/pycore_runtime.h (3.13) and
 * Include/internal/pycore_debug_offsets.h (3.14+) at each release tag,
 * checked against the DWARF of the builds in the test bed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "debugoffsets.h"

/* Each layout spelled out whole, in struct order.  3.14 added sections
 * (set, generator, list node, debugger support) and members at the ends of
 * others; 3.15 added thread-state members in the middle, so everything
 * after them moved. */
#define INTERP_3_13                                                               \
	"interpreter_state.size", "interpreter_state.id", "interpreter_state.next",     \
	"interpreter_state.threads_head"
#define INTERP_GIL                                                                \
	"interpreter_state.gc", "interpreter_state.imports_modules",                    \
	"interpreter_state.sysdict", "interpreter_state.builtins",                      \
	"interpreter_state.ceval_gil", "interpreter_state.gil_runtime_state",           \
	"interpreter_state.gil_runtime_state_enabled",                                  \
	"interpreter_state.gil_runtime_state_locked",                                   \
	"interpreter_state.gil_runtime_state_holder"
#define FRAME_3_13                                                                \
	"interpreter_frame.size", "interpreter_frame.previous",                         \
	"interpreter_frame.executable", "interpreter_frame.instr_ptr",                  \
	"interpreter_frame.localsplus", "interpreter_frame.owner"
#define CODE_3_13                                                                 \
	"code_object.size", "code_object.filename", "code_object.name",                 \
	"code_object.qualname", "code_object.linetable", "code_object.firstlineno",     \
	"code_object.argcount", "code_object.localsplusnames",                          \
	"code_object.localspluskinds", "code_object.co_code_adaptive"
#define TUPLE_LIST                                                                \
	"tuple_object.size", "tuple_object.ob_item", "tuple_object.ob_size",            \
	"list_object.size", "list_object.ob_item", "list_object.ob_size"
#define SET_3_14 "set_object.size", "set_object.used", "set_object.table", "set_object.mask"
#define DICT_TO_BYTES                                                             \
	"dict_object.size", "dict_object.ma_keys", "dict_object.ma_values",             \
	"float_object.size", "float_object.ob_fval",                                    \
	"long_object.size", "long_object.lv_tag", "long_object.ob_digit",               \
	"bytes_object.size", "bytes_object.ob_size", "bytes_object.ob_sval"
#define UNICODE_3_13                                                              \
	"unicode_object.size", "unicode_object.state", "unicode_object.length",         \
	"unicode_object.asciiobject_size"
#define GEN_TO_DEBUGGER                                                           \
	"gen_object.size", "gen_object.gi_name", "gen_object.gi_iframe",                \
	"gen_object.gi_frame_state", "llist_node.next", "llist_node.prev",              \
	"debugger_support.eval_breaker", "debugger_support.remote_debugger_support",    \
	"debugger_support.remote_debugging_enabled",                                    \
	"debugger_support.debugger_pending_call", "debugger_support.debugger_script_path", \
	"debugger_support.debugger_script_path_size"

static const char *const layout_3_13[] = { /* Include/internal/pycore_runtime.h */
	"version", "free_threaded",
	"runtime_state.size", "runtime_state.finalizing", "runtime_state.interpreters_head",
	INTERP_3_13, INTERP_GIL,
	"thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
	"thread_state.current_frame", "thread_state.thread_id", "thread_state.native_thread_id",
	"thread_state.datastack_chunk", "thread_state.status",
	FRAME_3_13, CODE_3_13,
	"pyobject.size", "pyobject.ob_type",
	"type_object.size", "type_object.tp_name", "type_object.tp_repr", "type_object.tp_flags",
	TUPLE_LIST, DICT_TO_BYTES, UNICODE_3_13,
	"gc.size", "gc.collecting",
	NULL,
};

static const char *const layout_3_14[] = { /* Include/internal/pycore_debug_offsets.h */
	"version", "free_threaded",
	"runtime_state.size", "runtime_state.finalizing", "runtime_state.interpreters_head",
	INTERP_3_13, "interpreter_state.threads_main", INTERP_GIL,
	"interpreter_state.code_object_generation", "interpreter_state.tlbc_generation",
	"thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
	"thread_state.current_frame", "thread_state.thread_id", "thread_state.native_thread_id",
	"thread_state.datastack_chunk", "thread_state.status",
	FRAME_3_13, "interpreter_frame.stackpointer", "interpreter_frame.tlbc_index",
	CODE_3_13, "code_object.co_tlbc",
	"pyobject.size", "pyobject.ob_type",
	"type_object.size", "type_object.tp_name", "type_object.tp_repr", "type_object.tp_flags",
	TUPLE_LIST, SET_3_14, DICT_TO_BYTES, UNICODE_3_13,
	"gc.size", "gc.collecting",
	GEN_TO_DEBUGGER,
	NULL,
};

static const char *const layout_3_15[] = {
	"version", "free_threaded",
	"runtime_state.size", "runtime_state.finalizing", "runtime_state.interpreters_head",
	INTERP_3_13, "interpreter_state.threads_main", INTERP_GIL,
	"interpreter_state.code_object_generation", "interpreter_state.tlbc_generation",
	"thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
	"thread_state.current_frame", "thread_state.base_frame",
	"thread_state.last_profiled_frame", "thread_state.last_profiled_frame_seq",
	"thread_state.thread_id", "thread_state.native_thread_id",
	"thread_state.datastack_chunk", "thread_state.status", "thread_state.holds_gil",
	"thread_state.gil_requested", "thread_state.current_exception", "thread_state.exc_state",
	"err_stackitem.exc_value",
	FRAME_3_13, "interpreter_frame.stackpointer", "interpreter_frame.tlbc_index",
	CODE_3_13, "code_object.co_tlbc",
	"pyobject.size", "pyobject.ob_type",
	"type_object.size", "type_object.tp_name", "type_object.tp_repr", "type_object.tp_flags",
	"type_object.tp_basicsize", "type_object.tp_dictoffset",
	"heap_type_object.size", "heap_type_object.ht_cached_keys",
	TUPLE_LIST, SET_3_14, DICT_TO_BYTES, UNICODE_3_13,
	"unicode_object.compactunicodeobject_size",
	"gc.size", "gc.collecting", "gc.frame", "gc.generation_stats_size", "gc.generation_stats",
	GEN_TO_DEBUGGER,
	NULL,
};

struct layout {
	unsigned minor;
	const char *const *names;
};

/* Oldest first; the last one reads minors newer than any listed. */
static const struct layout layouts[] = {
	{ 13, layout_3_13 },
	{ 14, layout_3_14 },
	{ 15, layout_3_15 },
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

static const struct layout *layout_d(const struct debug_offsets *d)
{
	size_t i;

	for (i = 0; i < NLAYOUTS; i++)
		if (layouts[i].minor == d->layout_minor)
			return &layouts[i];
	return NULL;
}

int debug_offsets_present(const uint8_t *buf, size_t len)
{
	return len >= 8 && memcmp(buf, DEBUG_OFFSETS_COOKIE, 8) == 0;
}

static size_t count_names(const char *const *names)
{
	size_t n = 0;

	while (names[n])
		n++;
	return n;
}

int64_t debug_offsets_get(const struct debug_offsets *d, const char *name)
{
	const struct layout *l = layout_d(d);
	size_t i;

	for (i = 0; l && l->names[i] && i < d->nvalues; i++)
		if (strcmp(l->names[i], name) == 0)
			return (int64_t)d->values[i];
	return -1;
}

/* Sizes of the structs CPython describes: from a few bytes (PyObject) to
 * the runtime state (hundreds of KiB); anything else is not this struct. */
#define SECTION_SIZE_MAX (16u << 20)

/* Every section with a size: plausible, and each of its offsets inside it
 * (fields that only free-threaded builds have are 0 in default builds;
 * members named *_size are sizes, not offsets). */
static int validate(const struct layout *l, const struct debug_offsets *d, char *err,
		    size_t errlen)
{
	size_t i, j, n = d->nvalues;

	for (i = 0; i < n; i++) {
		const char *name = l->names[i], *dot = strchr(name, '.');
		size_t plen;
		uint64_t size;

		if (!dot || strcmp(dot + 1, "size"))
			continue;
		plen = (size_t)(dot - name) + 1;
		size = d->values[i];
		if (size == 0 || size > SECTION_SIZE_MAX) {
			snprintf(err, errlen, "_Py_DebugOffsets: %.*s.size is %llu", (int)plen - 1,
				 name, (unsigned long long)size);
			return -EPROTO;
		}
		for (j = i + 1; j < n && strncmp(l->names[j], name, plen) == 0; j++) {
			const char *f = l->names[j];
			size_t flen = strlen(f);

			if (flen > 5 && strcmp(f + flen - 5, "_size") == 0)
				continue;
			if (d->values[j] >= size) {
				snprintf(err, errlen, "_Py_DebugOffsets: %s = %llu lies outside its %llu-byte struct",
					 l->names[j], (unsigned long long)d->values[j],
					 (unsigned long long)size);
				return -EPROTO;
			}
		}
	}
	return 0;
}

int debug_offsets_parse(const uint8_t *buf, size_t len, struct debug_offsets *d, char *err,
			size_t errlen)
{
	const struct layout *l = NULL;
	unsigned major, minor;
	size_t i, n;

	memset(d, 0, sizeof(*d));
	if (!debug_offsets_present(buf, len) || len < 24) {
		snprintf(err, errlen, "_PyRuntime does not start with _Py_DebugOffsets (no \"%s\" cookie)",
			 DEBUG_OFFSETS_COOKIE);
		return -EPROTO;
	}
	memcpy(&d->version, buf + 8, 8);
	major = (d->version >> 24) & 0xff;
	minor = (d->version >> 16) & 0xff;
	if (major != 3 || minor < layouts[0].minor) {
		snprintf(err, errlen, "_Py_DebugOffsets: version 0x%llx is not CPython 3.%u+",
			 (unsigned long long)d->version, layouts[0].minor);
		return -EPROTO;
	}
	for (i = 0; i < NLAYOUTS; i++)
		if (layouts[i].minor <= minor)
			l = &layouts[i];
	d->layout_minor = l->minor;
	d->newer_than_known = minor > layouts[NLAYOUTS - 1].minor;
	n = count_names(l->names);
	if (8 + n * 8 > len || n > sizeof(d->values) / 8) {
		snprintf(err, errlen, "_Py_DebugOffsets: %zu bytes read, the 3.%u layout needs %zu",
			 len, l->minor, 8 + n * 8);
		return -EPROTO;
	}
	memcpy(d->values, buf + 8, n * 8);
	d->nvalues = n;
	if (d->values[1] > 1) {
		snprintf(err, errlen, "_Py_DebugOffsets: free_threaded is %llu",
			 (unsigned long long)d->values[1]);
		return -EPROTO;
	}
	d->free_threaded = d->values[1] == 1;
	return validate(l, d, err, errlen);
}

/* Which member each published value fills: of struct py_offsets, or of
 * struct py_user_offsets (USER). */
enum { REQUIRED = 1, FT_ONLY = 2, USER = 4 };
#define PO(field) offsetof(struct py_offsets, field)
#define PU(field) offsetof(struct py_user_offsets, field)
static const struct {
	const char *name;
	size_t member;
	unsigned flags;
} fills[] = {
	{ "runtime_state.interpreters_head", PO(runtime_interp_head), REQUIRED },
	{ "interpreter_state.next", PO(interp_next), REQUIRED },
	{ "interpreter_state.threads_head", PO(interp_tstate_head), REQUIRED },
	{ "interpreter_state.imports_modules", PU(interp_modules), USER },
	{ "interpreter_state.ceval_gil", PO(interp_gil), 0 },
	{ "interpreter_state.code_object_generation", PO(interp_code_gen), 0 },
	{ "thread_state.next", PO(tstate_next), REQUIRED },
	{ "thread_state.interp", PO(tstate_interp), REQUIRED },
	{ "thread_state.current_frame", PO(tstate_frame), REQUIRED },
	{ "thread_state.thread_id", PO(tstate_thread_id), REQUIRED },
	{ "thread_state.native_thread_id", PO(tstate_native_thread_id), 0 },
	{ "thread_state.datastack_chunk", PO(tstate_datastack_chunk), 0 },
	{ "thread_state.base_frame", PO(tstate_base_frame), 0 },
	{ "thread_state.status", PO(tstate_status), 0 },
	{ "interpreter_frame.previous", PO(frame_back), REQUIRED },
	{ "interpreter_frame.executable", PO(frame_code), REQUIRED },
	{ "interpreter_frame.instr_ptr", PO(frame_lasti), REQUIRED },
	{ "interpreter_frame.localsplus", PU(frame_localsplus), USER },
	{ "interpreter_frame.owner", PO(frame_owner), REQUIRED },
	{ "interpreter_frame.tlbc_index", PO(frame_tlbc_index), FT_ONLY },
	{ "code_object.filename", PO(code_filename), REQUIRED },
	{ "code_object.name", PO(code_name), REQUIRED },
	{ "code_object.qualname", PO(code_qualname), REQUIRED },
	{ "code_object.linetable", PO(code_linetable), REQUIRED },
	{ "code_object.firstlineno", PO(code_firstlineno), REQUIRED },
	{ "code_object.argcount", PU(code_argcount), USER },
	{ "code_object.localsplusnames", PU(code_localsplusnames), USER },
	{ "code_object.localspluskinds", PU(code_localspluskinds), USER },
	{ "code_object.co_code_adaptive", PO(code_adaptive), REQUIRED },
	{ "code_object.co_tlbc", PO(code_tlbc), FT_ONLY },
	{ "pyobject.ob_type", PO(object_type), REQUIRED },
	{ "type_object.tp_name", PU(type_name), USER },
	{ "type_object.tp_flags", PU(type_flags), USER },
	{ "type_object.tp_basicsize", PU(type_basicsize), USER },
	{ "type_object.tp_dictoffset", PU(type_dictoffset), USER },
	{ "heap_type_object.ht_cached_keys", PU(type_cached_keys), USER },
	{ "set_object.used", PU(set_used), USER },
	{ "set_object.table", PU(set_table), USER },
	{ "set_object.mask", PU(set_mask), USER },
	{ "tuple_object.ob_item", PU(tuple_items), USER },
	{ "tuple_object.ob_size", PU(tuple_size), USER },
	{ "list_object.ob_item", PU(list_items), USER },
	{ "list_object.ob_size", PU(list_size), USER },
	{ "dict_object.ma_keys", PU(dict_keys), USER },
	{ "dict_object.ma_values", PU(dict_values), USER },
	{ "float_object.ob_fval", PU(float_value), USER },
	{ "long_object.lv_tag", PU(long_tag), USER },
	{ "long_object.ob_digit", PU(long_digits), USER },
	{ "bytes_object.ob_size", PO(bytes_size), REQUIRED },
	{ "bytes_object.ob_sval", PO(bytes_data), REQUIRED },
	{ "unicode_object.state", PO(unicode_state), REQUIRED },
	{ "unicode_object.length", PO(unicode_length), REQUIRED },
	{ "unicode_object.asciiobject_size", PO(unicode_ascii_size), REQUIRED },
};

static void set_member(struct py_offsets *off, struct py_user_offsets *uoff, size_t member,
		       unsigned flags, int64_t v)
{
	char *base = flags & USER ? (char *)uoff : (char *)off;

	*(__s32 *)(base + member) = (__s32)v;
}

int debug_offsets_apply(const struct debug_offsets *d, struct py_offsets *off,
			struct py_user_offsets *uoff, char *err, size_t errlen)
{
	int64_t gil, locked, holder, v;
	size_t i;

	for (i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) {
		v = debug_offsets_get(d, fills[i].name);
		if ((fills[i].flags & FT_ONLY) && !d->free_threaded)
			v = -1; /* published as 0 by default builds */
		if (v < 0 && (fills[i].flags & REQUIRED)) {
			snprintf(err, errlen, "_Py_DebugOffsets of 3.%u has no %s", d->layout_minor,
				 fills[i].name);
			return -EPROTO;
		}
		if (v > INT32_MAX) {
			snprintf(err, errlen, "_Py_DebugOffsets: %s = %lld", fills[i].name,
				 (long long)v);
			return -EPROTO;
		}
		if (v >= 0 || (fills[i].flags & FT_ONLY))
			set_member(off, uoff, fills[i].member, fills[i].flags, v);
	}
	/* 3.13+ keeps the current frame in the thread state itself */
	off->tstate_cframe = -1;
	off->cframe_current_frame = -1;
	off->cframe_previous = -1;
	off->tstate_root_cframe = -1;
	off->frame_is_entry = -1;
	off->runtime_gil = -1;
	/* The GIL's fields are published relative to the interpreter, which
	 * embeds the GIL state it points at (interp->_gil). */
	gil = debug_offsets_get(d, "interpreter_state.gil_runtime_state");
	locked = debug_offsets_get(d, "interpreter_state.gil_runtime_state_locked");
	holder = debug_offsets_get(d, "interpreter_state.gil_runtime_state_holder");
	if (gil > 0 && locked >= gil && holder >= gil) {
		off->gil_locked = (__s32)(locked - gil);
		off->gil_last_holder = (__s32)(holder - gil);
	}
	/* Not published, but fixed by the published ones since 3.12: the hash
	 * follows the length, and a compact non-ASCII str adds utf8_length
	 * and utf8 to the ASCII header. */
	off->unicode_hash = off->unicode_length + 8;
	v = debug_offsets_get(d, "unicode_object.compactunicodeobject_size"); /* 3.15+ */
	off->unicode_compact_size = v > 0 ? (__s32)v : off->unicode_ascii_size + 16;
	return 0;
}
