// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bigmem.c - see bigmem.h. */
#include <stdlib.h>
#include <sys/mman.h>
#include "bigmem.h"

static size_t mapped_bytes(size_t n)
{
	return (n + BIGMEM_HUGE - 1) / BIGMEM_HUGE * BIGMEM_HUGE;
}

void *bigmem_alloc(size_t n)
{
	void *p;

	if (n < BIGMEM_HUGE)
		return calloc(1, n ? n : 1);
	p = mmap(NULL, mapped_bytes(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, mapped_bytes(n), MADV_HUGEPAGE); /* a hint: 4 KiB pages work too */
	return p;
}

void bigmem_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < BIGMEM_HUGE)
		free(p);
	else
		munmap(p, mapped_bytes(n));
}
