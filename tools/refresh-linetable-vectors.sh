#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# refresh-linetable-vectors.sh - regenerates tests/unit/data/linetable-X.Y.txt
# with every CPython installed under $PYENV_ROOT/versions (default
# /root/.pyenv/versions; names starting with a digit, so not pypy-*), one
# file per minor version.
#
# Usage: tools/refresh-linetable-vectors.sh [python ...]
#   Extra interpreters given as arguments run after the pyenv ones and so win
#   for their minor version (e.g. /usr/bin/python3.11).  Tables differ between
#   patch releases (3.11.2 and 3.11.7 compile some code differently), so the
#   header of each file records which interpreter wrote it.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/unit/data"
gen="$root/tools/gen-linetable-vectors.py"
versions="${PYENV_ROOT:-/root/.pyenv}/versions"

mkdir -p "$out"
found=0
for py in "$versions"/[0-9]*/bin/python "$@"; do
	[ -x "$py" ] || continue
	# Free-threaded or debug builds share X.Y with the default build:
	# only the default build writes vectors.
	case "$py" in *t/bin/python|*-debug/bin/python) continue ;; esac
	"$py" "$gen" "$out"
	found=$((found + 1))
done
if [ "$found" -eq 0 ]; then
	echo "refresh-linetable-vectors: no interpreter found in $versions" >&2
	exit 1
fi
ls -l "$out"/linetable-*.txt
