// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* proc.c - find a process's CPython (executable or libpython), its
 * version, load bias and runtime address, and check the offsets against
 * its memory.  Binaries are opened through /proc/PID/root so processes
 * in other mount namespaces work. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "debugoffsets.h"
#include "elffile.h"
#include "offsets.h"
#include "proc.h"

int proc_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static void read_file(const char *path, char *buf, size_t len, int nul_to_space)
{
	FILE *f = fopen(path, "re");
	size_t n = 0, i;

	buf[0] = 0;
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == 0))
		buf[--n] = 0;
	for (i = 0; nul_to_space && i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
}

char proc_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	return p && p[1] == ' ' ? p[2] : 0;
}

void proc_exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
}

void proc_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	read_file(path, buf, len, 0);
}

/* Containers: the innermost pid (NSpid's last field) and the cgroup. */
static void read_namespace(struct pyproc *p)
{
	char path[64], line[512];
	FILE *f;

	p->nspid = p->pid;
	snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *last;

		if (strncmp(line, "NSpid:", 6))
			continue;
		line[strcspn(line, "\n")] = 0;
		last = strrchr(line, '\t');
		if (last)
			p->nspid = atoi(last + 1);
		break;
	}
	if (f)
		fclose(f);
	/* the unified hierarchy's line ("0::/path"), else the first one's path */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", p->pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		c = c ? strchr(c + 1, ':') : NULL;
		if (!c)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (!p->cgroup[0] || strncmp(line, "0::", 3) == 0)
			snprintf(p->cgroup, sizeof(p->cgroup), "%s", c + 1);
		if (strncmp(line, "0::", 3) == 0)
			break;
	}
	if (f)
		fclose(f);
}

/* The mapped file that holds the interpreter: a libpython if one is
 * mapped, else the executable itself (static builds, uwsgi...). */
struct mapping {
	char path[PATH_MAX];
	uint64_t start;   /* lowest address mapped at file offset 0 */
	uint64_t end;
};

static int find_mappings(pid_t pid, struct mapping *lib, struct mapping *exe)
{
	char path[64], line[PATH_MAX + 128], exe_path[PATH_MAX];
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe_path, sizeof(exe_path) - 1);
	if (n < 0)
		return -errno;
	exe_path[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char file[PATH_MAX] = "";
		const char *base;

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095[^\n]", &start, &end, &off, file) < 4)
			continue;
		if (file[0] != '/' || off != 0)
			continue;
		base = strrchr(file, '/') + 1;
		if (!lib->path[0] && fnmatch("libpython[23].*.so*", base, 0) == 0) {
			snprintf(lib->path, sizeof(lib->path), "%s", file);
			lib->start = start;
			lib->end = end;
		}
		if (!exe->path[0] && strcmp(file, exe_path) == 0) {
			snprintf(exe->path, sizeof(exe->path), "%s", file);
			exe->start = start;
			exe->end = end;
		}
	}
	fclose(f);
	return 0;
}

/* Is addr on a writable mapping of pid?  The runtime root lives in .bss
 * (_PyRuntime, 2.7's and 3.6's interp_head): while the dynamic loader maps
 * a library, that address first lies in the read-only mapping of the
 * whole file, whose bytes there are the file's (debug sections), not
 * zeros; the variable exists once its own writable mapping is there. */
static int mapped_writable(pid_t pid, uint64_t addr)
{
	char path[64], line[PATH_MAX + 128], perms[8];
	unsigned long long start, end;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) == 3 && addr >= start &&
		    addr < end) {
			found = perms[1] == 'w';
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* Version from Py_Version (3.11+), else from the library or executable
 * name plus the PY_VERSION string in .rodata. */
static int detect_version(struct elf_file *ef, const char *path, struct pyproc *p)
{
	uint64_t sym = elf_symbol(ef, "Py_Version");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	unsigned hex = 0, micro = 0;
	char prefix[16];

	if (sym && elf_read(ef, sym, &hex, sizeof(hex)) == 0 && (hex >> 24) >= 2) {
		p->hexversion = hex;
		p->major = hex >> 24;
		p->minor = (hex >> 16) & 0xff;
		micro = (hex >> 8) & 0xff;
		snprintf(p->version, sizeof(p->version), "%u.%u.%u", p->major, p->minor, micro);
		return 0;
	}
	if (sscanf(base, "libpython%u.%u", &p->major, &p->minor) != 2 &&
	    sscanf(base, "python%u.%u", &p->major, &p->minor) != 2 &&
	    sscanf(base, "uwsgi%u.%u", &p->major, &p->minor) != 2)
		return -ENOENT;
	snprintf(prefix, sizeof(prefix), "%u.%u.", p->major, p->minor);
	if (elf_find_version(ef, prefix, p->version, sizeof(p->version)))
		snprintf(p->version, sizeof(p->version), "%u.%u", p->major, p->minor);
	return 0;
}

/* Does the runtime hold an interpreter whose first thread state points
 * back at it?  Catches a wrong offset table before any sample is taken. */
static int check_offsets(struct pyproc *p)
{
	const struct py_offsets *o = &p->off;
	uint64_t interp = 0, tstate = 0, back = 0;

	if (proc_read(p->pid, p->runtime_addr + o->runtime_interp_head, &interp, 8))
		return -EPROTO;
	if (!interp)
		return 0; /* not initialized yet (just exec'd): nothing to check */
	p->initialized = 1;
	if (proc_read(p->pid, interp + o->interp_tstate_head, &tstate, 8))
		return -EPROTO;
	if (!tstate)
		return 0;
	if (proc_read(p->pid, tstate + o->tstate_interp, &back, 8) || back != interp)
		return -EPROTO;
	return 0;
}

/* Does the interpreter number or count its code objects where the BPF
 * walk can read it (pybpf.h: code_gen_addr, interp_code_gen)?  3.12 with
 * its symbol, 3.13 on.  The offsets are not chosen yet: by version. */
static int has_code_counter(const struct pyproc *p)
{
	return p->major > 3 || (p->major == 3 && p->minor > 12) || p->code_gen_addr;
}

/* Where code objects are freed: PyCode_Type's tp_dealloc (code_dealloc,
 * a static function), read from the type object in the target's memory
 * (the word after ob_base's three, tp_name, tp_basicsize, tp_itemsize),
 * so stripped builds have it too; as an offset in ef's code, or 0. */
static uint64_t code_free_offset(const struct pyproc *p, struct elf_file *ef)
{
	uint64_t fn, off;

	if (!p->code_type_addr ||
	    proc_read(p->pid, p->code_type_addr + 6 * sizeof(uint64_t), &fn, sizeof(fn)) ||
	    fn < p->bias || elf_code_offset(ef, fn - p->bias, &off))
		return 0;
	return off;
}

static int inspect_elf(struct pyproc *p, const struct mapping *m)
{
	struct elf_file *ef = NULL;
	char path[PATH_MAX + 32];
	uint64_t runtime, vaddr;
	int err;

	/* map_files opens the very file that is mapped, wherever the process's
	 * root or mount namespace is (chroot, containers); the path seen
	 * through /proc/PID/root is the fallback */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", p->pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	err = elf_open(path, &ef);
	if (err) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", p->pid, m->path);
		err = elf_open(path, &ef);
	}
	if (err) {
		snprintf(p->err, sizeof(p->err), "cannot read %.300s: %s", m->path, strerror(-err));
		return err;
	}
	/* 2.7 and 3.6 have no _PyRuntime (bpo-30860, 3.7): the interpreter
	 * list hangs off the static interp_head, a local symbol (.symtab);
	 * its address stands for the runtime's (runtime_interp_head 0) */
	runtime = elf_symbol(ef, "_PyRuntime");
	if (!runtime)
		runtime = elf_symbol(ef, "interp_head");
	if (!runtime) {
		/* just exec'd: the loader has not mapped libpython yet */
		err = elf_needs(ef, "libpython") ? -EAGAIN : -ENOEXEC;
		if (elf_symbol(ef, "PyInterpreterState_Head") && detect_version(ef, m->path, p) == 0) {
			err = -ENOTSUP; /* a stripped 2.7 or 3.6: exports only */
			snprintf(p->err, sizeof(p->err),
				 "CPython %s (%.300s) is not supported: no interp_head symbol "
				 "(a stripped build: before 3.7 pybpf needs the .symtab)",
				 p->version, m->path);
		}
		goto out;
	}
	err = detect_version(ef, m->path, p);
	if (err) {
		err = -ENOTSUP;
		snprintf(p->err, sizeof(p->err), "cannot tell the CPython version of %.400s", m->path);
		goto out;
	}
	err = elf_load_vaddr(ef, 0, &vaddr);
	if (err) {
		snprintf(p->err, sizeof(p->err), "no loadable segment in %.400s", m->path);
		goto out;
	}
	snprintf(p->elf_path, sizeof(p->elf_path), "%s", m->path);
	p->bias = m->start - vaddr;
	p->runtime_addr = runtime + p->bias;
	vaddr = elf_symbol(ef, "PyCode_Type");
	p->code_type_addr = vaddr ? vaddr + p->bias : 0;
	/* before 3.7 the GIL holder is this exported variable (see pybpf.h) */
	vaddr = elf_symbol(ef, "_PyThreadState_Current");
	p->gil_holder_addr = vaddr ? vaddr + p->bias : 0;
	/* 3.12 numbers new code objects from this variable (not exported:
	 * found only where the symbol table was kept, as pyenv's builds do) */
	vaddr = p->major == 3 && p->minor == 12 ? elf_symbol(ef, "_Py_next_func_version") : 0;
	p->code_gen_addr = vaddr ? vaddr + p->bias : 0;
	p->code_free_off = has_code_counter(p) ? 0 : code_free_offset(p, ef);
out:
	elf_close(ef);
	return err;
}

/* 3.13+: the offsets the interpreter publishes in _Py_DebugOffsets, over
 * the table's unpublished facts; before: the table generated from DWARF. */
static int choose_offsets(struct pyproc *p)
{
	uint8_t raw[DEBUG_OFFSETS_MAX];
	const struct offsets_entry *base;
	struct debug_offsets d;
	uint64_t version;
	int exact, err;

	if (p->major == 3 && p->minor >= 13) {
		if (proc_read(p->pid, p->runtime_addr, raw, sizeof(raw))) {
			snprintf(p->err, sizeof(p->err), "cannot read _PyRuntime of process %d", p->pid);
			return -ESRCH;
		}
		memcpy(&version, raw + 8, sizeof(version));
		err = debug_offsets_parse(raw, sizeof(raw), &d, p->err, sizeof(p->err));
		if (debug_offsets_present(raw, sizeof(raw)) && p->hexversion &&
		    (version >> 16) != (p->hexversion >> 16)) {
			/* not this interpreter's struct: say so before any layout detail */
			snprintf(p->err, sizeof(p->err),
				 "_Py_DebugOffsets says version 0x%llx, Py_Version 0x%x",
				 (unsigned long long)version, p->hexversion);
			err = -EPROTO;
		}
		base = err ? NULL : offsets_base(p->major, p->minor, d.free_threaded, &exact);
		if (!err && !base)
			err = -ENOTSUP;
		if (!err) {
			p->off = base->off;
			p->uoff = base->uoff;
			err = debug_offsets_apply(&d, &p->off, &p->uoff, p->err, sizeof(p->err));
		}
		if (err) {
			char why[sizeof(p->err)];

			snprintf(why, sizeof(why), "%s", p->err);
			snprintf(p->err, sizeof(p->err), "CPython %s (%.200s) is not supported: %.250s",
				 p->version, p->elf_path, why);
			return -ENOTSUP;
		}
		p->free_threaded = d.free_threaded;
		p->offsets_source = OFFSETS_DEBUG;
		p->untested = !exact;
		return 0;
	}
	base = offsets_find(p->major, p->minor, 0);
	if (!base) {
		snprintf(p->err, sizeof(p->err), "CPython %s (%.300s) is not supported (supported: %s)",
			 p->version, p->elf_path, offsets_supported());
		return -ENOTSUP;
	}
	p->off = base->off;
	p->uoff = base->uoff;
	p->offsets_source = OFFSETS_TABLE;
	return 0;
}

int pyproc_inspect(pid_t pid, struct pyproc *p)
{
	struct mapping lib = {}, exe = {};
	char path[64];
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if (access(path, F_OK)) {
		snprintf(p->err, sizeof(p->err), "process %d does not exist", pid);
		return -ESRCH;
	}
	read_file(path, p->cmdline, sizeof(p->cmdline), 1);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	read_file(path, p->comm, sizeof(p->comm), 0);
	read_namespace(p);

	err = find_mappings(pid, &lib, &exe);
	snprintf(p->exe, sizeof(p->exe), "%s", exe.path);
	if (err) {
		snprintf(p->err, sizeof(p->err), "cannot read the memory map of process %d: %s",
			 pid, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	err = -ENOEXEC;
	if (lib.path[0])
		err = inspect_elf(p, &lib);
	if (err == -ENOEXEC && exe.path[0])
		err = inspect_elf(p, &exe);
	if (err == -ENOEXEC || err == -EAGAIN)
		snprintf(p->err, sizeof(p->err), "process %d (%s) is not a Python process", pid, p->comm);
	if (err)
		return err;
	if (!mapped_writable(pid, p->runtime_addr)) {
		snprintf(p->err, sizeof(p->err), "process %d: the loader is still mapping %.400s",
			 pid, p->elf_path);
		return -EAGAIN;
	}

	err = choose_offsets(p);
	if (err)
		return err;
	if (check_offsets(p)) {
		snprintf(p->err, sizeof(p->err),
			 "CPython %s (%.300s): the interpreter state does not match the %u.%u offsets%s",
			 p->version, p->elf_path, p->major, p->minor,
			 p->offsets_source == OFFSETS_DEBUG ? " it publishes" : "");
		return -EPROTO;
	}
	return 0;
}

const char *pyproc_version(const struct pyproc *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", p->version, p->free_threaded ? " (free-threaded)" : "");
	return buf;
}

static uint32_t end_of(uint32_t size, const int32_t *offs, size_t n, uint32_t max)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (offs[i] >= 0 && (uint32_t)offs[i] + 8 > size)
			size = (uint32_t)offs[i] + 8;
	return size < max ? size : max;
}

void pyproc_info(const struct pyproc *p, uint32_t max_depth, struct proc_info *info)
{
	const struct py_offsets *o = &p->off;
	/* read only what the walker uses: less to copy, and no read can run
	 * past a small object into an unmapped page */
	int32_t frame[] = { o->frame_code, o->frame_back, o->frame_lasti, o->frame_owner,
			    o->frame_is_entry, o->frame_tlbc_index };
	int32_t code[] = { o->object_type, o->code_name, o->code_qualname, o->code_filename,
			   o->code_firstlineno, o->code_linetable, o->code_tlbc, o->code_version };

	memset(info, 0, sizeof(*info));
	info->frame_read = end_of(0, frame, sizeof(frame) / sizeof(frame[0]), PYBPF_FRAME_READ);
	info->code_read = end_of(0, code, sizeof(code) / sizeof(code[0]), PYBPF_CODE_READ);
	info->runtime_addr = p->runtime_addr;
	info->code_type_addr = p->code_type_addr;
	info->version = (p->major << 8) | p->minor;
	info->max_depth = max_depth;
	if (o->runtime_gil >= 0)
		info->gil_addr = p->runtime_addr + o->runtime_gil;
	else if (o->gil_locked < 0)
		info->gil_addr = p->gil_holder_addr;
	if (p->uoff.runtime_tstate_current >= 0)
		info->current_addr = p->runtime_addr + p->uoff.runtime_tstate_current;
	else if (o->gil_locked < 0) /* 2.7, 3.6: _PyThreadState_Current */
		info->current_addr = p->gil_holder_addr;
	info->code_gen_addr = p->code_gen_addr;
	info->code_gen_size = p->major == 3 && p->minor <= 13 ? 4 : 8;
	info->off = p->off;
}

/* Children, grandchildren... of pid, by parent pid in /proc/N/stat. */
size_t proc_descendants(pid_t root, pid_t *out, size_t max)
{
	size_t n = 0, scan = 0;

	out[n++] = root;
	while (scan < n) {
		pid_t parent = out[scan++];
		struct dirent *e;
		DIR *dir = opendir("/proc");

		while (dir && (e = readdir(dir)) && n < max) {
			char path[300], buf[512], *p;
			int ppid = 0;
			FILE *f;
			size_t len;

			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			len = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[len] = 0;
			p = strrchr(buf, ')');
			if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == parent)
				out[n++] = atoi(e->d_name);
		}
		if (dir)
			closedir(dir);
	}
	return n;
}

/* Threads of pid from /proc/PID/task: all of them, sampled or not; 0 if
 * the process is gone. */
size_t proc_thread_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}
