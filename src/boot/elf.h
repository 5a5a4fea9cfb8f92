/* SPDX-License-Identifier: MIT */
/*
 * A minimal ELF reader for kernels (System V ABI gABI, "ELF Header" and "Program Header";
 * x86-64 psABI): validates the file header and program header table against the file size,
 * hands out program headers normalised to 64 bits, loads PT_LOAD segments at their physical
 * addresses and finds ELF notes. 32 and 64-bit little-endian x86 files only.
 */
#ifndef BAREIRON_BOOT_ELF_H
#define BAREIRON_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "boot/boot_internal.h"

struct elf_file {
    const uint8_t *data; /* the whole file, not owned */
    size_t len;
    bool is_64;
    uint16_t machine; /* EM_386 or EM_X86_64 */
    uint64_t entry;
    uint64_t phoff;
    unsigned phnum;
    unsigned phentsize;
};

struct elf_seg {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
};

/*
 * Parses and validates the header of (data, len): magic, class, little-endian, version,
 * ET_EXEC, EM_386/EM_X86_64, a program header table inside the file with at least one entry.
 * Returns 0, or -ENOEXEC with a message prefixed by (name).
 */
MUST_CHECK int elf_parse(const uint8_t *data, size_t len, struct elf_file *ef, const char *name,
                         struct error *err);

/* Reads program header (i) (< ef->phnum) into (seg). */
void elf_get_seg(const struct elf_file *ef, unsigned i, struct elf_seg *seg);

/*
 * Loads every PT_LOAD segment at its p_paddr (file part copied, the rest up to p_memsz zeroed),
 * after checking that it lies inside the file and inside RAM. Returns 0 and the lowest and end
 * (exclusive) guest addresses in (*lo, *hi), or -ENOEXEC / -ENOSPC with a message.
 */
MUST_CHECK int elf_load_segments(const struct boot_ctx *c, const struct elf_file *ef, uint64_t *lo,
                                 uint64_t *hi);

/*
 * Translates the entry point to a physical address: e_entry itself when it lies inside a
 * PT_LOAD's physical range, else through the segment whose virtual range holds it. Returns 0
 * or -ENOEXEC when no loaded segment holds it.
 */
MUST_CHECK int elf_entry_phys(const struct elf_file *ef, uint64_t *entry_gpa);

/*
 * Finds the first note named (note_name) of (note_type) in the PT_NOTE segments. Returns 0 and
 * the descriptor in (*desc, *desc_len) (pointing into the file), -ENOENT when there is none, or
 * -ENOEXEC when a note segment is malformed.
 */
MUST_CHECK int elf_find_note(const struct elf_file *ef, const char *note_name, uint32_t note_type,
                             const uint8_t **desc, uint32_t *desc_len);

#endif
