/* SPDX-License-Identifier: MIT */
/*
 * ELF kernel reader (see elf.h): System V gABI file and program headers, note sections
 * ("Note Section": namesz, descsz, type, name and descriptor each padded to 4 bytes). Every
 * offset and size read from the file is checked with range_outside()/ckd_* before use.
 */
#define LOG_TAG "boot"
#include "boot/elf.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"

int elf_parse(const uint8_t *data, size_t len, struct elf_file *ef, const char *name,
              struct error *err)
{
    memset(ef, 0, sizeof(*ef));
    if (len < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG) != 0)
        return error_set(err, -ENOEXEC, "%s: not an ELF file", name);
    if (data[EI_DATA] != ELFDATA2LSB || data[EI_VERSION] != EV_CURRENT)
        return error_set(err, -ENOEXEC, "%s: not a little-endian ELF version 1 file", name);
    if (data[EI_CLASS] != ELFCLASS32 && data[EI_CLASS] != ELFCLASS64)
        return error_set(err, -ENOEXEC, "%s: bad ELF class %u", name, data[EI_CLASS]);
    ef->is_64 = data[EI_CLASS] == ELFCLASS64;
    size_t ehsize = ef->is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (len < ehsize)
        return error_set(err, -ENOEXEC, "%s: truncated ELF header", name);
    /* e_type, e_machine and e_version sit at the same offsets in both classes */
    uint16_t type = rd16(data + 16);
    ef->machine = rd16(data + 18);
    if (type != ET_EXEC)
        return error_set(err, -ENOEXEC, "%s: ELF type %u is not an executable", name, type);
    if (ef->machine != (ef->is_64 ? EM_X86_64 : EM_386))
        return error_set(err, -ENOEXEC, "%s: ELF machine %u is not x86 (%d-bit)", name, ef->machine,
                         ef->is_64 ? 64 : 32);
    if (ef->is_64) {
        ef->entry = rd64(data + 24);
        ef->phoff = rd64(data + 32);
        ef->phentsize = rd16(data + 54);
        ef->phnum = rd16(data + 56);
    } else {
        ef->entry = rd32(data + 24);
        ef->phoff = rd32(data + 28);
        ef->phentsize = rd16(data + 42);
        ef->phnum = rd16(data + 44);
    }
    size_t min_phent = ef->is_64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    uint64_t table;
    if (ef->phnum == 0 || ef->phnum == PN_XNUM)
        return error_set(err, -ENOEXEC, "%s: ELF has no program headers", name);
    if (ef->phentsize < min_phent)
        return error_set(err, -ENOEXEC, "%s: ELF program header size %u too small", name,
                         ef->phentsize);
    if (ckd_mul(&table, (uint64_t)ef->phnum, (uint64_t)ef->phentsize) ||
        range_outside(ef->phoff, table, len))
        return error_set(err, -ENOEXEC, "%s: ELF program headers lie outside the file", name);
    ef->data = data;
    ef->len = len;
    return 0;
}

void elf_get_seg(const struct elf_file *ef, unsigned i, struct elf_seg *seg)
{
    const uint8_t *p = ef->data + ef->phoff + (uint64_t)i * ef->phentsize;

    seg->type = rd32(p);
    if (ef->is_64) {
        seg->flags = rd32(p + 4);
        seg->offset = rd64(p + 8);
        seg->vaddr = rd64(p + 16);
        seg->paddr = rd64(p + 24);
        seg->filesz = rd64(p + 32);
        seg->memsz = rd64(p + 40);
    } else {
        seg->offset = rd32(p + 4);
        seg->vaddr = rd32(p + 8);
        seg->paddr = rd32(p + 12);
        seg->filesz = rd32(p + 16);
        seg->memsz = rd32(p + 20);
        seg->flags = rd32(p + 24);
    }
}

static int check_seg(const struct boot_ctx *c, const struct elf_file *ef, unsigned i,
                     const struct elf_seg *s)
{
    uint64_t end;

    if (s->filesz > s->memsz)
        return error_set(c->err, -ENOEXEC, "%s: ELF segment %u has filesz > memsz", c->name, i);
    if (range_outside(s->offset, s->filesz, ef->len))
        return error_set(c->err, -ENOEXEC, "%s: ELF segment %u lies outside the file", c->name, i);
    if (ckd_add(&end, s->paddr, s->memsz))
        return error_set(c->err, -ENOEXEC, "%s: ELF segment %u wraps around", c->name, i);
    return 0;
}

int elf_load_segments(const struct boot_ctx *c, const struct elf_file *ef, uint64_t *lo,
                      uint64_t *hi)
{
    uint64_t low = UINT64_MAX, high = 0;
    struct elf_seg s;
    char what[48];
    int rc;

    for (unsigned i = 0; i < ef->phnum; i++) {
        elf_get_seg(ef, i, &s);
        if (s.type != PT_LOAD || s.memsz == 0)
            continue;
        rc = check_seg(c, ef, i, &s);
        if (rc < 0)
            return rc;
        snprintf(what, sizeof(what), "ELF segment %u", i);
        rc = boot_copy(c, s.paddr, ef->data + s.offset, s.filesz, s.memsz, what);
        if (rc < 0)
            return rc;
        low = MIN(low, s.paddr);
        high = MAX(high, s.paddr + s.memsz);
    }
    if (high == 0)
        return error_set(c->err, -ENOEXEC, "%s: ELF has no loadable segment", c->name);
    *lo = low;
    *hi = high;
    return 0;
}

int elf_entry_phys(const struct elf_file *ef, uint64_t *entry_gpa)
{
    struct elf_seg s;

    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < ef->phnum; i++) {
            elf_get_seg(ef, i, &s);
            if (s.type != PT_LOAD || s.memsz == 0)
                continue;
            uint64_t base = pass == 0 ? s.paddr : s.vaddr;
            if (ef->entry >= base && ef->entry - base < s.memsz) {
                *entry_gpa = s.paddr + (ef->entry - base);
                return 0;
            }
        }
    }
    return -ENOEXEC;
}

/* Walks the notes of one PT_NOTE segment (data, len). */
static int find_in_notes(const uint8_t *p, uint64_t len, const char *note_name, uint32_t type,
                         const uint8_t **desc, uint32_t *desc_len)
{
    size_t want = strlen(note_name) + 1;
    uint64_t off = 0;

    while (len - off >= 12) {
        uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4), ntype = rd32(p + off + 8);
        uint64_t name_off = off + 12, desc_off, next;
        if (ckd_add(&desc_off, name_off, ALIGN_UP((uint64_t)namesz, 4)) ||
            ckd_add(&next, desc_off, ALIGN_UP((uint64_t)descsz, 4)) ||
            range_outside(desc_off, descsz, len) || range_outside(name_off, namesz, len))
            return -ENOEXEC;
        if (ntype == type && namesz == want && memcmp(p + name_off, note_name, want) == 0) {
            *desc = p + desc_off;
            *desc_len = descsz;
            return 0;
        }
        if (next >= len)
            break;
        off = next;
    }
    return -ENOENT;
}

int elf_find_note(const struct elf_file *ef, const char *note_name, uint32_t note_type,
                  const uint8_t **desc, uint32_t *desc_len)
{
    struct elf_seg s;
    int rc;

    for (unsigned i = 0; i < ef->phnum; i++) {
        elf_get_seg(ef, i, &s);
        if (s.type != PT_NOTE)
            continue;
        if (range_outside(s.offset, s.filesz, ef->len))
            return -ENOEXEC;
        rc = find_in_notes(ef->data + s.offset, s.filesz, note_name, note_type, desc, desc_len);
        if (rc != -ENOENT)
            return rc;
    }
    return -ENOENT;
}
