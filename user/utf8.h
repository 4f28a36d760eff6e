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
/* Encode code point c at out (room for 4 bytes); returns the length. */
size_t utf8_put(char *out, uint32_t c);

#endif /* PYBPF_UTF8_H */
