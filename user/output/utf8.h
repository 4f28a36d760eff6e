/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* utf8.h - validate and encode UTF-8 (decoded CPython strings, XML, JSON). */
#ifndef PYBPF_UTF8_H
#define PYBPF_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s, 0 if it is not one (overlong
 * forms and surrogates included).  Writers whose formats reject bad
 * bytes (XML, JSON) replace those with U+FFFD. */
size_t utf8_len(const unsigned char *s);
/* The character at s (avail > 0 bytes there) of a byte string that is
 * mostly UTF-8 (CPython 2.7's str names and file names): a valid UTF-8
 * sequence gives its code point, any other byte the Latin-1 character of
 * its value, so no byte is lost.  *len is the bytes used. */
uint32_t utf8_get(const unsigned char *s, size_t avail, size_t *len);
/* Encode code point c at out (room for 4 bytes); returns the length. */
size_t utf8_put(char *out, uint32_t c);

#endif /* PYBPF_UTF8_H */
