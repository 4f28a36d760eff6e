/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* json.h - JSON string escaping (invalid UTF-8 becomes U+FFFD). */
#ifndef PYBPF_JSON_H
#define PYBPF_JSON_H

#include <stdio.h>

/* The characters of a JSON string, without the quotes. */
void json_chars(FILE *f, const char *s);
/* A quoted JSON string; NULL writes "". */
void json_string(FILE *f, const char *s);

#endif /* PYBPF_JSON_H */
