/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* timeline.bpf.h - samples in time order (-f chrometrace, speedscope's
 * time-order view): each counted sample or off-CPU interval also goes to
 * a ring buffer as a struct timeline_rec.  Off unless userspace asks; the
 * counts stay the profile, the timeline only orders what they hold. */
#ifndef PYBPF_TIMELINE_BPF_H
#define PYBPF_TIMELINE_BPF_H

#include "pybpf.h"
#include "maps.bpf.h"

const volatile __u32 timeline_on = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);      /* userspace sizes it when the timeline is on */
} timeline SEC(".maps");

/* A sample (value 1) of the stack hash of (pid, tid, flags) now, or an
 * interval of value nanoseconds that ends now (COUNT_IDLE, COUNT_GILWAIT);
 * now 0: the clock read here, only when the timeline is on. */
static __always_inline void timeline_add(__u32 pid, __u32 tid, __u64 hash, __u64 native_hash,
					 __u32 flags, __u64 value, __u64 now)
{
	struct timeline_rec *r;

	if (!timeline_on || !value)
		return;
	if (!now)
		now = bpf_ktime_get_ns();
	r = bpf_ringbuf_reserve(&timeline, sizeof(*r), 0);
	if (!r) {
		stat_inc(STAT_LOST_TIMELINE);
		return;
	}
	r->pid = pid;
	r->tid = tid;
	r->flags = flags;
	r->stack_hash = hash;
	r->native_hash = native_hash;
	r->dur_ns = flags & (COUNT_IDLE | COUNT_GILWAIT) ? value : 0;
	r->time_ns = now - r->dur_ns;
	bpf_ringbuf_submit(r, 0);
}

#endif /* PYBPF_TIMELINE_BPF_H */
