#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Rewrite the golden files of the output writers, then show what changed.
set -e
cd "$(dirname "$0")/.."
make build/tests/test_output
PYBPF_REFRESH_GOLDEN=1 build/tests/test_output
git diff --stat tests/golden
