/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* kallsyms.h - the running kernel's text symbols, from /proc/kallsyms. */
#ifndef PYBPF_KALLSYMS_H
#define PYBPF_KALLSYMS_H

#include <stdint.h>

/* Call fn for every text symbol (types t, T, w, W) with a non-zero
 * address, in the file's order, until it returns non-zero.  -errno if
 * the file cannot be opened (addresses are 0 without CAP_SYSLOG, so
 * none is reported then). */
int kallsyms_each_text(int (*fn)(void *ctx, uint64_t addr, const char *name), void *ctx);

#endif
