/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* demangle.h - C++ symbol names as people write them (_ZN3foo3barEv ->
 * foo::bar()), through libstdc++'s own demangler (README: Dependencies). */
#ifndef PYBPF_DEMANGLE_H
#define PYBPF_DEMANGLE_H

/* The demangled form of a C++ (Itanium ABI, "_Z...") symbol name,
 * malloc'd; NULL when name is not one (C, Rust's legacy names that do not
 * parse, garbage) or when out of memory: the caller keeps name. */
char *native_demangle(const char *name);

#endif /* PYBPF_DEMANGLE_H */
