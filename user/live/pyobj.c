// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pyobj.c - short reprs of objects in a live CPython, read with
 * process_vm_readv (see pyobj.h); the text syntax is in pyobj_fmt.c.
 *
 * Types are told apart by comparing ob_type with the addresses of the
 * exported type objects (PyLong_Type, ...), resolved once per process
 * from the interpreter's ELF symbols; None, True and False by their own
 * addresses.  Subclasses of builtins show as "<Type at 0x...>". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elffile.h"
#include "pyobj_impl.h"

/* ---- per-process addresses of the builtin types and singletons ---- */

static const char *const type_symbols[T_NR] = {
	"PyLong_Type", "PyBool_Type", "PyFloat_Type", "PyUnicode_Type", "PyBytes_Type",
	"PyList_Type", "PyTuple_Type", "PyDict_Type", "PySet_Type", "PyFrozenSet_Type",
	"PyCell_Type", "PyInt_Type", NULL, "PyInstance_Type",
};

#define KNOWN_SLOTS 8
static struct known known_cache[KNOWN_SLOTS];
static unsigned known_next;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static uint64_t rd_ptr(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;

	return addr && proc_read(pid, addr, &v, sizeof(v)) == 0 ? v : 0;
}

/* Symbols of p->elf_path, opened through /proc/PID/root (containers).
 * A file that cannot be read leaves every address 0: objects then show
 * as "<Type at 0x...>", which is still true. */
static const struct known *known_get(const struct pyproc *p)
{
	uint64_t h = hash_str(p->elf_path), sym;
	struct elf_file *ef = NULL;
	char path[PATH_MAX + 32];
	struct known *k;
	unsigned i;

	for (i = 0; i < KNOWN_SLOTS; i++) {
		k = &known_cache[i];
		if (k->used && k->pid == p->pid && k->bias == p->bias && k->path_hash == h)
			return k;
	}
	k = &known_cache[known_next++ % KNOWN_SLOTS];
	memset(k, 0, sizeof(*k));
	k->used = 1;
	k->pid = p->pid;
	k->bias = p->bias;
	k->path_hash = h;
	snprintf(path, sizeof(path), "/proc/%d/root%s", p->pid, p->elf_path);
	if (elf_open(path, &ef))
		return k;
#define ADDR(name) ((sym = elf_symbol(ef, name)) ? sym + p->bias : 0)
	k->none = ADDR("_Py_NoneStruct");
	k->true_ = ADDR("_Py_TrueStruct");
	k->false_ = ADDR("_Py_FalseStruct");
	if (!k->false_)
		k->false_ = ADDR("_Py_ZeroStruct");   /* 2.7's name for it */
	for (i = 0; i < T_NR; i++)
		k->types[i] = type_symbols[i] ? ADDR(type_symbols[i]) : 0;
	/* names that are byte strings (unicode_state < 0, 2.7) are of 2.7's
	 * str type, PyString_Type; PyUnicode_Type is then its unicode type */
	if (p->off.unicode_state < 0) {
		k->types[T_UNICODE] = k->types[T_STR];
		k->types[T_STR] = ADDR("PyString_Type");
	}
	/* a PyObject * variable pointing at a static object */
	k->set_dummy = rd_ptr(p->pid, ADDR("_PySet_Dummy"));
#undef ADDR
	elf_close(ef);
	return k;
}

static int type_index(const struct known *k, uint64_t type)
{
	int i;

	for (i = 0; i < T_NR; i++)
		if (k->types[i] && k->types[i] == type)
			return i;
	return T_OTHER;
}

/* ---- reading objects ---- */

void obj_reader(struct reader *r, const struct pyproc *p)
{
	r->p = p;
	r->f = &p->off;
	r->u = &p->uoff;
	r->k = known_get(p);
}

int obj_read(const struct reader *r, uint64_t addr, void *buf, size_t len)
{
	return addr ? proc_read(r->p->pid, addr, buf, len) : -EFAULT;
}

uint64_t obj_read_ptr(const struct reader *r, uint64_t addr)
{
	uint64_t v = 0;

	return obj_read(r, addr, &v, sizeof(v)) == 0 ? v : 0;
}

int obj_read_ssize(const struct reader *r, uint64_t addr, int64_t *v)
{
	return obj_read(r, addr, v, sizeof(*v));
}

/* Limits per detail level: characters of a str/bytes, container items. */
static size_t str_limit(int detail)
{
	return detail <= 1 ? 60 : detail == 2 ? 200 : 800;
}

static size_t items_limit(int detail)
{
	return detail <= 1 ? 0 : detail == 2 ? 6 : 20;
}

#define STR_MAX 800   /* str_limit() at most */

/* 2.7's names: PyStringObject, length at unicode_length, bytes at
 * unicode_ascii_size, decoded leniently as UTF-8 (see obj_read_str). */
static int read_byte_str(const struct reader *r, uint64_t addr, uint32_t *chars, size_t max,
			 size_t *n, size_t *total)
{
	const struct py_offsets *f = r->f;
	uint8_t raw[STR_MAX * 4];
	int64_t length = 0;
	size_t got, i, step;

	if (obj_read_ssize(r, addr + f->unicode_length, &length) || length < 0)
		return -EIO;
	got = (size_t)length < max * 4 ? (size_t)length : max * 4;
	if (got && obj_read(r, addr + f->unicode_ascii_size, raw, got))
		return -EIO;
	for (i = 0, *n = 0; i < got && *n < max; i += step)
		chars[(*n)++] = utf8_get(raw + i, got - i, &step);
	*total = *n + ((size_t)length - i);
	return 0;
}

/* Code points of a compact str object (PEP 393), at most max of them;
 * *total is its length.  PyASCIIObject.state bit-fields are the same from
 * 3.3 to 3.13: interned:2, kind:3, compact:1, ascii:1.  Legacy non-compact
 * strings (deprecated Py_UNICODE APIs, <= 3.11) give -ENOTSUP. */
int obj_read_str(const struct reader *r, uint64_t addr, uint32_t *chars, size_t max,
		 size_t *n, size_t *total)
{
	const struct py_offsets *f = r->f;
	uint8_t raw[STR_MAX * 4];
	uint32_t state = 0, kind;
	int64_t length = 0;
	uint64_t data;
	size_t i;

	if (max > STR_MAX)
		max = STR_MAX;
	if (f->unicode_state < 0)
		return read_byte_str(r, addr, chars, max, n, total);
	if (obj_read(r, addr + f->unicode_state, &state, sizeof(state)) ||
	    obj_read_ssize(r, addr + f->unicode_length, &length) || length < 0)
		return -EIO;
	if (!((state >> 5) & 1))
		return -ENOTSUP;
	kind = (state >> 6) & 1 ? 1 : (state >> 2) & 7;
	if (kind != 1 && kind != 2 && kind != 4)
		return -EIO;
	data = addr + ((state >> 6) & 1 ? f->unicode_ascii_size : f->unicode_compact_size);
	*total = (size_t)length;
	*n = *total < max ? *total : max;
	if (*n && obj_read(r, data, raw, *n * kind))
		return -EIO;
	for (i = 0; i < *n; i++) {
		const uint8_t *c = raw + i * kind;

		chars[i] = kind == 1 ? c[0] : kind == 2 ? (uint32_t)(c[0] | c[1] << 8)
			   : (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
			     (uint32_t)c[3] << 24;
	}
	return 0;
}

/* A C string of the target (tp_name), read page by page. */
static int read_cstr(const struct reader *r, uint64_t addr, char *out, size_t len)
{
	size_t got = 0, chunk, i;

	out[0] = 0;
	while (got + 1 < len) {
		chunk = 4096 - ((addr + got) & 4095);
		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		if (obj_read(r, addr + got, out + got, chunk))
			return got ? 0 : -EIO;
		for (i = got; i < got + chunk; i++)
			if (!out[i])
				return 0;
		got += chunk;
		out[got] = 0;
	}
	return 0;
}

static void repr_other(const struct reader *r, uint64_t addr, uint64_t type, struct out *o)
{
	char name[80];
	uint64_t tp_name = 0;
	size_t i;

	if (obj_read(r, type + r->u->type_name, &tp_name, 8) ||
	    read_cstr(r, tp_name, name, sizeof(name))) {
		out_puts(o, "<unreadable>");
		return;
	}
	for (i = 0; name[i]; i++)
		if ((uint8_t)name[i] < 0x20 || name[i] == 0x7f)
			name[i] = '?';
	out_printf(o, "<%s at 0x%" PRIx64 ">", name, addr);
}

static void repr_str(const struct reader *r, uint64_t addr, int detail, struct out *o)
{
	uint32_t chars[STR_MAX];
	size_t n = 0, total = 0;
	int err = obj_read_str(r, addr, chars, str_limit(detail), &n, &total);

	if (err == -ENOTSUP)
		out_printf(o, "str(len=%zu)", total);
	else if (err)
		out_puts(o, "<unreadable>");
	else
		out_quoted(o, chars, n, total, Q_STR);
}

/* bytes (b'...'), or 2.7's str (prefix 0): the same escapes, no prefix */
static void repr_bytes(const struct reader *r, uint64_t addr, int detail, int prefix,
		       struct out *o)
{
	uint32_t chars[STR_MAX];
	uint8_t raw[STR_MAX];
	int64_t size = 0;
	size_t n, i;

	if (obj_read_ssize(r, addr + r->f->bytes_size, &size) || size < 0) {
		out_puts(o, "<unreadable>");
		return;
	}
	n = (size_t)size < str_limit(detail) ? (size_t)size : str_limit(detail);
	if (n && obj_read(r, addr + r->f->bytes_data, raw, n)) {
		out_puts(o, "<unreadable>");
		return;
	}
	for (i = 0; i < n; i++)
		chars[i] = raw[i];
	out_quoted(o, chars, n, (size_t)size, prefix ? Q_BYTES : Q_STR27);
}

#define INT_MAX_DIGITS 2048  /* internal digits converted exactly (~18k decimal) */

/* base 2^bits digits (least significant first, destroyed) -> decimal
 * characters, least significant first; nine per division by 10^9. */
static size_t int_to_decimal(uint32_t *d, size_t ndig, uint64_t bits, char *dec)
{
	size_t nd = 0, i;

	while (ndig) {
		uint64_t rem = 0;

		for (i = ndig; i-- > 0;) {
			uint64_t cur = rem << bits | d[i];

			d[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		while (ndig && !d[ndig - 1])
			ndig--;
		for (i = 0; i < 9 && (ndig || rem); i++, rem /= 10)
			dec[nd++] = (char)('0' + rem % 10);
	}
	return nd;
}

/* Exact when the magnitude fits in 64 bits (or, at detail 2+, in a few
 * hundred decimal digits), else "<int, N digits>".  3.12 moved the sign
 * and digit count from ob_size into lv_tag (gh-101291). */
static void repr_int(const struct reader *r, uint64_t addr, int detail, struct out *o)
{
	const struct py_user_offsets *u = r->u;
	uint64_t ndig, bits = (uint64_t)u->long_digit_bits, nbits;
	size_t nd = 0, i, dsize = (size_t)u->long_digit_size;
	uint8_t *raw = NULL;
	uint32_t *d = NULL;
	char *dec = NULL;
	int neg;

	if (u->long_tag >= 0) {
		uint64_t tag;

		if (obj_read(r, addr + u->long_tag, &tag, 8))
			goto unreadable;
		ndig = tag >> u->long_tag_size_shift;
		neg = (int64_t)(tag & (uint64_t)u->long_tag_sign_mask) == u->long_tag_negative;
	} else {
		int64_t size;

		if (obj_read_ssize(r, addr + u->long_size, &size))
			goto unreadable;
		neg = size < 0;
		ndig = size < 0 ? (uint64_t)-size : (uint64_t)size;
	}
	if (ndig == 0) {
		out_puts(o, "0");
		return;
	}
	if ((dsize != 2 && dsize != 4) || bits < 8 || bits > 30)
		goto unreadable;
	if (ndig > INT_MAX_DIGITS) {
		/* too long to convert: the decimal length from the bit length */
		out_printf(o, "<%sint, ~%" PRIu64 " digits>", neg ? "negative " : "",
			   ndig * bits * 30103 / 100000 + 1);
		return;
	}
	raw = malloc(ndig * dsize);
	d = malloc(ndig * sizeof(*d));
	dec = malloc(ndig * 10 + 1);
	if (!raw || !d || !dec || obj_read(r, addr + u->long_digits, raw, ndig * dsize))
		goto unreadable;
	for (i = 0; i < ndig; i++) {
		d[i] = dsize == 4 ? (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
				    (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24
				  : (uint32_t)(raw[2 * i] | raw[2 * i + 1] << 8);
		if (d[i] >> bits)
			goto unreadable;     /* not a digit: changed under us */
	}
	for (nbits = (ndig - 1) * bits; d[ndig - 1] >> (nbits - (ndig - 1) * bits); nbits++)
		;
	nd = int_to_decimal(d, ndig, bits, dec);
	if (nbits > 64 && nd > (detail <= 1 ? 0u : detail == 2 ? 100u : 400u)) {
		out_printf(o, "<%sint, %zu digits>", neg ? "negative " : "", nd);
	} else {
		if (neg)
			out_puts(o, "-");
		while (nd)
			out_put(o, &dec[--nd], 1);
	}
	free(raw);
	free(d);
	free(dec);
	return;
unreadable:
	free(raw);
	free(d);
	free(dec);
	out_puts(o, "<unreadable>");
}

static void repr_float(const struct reader *r, uint64_t addr, struct out *o)
{
	double v;
	char tmp[40];

	if (obj_read(r, addr + r->u->float_value, &v, sizeof(v))) {
		out_puts(o, "<unreadable>");
		return;
	}
	pyobj_format_float(v, tmp, sizeof(tmp));
	out_puts(o, tmp);
}

#define ITEMS_MAX 20  /* items_limit() at most */

/* list and tuple: "list(len=3)", or at detail 2+ "[1, 'a', None]"; a cut
 * list ends in ", ...] (len=N)". */
static void repr_seq(const struct reader *r, uint64_t addr, int tuple, int detail, struct out *o)
{
	const struct py_user_offsets *u = r->u;
	uint64_t items[ITEMS_MAX], base;
	int64_t size;
	size_t n, i;

	if (obj_read_ssize(r, addr + (tuple ? u->tuple_size : u->list_size), &size) || size < 0) {
		out_puts(o, "<unreadable>");
		return;
	}
	n = (size_t)size < items_limit(detail) ? (size_t)size : items_limit(detail);
	base = tuple ? addr + u->tuple_items : obj_read_ptr(r, addr + u->list_items);
	if (detail <= 1 || (n && obj_read(r, base, items, n * 8))) {
		out_printf(o, "%s(len=%" PRId64 ")", tuple ? "tuple" : "list", size);
		return;
	}
	out_puts(o, tuple ? "(" : "[");
	for (i = 0; i < n; i++) {
		if (i)
			out_puts(o, ", ");
		obj_repr(r, items[i], 1, o);
	}
	if ((size_t)size > n)
		out_puts(o, ", ...");
	else if (tuple && size == 1)
		out_puts(o, ",");
	out_puts(o, tuple ? ")" : "]");
	if ((size_t)size > n)
		out_printf(o, " (len=%" PRId64 ")", size);
}

static void repr_dict(const struct reader *r, uint64_t addr, int detail, struct out *o)
{
	uint64_t kv[2 * ITEMS_MAX];
	int64_t used;
	size_t n = 0, i;

	if (obj_read_ssize(r, addr + r->u->dict_used, &used) || used < 0) {
		out_puts(o, "<unreadable>");
		return;
	}
	if (detail <= 1 || obj_dict_items(r, addr, kv, items_limit(detail), &n)) {
		out_printf(o, "dict(len=%" PRId64 ")", used);
		return;
	}
	out_puts(o, "{");
	for (i = 0; i < n; i++) {
		if (i)
			out_puts(o, ", ");
		obj_repr(r, kv[2 * i], 1, o);
		out_puts(o, ": ");
		obj_repr(r, kv[2 * i + 1], 1, o);
	}
	if ((size_t)used > n)
		out_puts(o, n ? ", ...}" : "...}");
	else
		out_puts(o, "}");
	if ((size_t)used > n)
		out_printf(o, " (len=%" PRId64 ")", used);
}

static void repr_set(const struct reader *r, uint64_t addr, int frozen, int detail,
		     struct out *o)
{
	const struct py_user_offsets *u = r->u;
	const char *name = frozen ? "frozenset" : "set";
	uint64_t keys[ITEMS_MAX], table, e[2 * 64];
	int64_t used, mask;
	size_t n = 0, max = items_limit(detail), i, j, chunk, step;

	if (obj_read_ssize(r, addr + u->set_used, &used) || used < 0) {
		out_puts(o, "<unreadable>");
		return;
	}
	table = obj_read_ptr(r, addr + u->set_table);
	step = (size_t)u->setentry_size;
	if (detail <= 1 || !table || obj_read_ssize(r, addr + u->set_mask, &mask) || mask < 0 ||
	    mask > (1 << 20) || step != 16) {
		out_printf(o, "%s(len=%" PRId64 ")", name, used);
		return;
	}
	for (i = 0; i <= (size_t)mask && n < max && n < (size_t)used; i += chunk) {
		chunk = (size_t)mask + 1 - i < 64 ? (size_t)mask + 1 - i : 64;
		if (obj_read(r, table + i * step, e, chunk * step))
			break;
		for (j = 0; j < chunk && n < max; j++) {
			uint64_t key = e[2 * j + u->setentry_key / 8];

			if (key && key != r->k->set_dummy)
				keys[n++] = key;
		}
	}
	if (!used) {
		out_printf(o, "%s()", name);
		return;
	}
	if (frozen)
		out_puts(o, "frozenset(");
	out_puts(o, "{");
	for (i = 0; i < n; i++) {
		if (i)
			out_puts(o, ", ");
		obj_repr(r, keys[i], 1, o);
	}
	if ((size_t)used > n)
		out_puts(o, n ? ", ...}" : "...}");
	else
		out_puts(o, "}");
	if (frozen)
		out_puts(o, ")");
	if ((size_t)used > n)
		out_printf(o, " (len=%" PRId64 ")", used);
}

void obj_repr(const struct reader *r, uint64_t addr, int detail, struct out *o)
{
	const struct known *k = r->k;
	uint64_t type;

	if (!addr) {
		out_puts(o, "<NULL>");
		return;
	}
	if (k->none && addr == k->none) {
		out_puts(o, "None");
		return;
	}
	if ((k->true_ && addr == k->true_) || (k->false_ && addr == k->false_)) {
		out_puts(o, addr == k->true_ ? "True" : "False");
		return;
	}
	if (obj_read(r, addr + r->f->object_type, &type, 8) || !type) {
		out_puts(o, "<unreadable>");
		return;
	}
	switch (type_index(k, type)) {
	case T_LONG:
	case T_BOOL:   /* only True and False exist; read as an int otherwise */
		repr_int(r, addr, detail, o);
		break;
	case T_FLOAT:
		repr_float(r, addr, o);
		break;
	case T_STR:   /* 2.7's str is a byte string: the repr of bytes, no b */
		if (r->f->unicode_state < 0)
			repr_bytes(r, addr, detail, 0, o);
		else
			repr_str(r, addr, detail, o);
		break;
	case T_BYTES:
		repr_bytes(r, addr, detail, 1, o);
		break;
	case T_INT:
		obj_repr_int27(r, addr, o);
		break;
	case T_UNICODE:
		obj_repr_unicode27(r, addr, str_limit(detail), o);
		break;
	case T_INSTANCE:
		obj_repr_instance27(r, addr, o);
		break;
	case T_LIST:
	case T_TUPLE:
		repr_seq(r, addr, type == k->types[T_TUPLE], detail, o);
		break;
	case T_DICT:
		repr_dict(r, addr, detail, o);
		break;
	case T_SET:
	case T_FROZENSET:
		repr_set(r, addr, type == k->types[T_FROZENSET], detail, o);
		break;
	default:
		repr_other(r, addr, type, o);
		break;
	}
}

int pyobj_repr(const struct pyproc *p, uint64_t addr, int detail, char *buf, size_t len)
{
	struct reader r;
	struct out o;

	if (!buf || !len || !p || !p->major)
		return -EINVAL;
	obj_reader(&r, p);
	out_init(&o, buf, len);
	obj_repr(&r, addr, detail < 1 ? 1 : detail, &o);
	return 0;
}
