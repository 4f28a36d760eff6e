#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
exec python3 "$(dirname "$0")/bench.py" "$@"
