// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* test_htab.c - the userspace hash table, and forgetting entries in a long
 * run (htab_retain): every kept key still found with its value, every
 * dropped one gone, by the smaller-table path and the in-place path. */
#include <stdint.h>
#include "htab.h"
#include "unit.h"

static int keep_not_multiple(void *ctx, const void *key, void *val)
{
	uint32_t k = *(const uint32_t *)key, m = *(uint32_t *)ctx;

	(void)val;
	return k % m != 0;
}

static void fill(struct htab *h, uint32_t n)
{
	uint32_t k;

	htab_init(h, sizeof(uint32_t), sizeof(uint64_t));
	for (k = 1; k <= n; k++)
		*(uint64_t *)htab_put(h, &k, NULL) = (uint64_t)k * 7;
}

static void check_after(struct htab *h, uint32_t n, uint32_t m)
{
	uint32_t k, found = 0, wrong = 0, stale = 0;

	for (k = 1; k <= n; k++) {
		uint64_t *v = htab_get(h, &k);

		if (k % m == 0)
			stale += v != NULL;
		else if (!v)
			wrong++;
		else
			found += *v == (uint64_t)k * 7;
	}
	CHECK_EQ_INT(found, n - n / m);
	CHECK_EQ_INT(wrong, 0);
	CHECK_EQ_INT(stale, 0);
	CHECK_EQ_INT(h->len, n - n / m);
}

static void test_retain(uint32_t n, uint32_t m, int shrinks)
{
	struct htab h;
	size_t cap;
	uint32_t k = n + 1;

	fill(&h, n);
	cap = h.cap;
	CHECK_EQ_INT(htab_retain(&h, keep_not_multiple, &m), n / m);
	CHECK(shrinks ? h.cap < cap : h.cap == cap);
	check_after(&h, n, m);
	/* still a working table: a new key goes in and is found */
	*(uint64_t *)htab_put(&h, &k, NULL) = 1;
	CHECK(htab_get(&h, &k) && *(uint64_t *)htab_get(&h, &k) == 1);
	CHECK_EQ_INT(htab_retain(&h, keep_not_multiple, &(uint32_t){ 0xffffffff }), 0);
	htab_free(&h);
}

int main(void)
{
	test_retain(1000, 10, 0);    /* 900 kept of 1000 need the same 2048 slots: in place */
	test_retain(1000, 3, 0);
	test_retain(1000, 1, 1);     /* all go: the smallest table */
	test_retain(5000, 2, 1);     /* half go: a table half the size */
	return unit_summary("test_htab");
}
