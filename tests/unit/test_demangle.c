/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_demangle.c - C++ names through native_demangle (user/native/demangle.c):
 * namespaces, classes, templates, clone suffixes demangled; C names,
 * bare type codes and broken manglings left alone (NULL). */
#include <stdlib.h>
#include "unit.h"
#include "demangle.h"

static void check(const char *mangled, const char *want)
{
	char *got = native_demangle(mangled);

	if (want)
		CHECK_EQ_STR(got ? got : "(null)", want);
	else
		CHECK_EQ_STR(got ? got : "(null)", "(null)");
	free(got);
}

int main(void)
{
	check("_ZN3foo3barEv", "foo::bar()");
	check("_ZN10pybpf_test4spin4burnEl", "pybpf_test::spin::burn(long)");
	check("_ZNK5shape6Circle4areaEv", "shape::Circle::area() const");
	check("_ZNSt6vectorIiSaIiEE9push_backERKi",
	      "std::vector<int, std::allocator<int> >::push_back(int const&)");
	check("_ZN3foo3barEv.cold", "foo::bar() [clone .cold]");
	check("_ZL6helperi", "helper(int)");
	/* not C++: kept as they are */
	check("main", NULL);
	check("_PyEval_EvalFrameDefault", NULL);
	check("i", NULL);          /* a C symbol that is also a type code */
	check("_Z", NULL);
	check("_Zfoo", NULL);
	check("", NULL);
	check(NULL, NULL);
	return unit_summary("test_demangle");
}
