// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* demangle.c - C++ names demangled by libstdc++'s __cxa_demangle, the
 * demangler g++'s own runtime uses: it follows the Itanium C++ ABI as GCC
 * and Clang emit it, clone suffixes included ("foo() [clone .cold]"). */
#include <stddef.h>
#include <stdlib.h>
#include "demangle.h"

/* libstdc++ (cxxabi.h) exports it with C linkage: callable from C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *native_demangle(const char *name)
{
	char *out;
	int status = 0;

	/* only "_Z" names are C++; __cxa_demangle would also take a bare
	 * type ("i" -> "int"), turning a C symbol named i into a type */
	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	out = __cxa_demangle(name, NULL, NULL, &status);
	if (status) {
		free(out);
		return NULL;
	}
	return out;
}
