# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cxx.py - Python calling C++: call_cxx() calls, through ctypes, a C++
function in a namespace and a class that spins on the CPU.

Usage: cxx.py SECONDS LIB.so

LIB.so is compiled by the test with g++ from CXX_SOURCE below: spin(n)
(C linkage, for ctypes) calls pybpf_test::spin::Burner::burn(unsigned
long), kept out of line, whose symbol is mangled
(_ZN10pybpf_test4spin6Burner4burnEm): a profile must show it demangled,
as pybpf_test::spin::Burner::burn(unsigned long), under call_cxx.
"ready" is printed once the loop runs.
"""
import ctypes
import sys

CXX_SOURCE = r"""
namespace pybpf_test {
namespace spin {
struct Burner {
	static unsigned long burn(unsigned long n);
};

__attribute__((noinline)) unsigned long Burner::burn(unsigned long n)
{
	volatile unsigned long x = 0;

	for (unsigned long i = 0; i < n; i++)
		x = x + i;
	return x;
}
}
}

extern "C" unsigned long spin(unsigned long n)
{
	return pybpf_test::spin::Burner::burn(n) + 1;
}
"""


def call_cxx(lib, n):
    return lib.spin(ctypes.c_ulong(n))  # @call


def main():
    from compat import monotonic, say  # here: the test imports this file for CXX_SOURCE
    seconds, lib = float(sys.argv[1]), ctypes.CDLL(sys.argv[2])
    lib.spin.restype = ctypes.c_ulong
    end = monotonic() + seconds
    call_cxx(lib, 1000)
    say("ready")
    while monotonic() < end:
        call_cxx(lib, 2000000)


if __name__ == "__main__":
    main()
