// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* target.c - privileges, the interpreter of a process that may still be
 * starting, and its end; for commands outside the sampler session. */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "launch.h"
#include "log.h"
#include "target.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int target_check_kernel(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	int need[] = { 38 /* CAP_PERFMON */, 39 /* CAP_BPF */, CAP_SYS_PTRACE };
	unsigned i;

	if (geteuid() != 0) {
		if (syscall(SYS_capget, &hdr, data))
			return -errno;
		for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
			if (!(data[need[i] / 32].effective & (1u << (need[i] % 32)))) {
				pb_err("missing privileges: run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
				return -EPERM;
			}
		}
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pb_err("kernel has no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF=y is needed");
		return -ENOTSUP;
	}
	return 0;
}

int target_inspect(pid_t pid, pid_t child, struct pyproc *p, int *child_exited,
		   int *child_code)
{
	/* a launched wrapper (a pyenv shim runs several shells) can take seconds
	 * on a loaded machine before it execs python */
	uint64_t deadline = mono_ns() + (child ? 10000000000ull : 2000000000ull);
	char exe[PATH_MAX], seen[PATH_MAX] = "";
	int err;

	for (;;) {
		err = pyproc_inspect(pid, p);
		if (err == -EAGAIN || (err == -ENOEXEC && child)) {
			proc_exe(pid, seen, sizeof(seen));
			while (mono_ns() < deadline) {
				if (child && launch_reaped(child, child_code)) {
					*child_exited = 1;
					break;
				}
				usleep(2000);
				proc_exe(pid, exe, sizeof(exe));
				if (err == -EAGAIN || strcmp(exe, seen))
					break; /* loader still busy, or a new exec */
			}
			if (mono_ns() < deadline && !*child_exited)
				continue;
		}
		return err;
	}
}

int target_alive(pid_t pid)
{
	char st = proc_state(pid, 0);

	return st && st != 'Z' && st != 'X'; /* a zombie is gone too */
}

int target_alive_every(pid_t pid, uint64_t now_ns, uint64_t *next_ns)
{
	if (now_ns < *next_ns)
		return 1;
	*next_ns = now_ns + 100000000ull;
	return target_alive(pid);
}

/* Tgid from /proc/ID/status (a thread id has its own /proc entry, hidden
 * from listings); 0 if unreadable. */
static pid_t thread_group(pid_t id)
{
	char path[64], line[128];
	pid_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", id);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Tgid:", 5)) {
			tgid = (pid_t)atoi(line + 5);
			break;
		}
	fclose(f);
	return tgid;
}

int target_resolve_pid(pid_t *pid, pid_t *tid, const char *doing)
{
	pid_t tgid = thread_group(*pid);

	*tid = 0;
	if (tgid <= 0 || tgid == *pid)
		return 0;
	pb_info("%d is thread %d of process %d: %s only that thread", *pid, *pid, tgid, doing);
	*tid = *pid;
	*pid = tgid;
	return 0;
}

int target_check_tids(pid_t pid, const struct thread_filter *f)
{
	char path[64];
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK))
		return 0;
	for (i = 0; i < f->ntids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%u", pid, f->tids[i]);
		if (access(path, F_OK)) {
			pb_err("failed to find --tid %u: no such thread in process %d", f->tids[i], pid);
			return -EINVAL;
		}
	}
	return 0;
}
