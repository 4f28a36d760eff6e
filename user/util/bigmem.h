/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* bigmem.h - zeroed memory for the large tables a drain walks (hash
 * tables, count slot memos, profile rows).  From 2 MiB up it is its own
 * mapping of huge pages where the kernel has them (transparent huge
 * pages on madvise): on 4 KiB pages a drain that touches a few keys of
 * each page pays a TLB miss for most keys -- on a VM a two-level page
 * walk, hundreds of ns -- and a table growing into new memory a page
 * fault per 4 KiB, tens of microseconds each. */
#ifndef PYBPF_BIGMEM_H
#define PYBPF_BIGMEM_H

#include <stddef.h>

#define BIGMEM_HUGE (2u << 20)

/* n zeroed bytes, or NULL; give them back with bigmem_free(p, n). */
void *bigmem_alloc(size_t n);
void bigmem_free(void *p, size_t n);

#endif /* PYBPF_BIGMEM_H */
