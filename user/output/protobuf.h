/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* protobuf.h - the few protocol buffer encodings the pprof writer needs:
 * varints, length-delimited fields and packed repeated varints, appended
 * to a growable byte buffer.
 *
 * Only the wire format (protobuf's "Encoding" guide): a field is a key,
 * (field number << 3 | wire type), then its payload.  int64 and uint64
 * fields are plain varints (negative int64 take 10 bytes; no zigzag,
 * that is only for sint64, which pprof does not use).  A nested message
 * is built in a buffer of its own and appended with proto_message(), so
 * its length is known before it is written.
 *
 * Allocation failure is sticky: the first one sets err to -ENOMEM, later
 * calls do nothing, and the caller checks err once at the end.
 */
#ifndef PYBPF_PROTOBUF_H
#define PYBPF_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

enum proto_wire {
	PROTO_VARINT = 0,
	PROTO_LEN = 2,       /* length-delimited: bytes, strings, messages, packed */
};

struct proto_buf {
	uint8_t *data;
	size_t len, cap;
	int err;             /* 0 or -ENOMEM, sticky */
};

void proto_free(struct proto_buf *b);
/* Forget the contents, keep the memory (and the error). */
void proto_reset(struct proto_buf *b);

/* Bytes the varint encoding of v takes: 1..10. */
size_t proto_varint_size(uint64_t v);
void proto_raw(struct proto_buf *b, const void *data, size_t len);
void proto_varint(struct proto_buf *b, uint64_t v);
void proto_key(struct proto_buf *b, uint32_t field, enum proto_wire wire);

/* A varint field: uint64, or int64/bool cast to uint64.  Always written,
 * zero included (proto3 readers treat an absent field as zero anyway). */
void proto_uint(struct proto_buf *b, uint32_t field, uint64_t v);
void proto_bytes(struct proto_buf *b, uint32_t field, const void *data, size_t len);
void proto_string(struct proto_buf *b, uint32_t field, const char *s);
/* A nested message whose encoding is in sub (an error in sub carries over). */
void proto_message(struct proto_buf *b, uint32_t field, const struct proto_buf *sub);
/* A packed repeated varint field (repeated uint64/int64); nothing if n == 0. */
void proto_packed(struct proto_buf *b, uint32_t field, const uint64_t *v, size_t n);

#endif /* PYBPF_PROTOBUF_H */
