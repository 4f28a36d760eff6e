// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gilprobe.c - where `pybpf gil` attaches: the file offsets of take_gil
 * and drop_gil (static functions: local symbols in .symtab), from the
 * interpreter itself or from its separate debug file; else the exported
 * PyEval_RestoreThread / PyEval_SaveThread around them (plus
 * PyEval_AcquireThread / PyEval_ReleaseThread, which new and finishing
 * threads call instead). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "elffile.h"
#include "gilprobe.h"
#include "log.h"

const char gil_fallback_missing[] =
	"missing: the forced GIL switches between busy threads (every switch interval, 5 ms), "
	"so their waits are not counted and their holds run from one blocking call to the next";

/* _Py_DebugOffsets (3.13+, at the start of _PyRuntime, a layout meant
 * for debuggers): char cookie[8]; uint64_t version; uint64_t free_threaded */
#define DEBUG_COOKIE        "xdebugpy"
#define DEBUG_FREE_THREADED 16

int gil_free_threaded(const struct pyproc *p)
{
	char cookie[8];
	uint64_t ft = 0;

	if (!p->runtime_addr || p->major < 3 || (p->major == 3 && p->minor < 13))
		return 0;
	if (proc_read(p->pid, p->runtime_addr, cookie, sizeof(cookie)) ||
	    memcmp(cookie, DEBUG_COOKIE, sizeof(cookie)))
		return 0;
	if (proc_read(p->pid, p->runtime_addr + DEBUG_FREE_THREADED, &ft, sizeof(ft)))
		return 0;
	return ft != 0;
}

/* 2.x: the GIL is a lock taken and released by PyThread_acquire_lock and
 * PyThread_release_lock, inline in the eval loop for forced switches; the
 * GIL with take_gil/drop_gil, which the state machine of gil.bpf.h
 * follows, is 3.2's (bpo-7946). */
int gil_traceable(const struct pyproc *p)
{
	return p->major >= 3;
}

/* File offsets (in bin, the file the kernel maps) of the copies of fn
 * whose addresses syms (bin itself or its debug file) knows. */
static size_t offsets_of(struct elf_file *bin, struct elf_file *syms, const char *fn,
			 uint64_t *out, size_t max)
{
	uint64_t addrs[GIL_MAX_SITES];
	size_t n = elf_functions(syms, fn, addrs, max < GIL_MAX_SITES ? max : GIL_MAX_SITES);
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (!elf_file_offset(bin, addrs[i], &out[k]))
			k++;
	return k;
}

static int take_drop(struct elf_file *bin, struct elf_file *syms, struct gil_probes *out)
{
	out->ntake = offsets_of(bin, syms, "take_gil", out->take, GIL_MAX_SITES);
	out->ndrop = offsets_of(bin, syms, "drop_gil", out->drop, GIL_MAX_SITES);
	return out->ntake && out->ndrop;
}

static int same_build(struct elf_file *dbg, const char *build_id)
{
	char id[128];

	return !build_id[0] || (!elf_build_id(dbg, id, sizeof(id)) && !strcmp(id, build_id));
}

/* gdb's places for a separate debug file, in the target's mount namespace
 * first, then the host's.  The file must be of the same build (build-id)
 * and hold both functions. */
static int from_debug_file(const struct pyproc *p, struct elf_file *bin, struct gil_probes *out)
{
	char build_id[128] = "", link[256] = "", dir[PATH_MAX], cand[3 * PATH_MAX], root[64];
	const char *slash = strrchr(p->elf_path, '/');
	int r, k;

	elf_build_id(bin, build_id, sizeof(build_id));
	elf_debuglink(bin, link, sizeof(link));
	if (slash && !strcmp(slash + 1, link))
		link[0] = 0; /* a link to the binary itself */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - p->elf_path) : 0, p->elf_path);
	for (r = 0; r < 2; r++) {
		if (r == 0)
			snprintf(root, sizeof(root), "/proc/%d/root", p->pid);
		else
			root[0] = 0;
		for (k = 0; k < 4; k++) {
			struct elf_file *dbg = NULL;

			if (k == 0 && strlen(build_id) > 2)
				snprintf(cand, sizeof(cand), "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
					 root, build_id, build_id + 2);
			else if (k == 1 && link[0])
				snprintf(cand, sizeof(cand), "%s%s/.debug/%s", root, dir, link);
			else if (k == 2 && link[0])
				snprintf(cand, sizeof(cand), "%s/usr/lib/debug%s/%s", root, dir, link);
			else if (k == 3 && link[0])
				snprintf(cand, sizeof(cand), "%s%s/%s", root, dir, link);
			else
				continue;
			if (elf_open(cand, &dbg))
				continue;
			pb_debug("gil: trying debug file %s", cand);
			if (same_build(dbg, build_id) && take_drop(bin, dbg, out)) {
				snprintf(out->symbols_from, sizeof(out->symbols_from), "%s",
					 cand + strlen(root));
				elf_close(dbg);
				return 1;
			}
			elf_close(dbg);
		}
	}
	return 0;
}

int gil_probes_find(const struct pyproc *p, struct gil_probes *out)
{
	struct elf_file *bin = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (!gil_traceable(p)) {
		pb_err("CPython %s (%s): its GIL is not traced: before 3.2 (bpo-7946) the GIL is a "
		       "plain lock, with no take_gil/drop_gil to probe", p->version, p->elf_path);
		return -ENOTSUP;
	}
	snprintf(out->path, sizeof(out->path), "/proc/%d/root%s", p->pid, p->elf_path);
	err = elf_open(out->path, &bin);
	if (err) {
		pb_err("failed to read %s: %s", p->elf_path, strerror(-err));
		return err;
	}
	out->take_fn = "take_gil";
	out->drop_fn = "drop_gil";
	snprintf(out->symbols_from, sizeof(out->symbols_from), "%s", p->elf_path);
	if (take_drop(bin, bin, out) || from_debug_file(p, bin, out))
		goto out;

	out->fallback = 1;
	out->take_fn = "PyEval_RestoreThread";
	out->drop_fn = "PyEval_SaveThread";
	snprintf(out->symbols_from, sizeof(out->symbols_from), "%s", p->elf_path);
	out->ntake = offsets_of(bin, bin, out->take_fn, out->take, GIL_MAX_SITES);
	out->ndrop = offsets_of(bin, bin, out->drop_fn, out->drop, GIL_MAX_SITES);
	if (out->ntake && out->ndrop) {
		/* a new thread's first take, a thread state's last drop */
		out->ntake += offsets_of(bin, bin, "PyEval_AcquireThread", out->take + out->ntake,
					 GIL_MAX_SITES - out->ntake);
		out->ndrop += offsets_of(bin, bin, "PyEval_ReleaseThread", out->drop + out->ndrop,
					 GIL_MAX_SITES - out->ndrop);
	} else {
		err = -ENOENT;
		pb_err("cannot find take_gil/drop_gil nor PyEval_RestoreThread/PyEval_SaveThread in %s",
		       p->elf_path);
	}
out:
	elf_close(bin);
	return err;
}
