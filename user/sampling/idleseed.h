/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* idleseed.h - --idle's start: the threads of a process that are already
 * blocked, handed to the sampler with their stacks. */
#ifndef PYBPF_IDLESEED_H
#define PYBPF_IDLESEED_H

#include "proc.h"
#include "sampler.h"
#include "symbols.h"

/* Walk p's threads from userspace; each one waiting now (state S or D)
 * is charged from now on to the stack it waits in.  0 or -errno. */
int idle_seed_process(struct sampler *smp, struct symbols *syms, const struct pyproc *p);

#endif /* PYBPF_IDLESEED_H */
