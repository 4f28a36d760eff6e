// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* elffile.c - symbol and data look-ups in an interpreter's ELF file (libelf). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elffile.h"

struct elf_file {
	int fd;
	Elf *elf;
};

int elf_open(const char *path, struct elf_file **out)
{
	struct elf_file *ef;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return -ENOMEM;
	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		free(ef);
		return -errno;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ_MMAP, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF) {
		elf_close(ef);
		return -ENOEXEC;
	}
	*out = ef;
	return 0;
}

void elf_close(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef);
}

static uint64_t find_in(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, const char *name)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;
	GElf_Sym sym;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		s = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (s && strcmp(s, name) == 0)
			return sym.st_value;
	}
	return 0;
}

uint64_t elf_symbol(struct elf_file *ef, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	uint64_t v;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		v = find_in(ef->elf, scn, &sh, name);
		if (v)
			return v;
	}
	return 0;
}

int elf_load_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &n))
		return -ENOEXEC;
	for (i = 0; i < n; i++) {
		uint64_t align;

		if (!gelf_getphdr(ef->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		align = ph.p_align > 1 ? ph.p_align : 4096;
		if (off >= (ph.p_offset & ~(align - 1)) && off < ph.p_offset + ph.p_filesz) {
			*vaddr = (ph.p_vaddr & ~(align - 1)) + (off - (ph.p_offset & ~(align - 1)));
			return 0;
		}
	}
	return -ENOENT;
}

int elf_read(struct elf_file *ef, uint64_t addr, void *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		if (addr < sh.sh_addr || addr + len > sh.sh_addr + sh.sh_size)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || addr - sh.sh_addr + len > data->d_size)
			return -EIO;
		memcpy(buf, (char *)data->d_buf + (addr - sh.sh_addr), len);
		return 0;
	}
	return -ENOENT;
}

static Elf_Scn *section(struct elf_file *ef, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, sh))
			continue;
		name = elf_strptr(ef->elf, shstrndx, sh->sh_name);
		if (name && strcmp(name, want) == 0)
			return scn;
	}
	return NULL;
}

static int version_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '+' || c == '.';
}

int elf_find_version(struct elf_file *ef, const char *prefix, char *out, size_t len)
{
	size_t plen = strlen(prefix), i;
	Elf_Data *data;
	GElf_Shdr sh;
	Elf_Scn *scn;
	const char *p;

	scn = section(ef, ".rodata", &sh);
	if (!scn || !(data = elf_getdata(scn, NULL)) || !data->d_buf)
		return -ENOENT;
	p = data->d_buf;
	for (i = 0; i + plen < data->d_size; i++) {
		size_t j;

		/* the linker may merge PY_VERSION into the tail of a longer
		 * string ("/prefix/3.8.18"): accept any non-version byte before */
		if ((i && version_char(p[i - 1])) || memcmp(p + i, prefix, plen))
			continue;
		for (j = i + plen; j < data->d_size && version_char(p[j]); j++)
			;
		if (j < data->d_size && !p[j] && j > i + plen && j - i < len &&
		    p[i + plen] >= '0' && p[i + plen] <= '9') {
			memcpy(out, p + i, j - i);
			out[j - i] = 0;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_needs(struct elf_file *ef, const char *sub)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Dyn dyn;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *s;

			if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			s = elf_strptr(ef->elf, sh.sh_link, dyn.d_un.d_val);
			if (s && strstr(s, sub))
				return 1;
		}
	}
	return 0;
}

/* ---- probe points and separate debug files (gil) ---- */

static int clone_suffix(const char *s)
{
	static const char *const whole[] = { ".constprop.", ".isra.", ".lto_priv." };
	size_t i, n;

	if (!*s)
		return 1;
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		n = strlen(whole[i]);
		if (!strncmp(s, whole[i], n) && s[n] >= '0' && s[n] <= '9' &&
		    !strchr(s + n, '.') /* not take_gil.constprop.0.cold */)
			return 1;
	}
	return 0;
}

size_t elf_functions(struct elf_file *ef, const char *name, uint64_t *addrs, size_t max)
{
	size_t nlen = strlen(name), found = 0, i, j, n;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		n = data && sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (i = 0; i < n && found < max; i++) {
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
				continue;
			s = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
			if (!s || strncmp(s, name, nlen) || !clone_suffix(s + nlen))
				continue;
			for (j = 0; j < found && addrs[j] != sym.st_value; j++)
				;
			if (j == found)
				addrs[found++] = sym.st_value;
		}
	}
	return found;
}

static int segment_offset(struct elf_file *ef, uint64_t vaddr, uint32_t flags, uint64_t *off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &n))
		return -ENOEXEC;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    (ph.p_flags & flags) != flags)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	return segment_offset(ef, vaddr, 0, off);
}

int elf_code_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	return segment_offset(ef, vaddr, PF_X, off);
}

int elf_build_id(struct elf_file *ef, char *hex, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		size_t off = 0, name_off, desc_off, i;
		Elf_Data *data;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *owner = (const char *)data->d_buf + name_off;
			const unsigned char *id = (const unsigned char *)data->d_buf + desc_off;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 || memcmp(owner, "GNU", 4) ||
			    !nh.n_descsz || nh.n_descsz * 2 + 1 > len)
				continue;
			for (i = 0; i < nh.n_descsz; i++) {
				hex[2 * i] = "0123456789abcdef"[id[i] >> 4];
				hex[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
			}
			hex[2 * i] = 0;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_debuglink(struct elf_file *ef, char *name, size_t len)
{
	Elf_Data *data;
	GElf_Shdr sh;
	Elf_Scn *scn;
	size_t n;

	scn = section(ef, ".gnu_debuglink", &sh);
	if (!scn || !(data = elf_getdata(scn, NULL)) || !data->d_buf)
		return -ENOENT;
	n = strnlen(data->d_buf, data->d_size);
	if (!n || n == data->d_size || n >= len || strchr(data->d_buf, '/'))
		return -ENOENT;
	memcpy(name, data->d_buf, n + 1);
	return 0;
}

/* ---- sections (native unwind tables) ---- */

int elf_machine(struct elf_file *ef)
{
	GElf_Ehdr eh;

	return gelf_getehdr(ef->elf, &eh) ? eh.e_machine : 0;
}

int elf_section_data(struct elf_file *ef, const char *name, const uint8_t **data,
		     size_t *size, uint64_t *addr)
{
	Elf_Data *d;
	GElf_Shdr sh;
	Elf_Scn *scn;

	scn = section(ef, name, &sh);
	if (!scn || sh.sh_type == SHT_NOBITS)
		return -ENOENT;
	/* .debug_frame may be zlib-compressed (ld --compress-debug-sections) */
	if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return -ENOENT;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return -ENOENT;
	*data = d->d_buf;
	*size = d->d_size;
	*addr = sh.sh_addr;
	return 0;
}

int elf_each_function(struct elf_file *ef, int dynsym, elf_func_cb cb, void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;
	size_t i, n;
	int ret;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != (dynsym ? SHT_DYNSYM : SHT_SYMTAB))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize || !data->d_buf)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			const char *s;
			int type;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sym.st_value)
				continue;
			s = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
			if (!s || !*s)
				continue;
			ret = cb(ctx, s, sym.st_value, sym.st_size, GELF_ST_BIND(sym.st_info));
			if (ret)
				return ret;
		}
		return 0;
	}
	return -ENOENT;
}
