/* SPDX-License-Identifier: MIT */
/*
 * Crafted kernel images for the loader tests: ELF files with chosen segments and notes, a PVH
 * note, bzImages wrapping a vmlinux compressed in any supported format, multiboot headers, and
 * a test machine (gmem + e820 map of a bareiron PC). All buffers are malloc'd; free() them.
 */
#ifndef BAREIRON_TESTS_BOOT_FIXTURES_H
#define BAREIRON_TESTS_BOOT_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "boot/decompress.h"
#include "core/gmem.h"
#include "core/x86/e820.h"

struct fx_seg {
    uint32_t type; /* PT_LOAD, PT_NOTE... */
    uint64_t paddr;
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    uint8_t fill; /* file bytes of the segment (PT_NOTE: the note blob from fx_elf's note) */
};

/* An ELF (32 or 64-bit x86) with (segs); a PT_NOTE segment's contents are (note, note_len). */
uint8_t *fx_elf(bool is_64, uint64_t entry, const struct fx_seg *segs, unsigned nsegs,
                const uint8_t *note, size_t note_len, size_t *len);

/* A note blob: name "Xen", type (type), descriptor (desc, desc_len). */
uint8_t *fx_note(const char *name, uint32_t type, const void *desc, uint32_t desc_len, size_t *len);

/* A 64-bit vmlinux-like ELF: one PT_LOAD at 16 MiB (filesz 64 KiB filled 0xaa, memsz 1 MiB),
 * entry 16 MiB. */
uint8_t *fx_vmlinux(size_t *len);

/* Compresses (in) as the kernel build would for (fmt) (DECOMP_NONE: a copy). */
uint8_t *fx_compress(enum decomp_format fmt, const uint8_t *in, size_t in_len, size_t *len);

/* A bzImage (protocol 2.15) whose payload is (vmlinux) compressed with (fmt). */
uint8_t *fx_bzimage(enum decomp_format fmt, const uint8_t *vmlinux, size_t vmlinux_len,
                    size_t *len);

/* Offsets in a fixture bzImage */
#define FX_BZ_SETUP_BYTES 2560 /* setup_sects 4 */
#define FX_BZ_PAYLOAD_OFFSET 0x100

struct fx_machine {
    struct gmem *gm;
    struct e820_map map;
    struct boot_config cfg;
    struct error err;
};

/* A PC with (mem_mib) of RAM; cfg has the map, cmdline "console=ttyS0", RSDP 0xe0000. */
void fx_machine_init(struct fx_machine *m, uint64_t mem_mib);
void fx_machine_fini(struct fx_machine *m);

/* boot_load_image() of kernel (k, len) with initrd (rd, rd_len) into (m), its error in m->err. */
int fx_load(struct fx_machine *m, const uint8_t *k, size_t len, const uint8_t *rd, size_t rd_len,
            struct boot_result *r);
/* Checks that kernel (k, len) is refused with (want) and a one-line message; (what) names the
 * case. */
void fx_expect_refused(const uint8_t *k, size_t len, int want, const char *what);

/* Writes (buf, len) to a new temporary file and returns its malloc'd path. */
char *fx_tmpfile(const void *buf, size_t len);

#endif
