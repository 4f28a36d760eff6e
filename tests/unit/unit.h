/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* unit.h - the smallest test harness: CHECK macros and a summary line.
 *
 * Each tests/unit/test_*.c is its own program; main() runs its cases and
 * returns unit_summary(), which prints "N passed, N failed" and exits
 * non-zero on any failure.
 */
#ifndef PYBPF_UNIT_H
#define PYBPF_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond) do {                                                   \
	if (cond) { unit_passed++; }                                       \
	else { unit_failed++;                                              \
	       fprintf(stderr, "%s:%d: CHECK failed: %s\n",                \
		       __FILE__, __LINE__, #cond); }                       \
} while (0)

#define CHECK_EQ_INT(a, b) do {                                            \
	long long _a = (long long)(a), _b = (long long)(b);                \
	if (_a == _b) { unit_passed++; }                                   \
	else { unit_failed++;                                              \
	       fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",       \
		       __FILE__, __LINE__, #a, _a, _b); }                  \
} while (0)

#define CHECK_EQ_STR(a, b) do {                                            \
	const char *_a = (a), *_b = (b);                                   \
	if (_a && _b && strcmp(_a, _b) == 0) { unit_passed++; }            \
	else { unit_failed++;                                              \
	       fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",   \
		       __FILE__, __LINE__, #a, _a ? _a : "(null)",         \
		       _b ? _b : "(null)"); }                              \
} while (0)

static inline int unit_summary(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif /* PYBPF_UNIT_H */
