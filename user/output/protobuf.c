/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* protobuf.c - a minimal protocol buffer encoder (wire format only, no
 * schema): see protobuf.h.  Used by the pprof writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protobuf.h"

void proto_free(struct proto_buf *b)
{
	if (!b)
		return;
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void proto_reset(struct proto_buf *b)
{
	b->len = 0;
}

/* Room for n more bytes; 0 or sets the sticky error. */
static int reserve(struct proto_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *data;

	if (b->err)
		return b->err;
	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data)
		return b->err = -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

size_t proto_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void proto_raw(struct proto_buf *b, const void *data, size_t len)
{
	if (len == 0 || reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* Seven bits per byte, least significant group first, high bit = more. */
void proto_varint(struct proto_buf *b, uint64_t v)
{
	if (reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
}

void proto_key(struct proto_buf *b, uint32_t field, enum proto_wire wire)
{
	proto_varint(b, (uint64_t)field << 3 | wire);
}

void proto_uint(struct proto_buf *b, uint32_t field, uint64_t v)
{
	proto_key(b, field, PROTO_VARINT);
	proto_varint(b, v);
}

void proto_bytes(struct proto_buf *b, uint32_t field, const void *data, size_t len)
{
	proto_key(b, field, PROTO_LEN);
	proto_varint(b, len);
	proto_raw(b, data, len);
}

void proto_string(struct proto_buf *b, uint32_t field, const char *s)
{
	s = s ? s : "";
	proto_bytes(b, field, s, strlen(s));
}

void proto_message(struct proto_buf *b, uint32_t field, const struct proto_buf *sub)
{
	if (sub->err && !b->err)
		b->err = sub->err;
	proto_bytes(b, field, sub->data, sub->len);
}

void proto_packed(struct proto_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t i, len = 0;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		len += proto_varint_size(v[i]);
	proto_key(b, field, PROTO_LEN);
	proto_varint(b, len);
	if (reserve(b, len))
		return;
	for (i = 0; i < n; i++)
		proto_varint(b, v[i]);
}
