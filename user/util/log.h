/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* log.h - the one way pybpf prints errors, warnings and -v detail. */
#ifndef PYBPF_LOG_H
#define PYBPF_LOG_H

#include <stdarg.h>

extern int log_verbose;

/* "pybpf: <message>" on stderr, one line. */
void pb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pybpf: <message>": what pybpf did, not a problem (SIGUSR1's write,
 * a command it stopped, a thread id taken for its process). */
void pb_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void pb_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PYBPF_LOG_H */
