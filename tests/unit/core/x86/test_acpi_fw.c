/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the firmware outlet of core/x86/acpi.c (acpi_build_fw) and the pc machine's
 * tables. The loader script is parsed and run here as SeaBIOS or OVMF run it (allocate each
 * file in its zone, patch the pointers, fix the checksums, checking every command against the
 * file sizes; the checksums both ways, SeaBIOS's and OVMF's, which must leave the same bytes),
 * then the RSDP -> XSDT/RSDT -> FADT -> DSDT/FACS chain and every checksum are checked. Relocated
 * where a direct boot puts them, the firmware tables must be byte for byte the direct-boot ones.
 * iasl disassembles every pc table and acpiexec runs the PIRQ link methods (skipped without
 * acpica-tools).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "base/util.h"
#include "core/gmem.h"
#include "core/x86/acpi.h"
#include "core/x86/acpi_loader.h"
#include "core/x86/layout.h"
#include "iasl.h"

#define RAM_BYTES (256ULL << 20)
#define HIGH_ALLOC_GPA 0x7fe0000ULL /* where the fake firmware puts zone HIGH files */
#define FSEG_ALLOC_GPA 0xf5a0ULL    /* and zone FSEG files (offset in 0xf0000, below) */

/* Guest memory after the fake firmware ran the script. */
struct fw {
    struct gmem *gm;
    struct acpi_fw_blob blob;
    uint64_t tables_gpa, rsdp_gpa;
    unsigned nalloc, npointer, nchecksum;
    bool ovmf; /* ADD_CHECKSUM as OVMF runs it (else as SeaBIOS does) */
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* The file a command names: its blob, size and where it was allocated (0: not yet). */
struct file {
    const char *name;
    const uint8_t *data;
    size_t len;
    uint64_t gpa;
};

static struct file *lookup(struct file *files, const char *name)
{
    /* The name must be NUL-terminated inside its 56 bytes. */
    assert_non_null(memchr(name, '\0', ACPI_LOADER_FILESZ));
    for (int i = 0; i < 2; i++) {
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    }
    fail_msg("loader names an unknown file '%s'", name);
    return NULL;
}

static void run_allocate(struct fw *f, struct file *files, const struct acpi_loader_entry *e,
                         uint64_t high_gpa, uint64_t fseg_gpa)
{
    struct file *file = lookup(files, e->u.alloc.file);
    uint32_t align = e->u.alloc.align;

    assert_int_equal(file->gpa, 0); /* allocated once */
    assert_true(align != 0 && (align & (align - 1)) == 0);
    if (e->u.alloc.zone == ACPI_LOADER_ZONE_FSEG) {
        file->gpa = fseg_gpa;
        assert_true(file->gpa >= 0xe0000 && file->gpa + file->len <= 0x100000);
    } else {
        assert_int_equal(e->u.alloc.zone, ACPI_LOADER_ZONE_HIGH);
        file->gpa = high_gpa;
    }
    assert_int_equal(file->gpa % align, 0);
    assert_int_equal(gmem_write(f->gm, file->gpa, file->data, file->len), 0);
    f->nalloc++;
}

static void run_pointer(struct fw *f, struct file *files, const struct acpi_loader_entry *e)
{
    struct file *dest = lookup(files, e->u.pointer.dest_file);
    struct file *src = lookup(files, e->u.pointer.src_file);
    uint32_t off = e->u.pointer.offset;
    uint8_t size = e->u.pointer.size, *p;
    uint64_t v = 0;

    assert_true(dest->gpa && src->gpa); /* both allocated before */
    assert_true(size == 1 || size == 2 || size == 4 || size == 8);
    assert_true(off <= dest->len && size <= dest->len - off);
    p = gmem_ptr(f->gm, dest->gpa + off, size);
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    assert_true(v < src->len); /* OVMF refuses a pointer outside its target file */
    v += src->gpa;
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    f->npointer++;
}

static void run_checksum(struct fw *f, struct file *files, const struct acpi_loader_entry *e)
{
    struct file *file = lookup(files, e->u.checksum.file);
    uint32_t off = e->u.checksum.offset, start = e->u.checksum.start, len = e->u.checksum.length;
    uint8_t *p;

    assert_true(file->gpa);
    assert_true(start <= file->len && len <= file->len - start);
    assert_true(off >= start && off < start + len);
    p = gmem_ptr(f->gm, file->gpa, file->len);
    if (f->ovmf) /* AcpiPlatformDxe: the field becomes the checksum of the range, field included */
        p[off] = (uint8_t)(0x100 - sum(p + start, len));
    else /* SeaBIOS's romfile_loader: the field is adjusted by the range's sum */
        p[off] = (uint8_t)(p[off] - sum(p + start, len));
    f->nchecksum++;
}

/* Runs (f)->blob's script; zone HIGH files go to (high_gpa), the FSEG file to (fseg_gpa). */
static void run_loader(struct fw *f, uint64_t high_gpa, uint64_t fseg_gpa)
{
    struct file files[2] = {
        {ACPI_FW_FILE_TABLES, f->blob.tables, f->blob.tables_len, 0},
        {ACPI_FW_FILE_RSDP, f->blob.rsdp, f->blob.rsdp_len, 0},
    };

    assert_int_equal(f->blob.loader_len % ACPI_LOADER_ENTRY_SIZE, 0);
    for (size_t off = 0; off < f->blob.loader_len; off += ACPI_LOADER_ENTRY_SIZE) {
        struct acpi_loader_entry e;
        memcpy(&e, f->blob.loader + off, sizeof(e));
        switch (e.command) {
        case ACPI_LOADER_ALLOCATE:
            run_allocate(f, files, &e, high_gpa, fseg_gpa);
            break;
        case ACPI_LOADER_ADD_POINTER:
            run_pointer(f, files, &e);
            break;
        case ACPI_LOADER_ADD_CHECKSUM:
            run_checksum(f, files, &e);
            break;
        default:
            fail_msg("unknown loader command %u", e.command);
        }
    }
    f->tables_gpa = files[0].gpa;
    f->rsdp_gpa = files[1].gpa;
    assert_true(f->tables_gpa && f->rsdp_gpa);
}

/* Every byte an ADD_CHECKSUM command of (b)'s script names is 0 in its blob (QEMU's loader
 * contract, which OVMF's way of running the command needs). */
static void check_checksum_fields_zero(const struct acpi_fw_blob *b)
{
    for (size_t off = 0; off < b->loader_len; off += ACPI_LOADER_ENTRY_SIZE) {
        struct acpi_loader_entry e;
        memcpy(&e, b->loader + off, sizeof(e));
        if (e.command != ACPI_LOADER_ADD_CHECKSUM)
            continue;
        bool rsdp = strcmp(e.u.checksum.file, ACPI_FW_FILE_RSDP) == 0;
        assert_true(e.u.checksum.offset < (rsdp ? b->rsdp_len : b->tables_len));
        assert_int_equal((rsdp ? b->rsdp : b->tables)[e.u.checksum.offset], 0);
    }
}

static void fw_build_at(struct fw *f, const struct acpi_config *cfg, uint64_t high_gpa,
                        uint64_t fseg_gpa)
{
    struct fw o = {.ovmf = true};

    memset(f, 0, sizeof(*f));
    assert_int_equal(acpi_build_fw(cfg, &f->blob), 0);
    assert_int_equal(f->blob.rsdp_len, 36);
    assert_true(f->blob.tables_len > 0 && f->blob.loader_len > 0);
    check_checksum_fields_zero(&f->blob);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_pc_ram(f->gm, RAM_BYTES), 0);
    run_loader(f, high_gpa, fseg_gpa);
    /* OVMF's run of the same script leaves the same bytes */
    o.blob = f->blob;
    assert_int_equal(gmem_create(&o.gm), 0);
    assert_int_equal(gmem_add_pc_ram(o.gm, RAM_BYTES), 0);
    run_loader(&o, high_gpa, fseg_gpa);
    assert_memory_equal(gmem_ptr(f->gm, f->tables_gpa, f->blob.tables_len),
                        gmem_ptr(o.gm, o.tables_gpa, f->blob.tables_len), f->blob.tables_len);
    assert_memory_equal(gmem_ptr(f->gm, f->rsdp_gpa, f->blob.rsdp_len),
                        gmem_ptr(o.gm, o.rsdp_gpa, f->blob.rsdp_len), f->blob.rsdp_len);
    gmem_destroy(o.gm);
}

static void fw_build(struct fw *f, const struct acpi_config *cfg)
{
    fw_build_at(f, cfg, HIGH_ALLOC_GPA, 0xf0000 + FSEG_ALLOC_GPA);
}

static void fw_free(struct fw *f)
{
    acpi_fw_blob_free(&f->blob);
    acpi_fw_blob_free(&f->blob); /* idempotent */
    gmem_destroy(f->gm);
}

/* The table at (gpa) inside the allocated tables blob, checksum checked; length in (*len). */
static const uint8_t *table(const struct fw *f, uint64_t gpa, uint32_t *len)
{
    const uint8_t *h;

    assert_true(gpa >= f->tables_gpa && gpa + 36 <= f->tables_gpa + f->blob.tables_len);
    h = gmem_ptr(f->gm, gpa, 36);
    *len = rd32(h + 4);
    assert_true(*len >= 36 && gpa + *len <= f->tables_gpa + f->blob.tables_len);
    assert_int_equal(sum(h, *len), 0);
    return h;
}

/* Walks RSDP -> XSDT and RSDT (same entries) and returns the address of (sig), or 0. */
static uint64_t find(const struct fw *f, const char *sig)
{
    const uint8_t *r = gmem_ptr(f->gm, f->rsdp_gpa, 36);
    uint32_t xlen, rlen;
    uint64_t found = 0;

    assert_memory_equal(r, "RSD PTR ", 8);
    assert_int_equal(sum(r, 20), 0);
    assert_int_equal(sum(r, 36), 0);
    assert_int_equal(r[15], 2);
    const uint8_t *x = table(f, rd64(r + 24), &xlen);
    const uint8_t *t = table(f, rd32(r + 16), &rlen);
    assert_memory_equal(x, "XSDT", 4);
    assert_memory_equal(t, "RSDT", 4);
    assert_int_equal((xlen - 36) / 8, (rlen - 36) / 4);
    for (uint32_t i = 0; i < (xlen - 36) / 8; i++) {
        uint64_t gpa = rd64(x + 36 + 8 * i);
        uint32_t len;
        assert_int_equal(gpa, rd32(t + 36 + 4 * i));
        if (memcmp(table(f, gpa, &len), sig, 4) == 0)
            found = gpa;
    }
    return found;
}

/* FADT -> DSDT and FACS; returns the FADT. */
static const uint8_t *check_fadt_chain(const struct fw *f, uint32_t *len)
{
    const uint8_t *fadt = table(f, find(f, "FACP"), len);
    uint32_t facs = rd32(fadt + 36), dsdt = rd32(fadt + 40), dlen;

    assert_memory_equal(table(f, dsdt, &dlen), "DSDT", 4);
    assert_int_equal(facs % 64, 0);
    assert_true(facs >= f->tables_gpa && facs + 64 <= f->tables_gpa + f->blob.tables_len);
    assert_memory_equal(gmem_ptr(f->gm, facs, 64), "FACS", 4);
    if (*len >= 148) {
        assert_int_equal(rd64(fadt + 132), facs);
        assert_int_equal(rd64(fadt + 140), dsdt);
    }
    return fadt;
}

static void test_fw_chain(void **state)
{
    struct acpi_config cfg;
    struct fw f;
    uint32_t len;

    (void)state;
    acpi_config_default(&cfg, 4, RAM_BYTES);
    fw_build(&f, &cfg);
    /* Two allocations, then FADT 4 + XSDT 3 + RSDT 3 + RSDP 2 pointers, then the checksums of
     * DSDT, FADT, MADT, MCFG, XSDT, RSDT and the RSDP's two. */
    assert_int_equal(f.nalloc, 2);
    assert_int_equal(f.npointer, 4 + 3 + 3 + 2);
    assert_int_equal(f.nchecksum, 6 + 2);
    assert_int_equal(rd32(f.blob.loader), ACPI_LOADER_ALLOCATE);
    assert_memory_equal(f.blob.tables, "FACS", 4); /* first in the blob: 64-byte aligned */
    (void)check_fadt_chain(&f, &len);
    assert_int_equal(len, 276);
    assert_true(find(&f, "APIC") && find(&f, "MCFG"));
    fw_free(&f);
}

/* The firmware tables relocated where a direct boot writes them (RSDP at ACPI_GPA, the FACS
 * at +0x40) are the direct-boot tables, byte for byte: one builder, two outlets. */
static void check_same_as_direct(const struct acpi_config *cfg)
{
    struct gmem *gm;
    uint64_t rsdp;
    struct fw f;

    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, RAM_BYTES), 0);
    assert_int_equal(acpi_build(gm, cfg, &rsdp), 0);
    assert_int_equal(rsdp, ACPI_GPA);
    fw_build_at(&f, cfg, ACPI_GPA + 0x40, ACPI_GPA);
    assert_memory_equal(gmem_ptr(gm, ACPI_GPA, 0x40 + f.blob.tables_len),
                        gmem_ptr(f.gm, ACPI_GPA, 0x40 + f.blob.tables_len),
                        0x40 + f.blob.tables_len);
    fw_free(&f);
    gmem_destroy(gm);
}

static void test_fw_same_as_direct(void **state)
{
    struct acpi_config cfg;

    (void)state;
    acpi_config_default(&cfg, 1, RAM_BYTES);
    check_same_as_direct(&cfg);
    acpi_config_default(&cfg, 8, 6ULL << 30);
    cfg.has_irq0_override = true;
    check_same_as_direct(&cfg);
    acpi_config_pc(&cfg, 2, RAM_BYTES);
    cfg.has_fdc = true;
    check_same_as_direct(&cfg);
}

/* The pc machine's FADT (revision 1, the PIIX4 PM block) and MADT (level overrides), no MCFG. */
static void test_pc_fadt_madt(void **state)
{
    struct acpi_config cfg;
    struct fw f;
    uint32_t len;
    unsigned niso = 0;

    (void)state;
    acpi_config_pc(&cfg, 2, RAM_BYTES);
    cfg.smi_cmd = 0xb2;
    cfg.pm_base = ACPI_PC_PM_BASE_OVMF;
    cfg.gpe0_port = ACPI_PC_PM_BASE_OVMF + ACPI_PC_GPE0_OFFSET;
    fw_build(&f, &cfg);
    const uint8_t *fadt = check_fadt_chain(&f, &len);
    assert_int_equal(len, 116);
    assert_int_equal(fadt[8], 1);
    assert_int_equal(fadt[46] | fadt[47] << 8, 9); /* SCI_INT */
    assert_int_equal(rd32(fadt + 48), 0xb2);       /* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE */
    assert_int_equal(fadt[52], 0xf1);
    assert_int_equal(fadt[53], 0xf0);
    assert_int_equal(rd32(fadt + 56), 0xb000); /* PM1a_EVT */
    assert_int_equal(rd32(fadt + 64), 0xb004); /* PM1a_CNT */
    assert_int_equal(rd32(fadt + 76), 0xb008); /* PM_TMR */
    assert_int_equal(rd32(fadt + 80), 0xb020); /* GPE0 */
    assert_int_equal(fadt[88], 4);
    assert_int_equal(fadt[89], 2);
    assert_int_equal(fadt[91], 4);
    assert_int_equal(fadt[92], 8);
    assert_int_equal(fadt[109] | fadt[110] << 8, 0);    /* reserved in ACPI 1.0 */
    assert_int_equal(rd32(fadt + 112) & (1u << 10), 0); /* no RESET_REG */
    assert_int_equal(rd32(fadt + 112) & (1u << 4), 0);  /* fixed power button */
    assert_int_equal(find(&f, "MCFG"), 0);
    const uint8_t *madt = table(&f, find(&f, "APIC"), &len);
    for (uint32_t off = 44; off < len; off += madt[off + 1]) {
        assert_true(madt[off + 1] >= 2);
        if (madt[off] != 2)
            continue;
        static const uint8_t level_irqs[] = {5, 9, 10, 11};
        assert_int_equal(madt[off + 3], level_irqs[niso]);
        assert_int_equal(rd32(madt + off + 4), level_irqs[niso]);
        assert_int_equal(madt[off + 8], 0x0d); /* active high, level */
        niso++;
    }
    assert_int_equal(niso, 4);
    fw_free(&f);
}

static void test_fw_errors(void **state)
{
    struct acpi_config cfg;
    struct acpi_fw_blob b;
    struct acpi_loader l;

    (void)state;
    acpi_config_default(&cfg, 0, RAM_BYTES);
    assert_int_equal(acpi_build_fw(&cfg, &b), -EINVAL);
    assert_null(b.tables);
    assert_null(b.loader);
    acpi_config_pc(&cfg, 1, RAM_BYTES);
    cfg.gpe0_len = 3;
    assert_int_equal(acpi_build_fw(&cfg, &b), -EINVAL);
    acpi_config_pc(&cfg, 1, RAM_BYTES);
    cfg.pm_base = 0xfffc;
    assert_int_equal(acpi_build_fw(&cfg, &b), -EINVAL);
    acpi_config_pc(&cfg, 1, RAM_BYTES);
    assert_int_equal(cfg.pm_base, 0x600); /* what SeaBIOS programs when there is a loader */
    cfg.pm_base = 0;
    assert_int_equal(acpi_build_fw(&cfg, &b), -EINVAL);
    acpi_config_pc(&cfg, 1, RAM_BYTES);
    cfg.pci_mmio32_base = 0xf0000000;
    cfg.pci_mmio32_size = 0x20000000;
    assert_int_equal(acpi_build_fw(&cfg, &b), -EINVAL);
    acpi_fw_blob_free(NULL);
    /* The script writer refuses names that do not fit, bad alignments, sizes, ranges. */
    acpi_loader_init(&l);
    acpi_loader_allocate(&l, "a-name-that-is-far-too-long-for-the-fifty-six-byte-field-x", 16,
                         ACPI_LOADER_ZONE_HIGH);
    assert_int_equal(l.err, -EINVAL);
    acpi_loader_fini(&l);
    acpi_loader_allocate(&l, "t", 24, ACPI_LOADER_ZONE_HIGH);
    assert_int_equal(l.err, -EINVAL);
    acpi_loader_fini(&l);
    acpi_loader_add_pointer(&l, "t", "t", 0, 3);
    assert_int_equal(l.err, -EINVAL);
    acpi_loader_fini(&l);
    acpi_loader_add_checksum(&l, "t", 40, 0, 36);
    assert_int_equal(l.err, -EINVAL);
    acpi_loader_fini(&l);
}

/* Writes every table of (f) to (dir)/<SIG>.dat, the DSDT and FACS through the FADT. */
static void dump_all(const struct fw *f, const char *dir)
{
    static const char *const sigs[] = {"FACP", "APIC"};
    const uint8_t *r = gmem_ptr(f->gm, f->rsdp_gpa, 36);
    uint32_t len;

    const uint8_t *t = table(f, rd64(r + 24), &len);
    dump(dir, "XSDT", t, len);
    t = table(f, rd32(r + 16), &len);
    dump(dir, "RSDT", t, len);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        t = table(f, find(f, sigs[i]), &len);
        dump(dir, sigs[i], t, len);
    }
    const uint8_t *fadt = table(f, find(f, "FACP"), &len);
    dump(dir, "FACS", gmem_ptr(f->gm, rd32(fadt + 36), 64), 64);
    const uint8_t *dsdt = table(f, rd32(fadt + 40), &len);
    dump(dir, "DSDT", dsdt, len);
}

/* (dsl) without blanks and line breaks contains (want). The _PRT is checked this way (its
 * evaluation in acpiexec overflows the debugger's output buffer). */
static bool dsl_has_squeezed(const char *dsl, const char *want)
{
    size_t n = strlen(dsl);
    char *sq = malloc(n + 1), *q = sq;
    bool found;

    assert_non_null(sq);
    for (const char *p = dsl; *p; p++) {
        if (*p != ' ' && *p != '\n')
            *q++ = *p;
    }
    *q = '\0';
    found = strstr(sq, want) != NULL;
    free(sq);
    return found;
}

/* The pc DSDT's disassembly holds the chipset's description; it recompiles cleanly. */
static void check_pc_dsdt_dsl(const char *dir)
{
    static const char *const expected[] = {
        "EisaId (\"PNP0A03\")",
        "Device (LNKA)",
        "Device (LNKD)",
        "Device (LNKS)",
        "EisaId (\"PNP0C0F\")",
        "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, )",
        "OperationRegion (P40C, PCI_Config, 0x60, 0x04)",
        "Field (P40C, ByteAcc, NoLock, Preserve)",
        "PRQ3,   8",
        "Method (_SRS, 1, Serialized)",
        "Method (_DIS, 0, NotSerialized)",
        "Method (IQCR, 1, NotSerialized)",
        "Name (_ADR, 0x00010000)",
        "\\_SB.LNKS",
        "EisaId (\"PNP0303\")",
        "EisaId (\"PNP0F13\")",
        "EisaId (\"PNP0501\")",
        "EisaId (\"PNP0B00\")",
        "EisaId (\"PNP0100\")",
        "EisaId (\"PNP0000\")",
        "EisaId (\"PNP0200\")",
        "EisaId (\"PNP0700\")",
        "_FDE",
        "\"QEMU0002\"",
        "0xFEBFFFFF",
        "_S5_",
    };
    char cmd[1024], out[4096];
    char *dsl = iasl_d(dir, "DSDT");

    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!strstr(dsl, expected[i]))
            fail_msg("pc DSDT disassembly lacks %s", expected[i]);
    }
    /* _PRT: slot s pin p -> LNK[A + ((s + p - 1) & 3)], 01.0 INTA -> LNKS (QEMU's wiring). */
    assert_true(dsl_has_squeezed(dsl, "Package(0x04){0xFFFF,Zero,\\_SB.LNKD,Zero}"));
    assert_true(dsl_has_squeezed(dsl, "Package(0x04){0x0001FFFF,Zero,\\_SB.LNKS,Zero}"));
    assert_true(dsl_has_squeezed(dsl, "Package(0x04){0x0001FFFF,One,\\_SB.LNKB,Zero}"));
    assert_true(dsl_has_squeezed(dsl, "Package(0x04){0x0002FFFF,Zero,\\_SB.LNKB,Zero}"));
    assert_true(dsl_has_squeezed(dsl, "Package(0x04){0x0003FFFF,One,\\_SB.LNKD,Zero}"));
    assert_true(dsl_has_squeezed(dsl, "Package(0x04){0x001FFFFF,0x03,\\_SB.LNKB,Zero}"));
    assert_null(strstr(dsl, "PNP0A08"));
    assert_null(strstr(dsl, "_OSC"));
    free(dsl);
    snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -p recompiled DSDT.dsl 2>&1", dir);
    int status = run(cmd, out, sizeof(out));
    if (status != 0 || iasl_failed(out))
        fail_msg("iasl DSDT.dsl: status %d\n%s", status, out);
}

/* acpiexec runs the link methods on its simulated PCI config space (zeros: PIRQA routed to
 * IRQ 0): _STA enabled, _SRS routes IRQ 10, _CRS reads it back, _DIS sets bit 7 and _STA then
 * says disabled. */
static void check_pc_acpiexec(const char *dir)
{
    static char out[65536];
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && acpiexec -b \""
             "evaluate \\_SB.LNKA._STA; evaluate \\_SB.LNKA._PRS; "
             "evaluate \\_SB.LNKA._SRS (89 06 00 09 01 0a 00 00 00 79 00); "
             "evaluate \\_SB.PCI0.ISA_.PRQ0; evaluate \\_SB.LNKA._CRS; evaluate \\_SB.LNKA._DIS; "
             "evaluate \\_SB.LNKA._STA; evaluate \\_SB.LNKS._CRS; "
             "evaluate \\_SB.PCI0.ISA_.FDC0._CRS\" DSDT.dat 2>&1",
             dir);
    if (system("command -v acpiexec >/dev/null 2>&1") != 0)
        return; /* no acpiexec */
    if (run(cmd, out, sizeof(out)) != 0 || strstr(out, "ACPI Error") ||
        strstr(out, "ACPI Exception") || strstr(out, "failed with status") ||
        !strstr(out, "Evaluation of \\_SB.LNKA._STA returned") ||
        !strstr(out, "0000000000000009") || !strstr(out, "000000000000000B") ||
        !strstr(out, "000000000000000A"))
        fail_msg("acpiexec:\n%s", out);
}

static void test_pc_iasl(void **state)
{
    static const char *const names[] = {"XSDT", "RSDT", "FACP", "FACS", "APIC"};
    char dir[] = "/tmp/bareiron-acpifw-XXXXXX", cmd[1024];
    struct acpi_config cfg;
    struct fw f;

    (void)state;
    if (system("command -v iasl >/dev/null 2>&1") != 0)
        skip(); /* iasl (acpica-tools) not installed */
    acpi_config_pc(&cfg, 2, RAM_BYTES);
    cfg.has_fdc = true;
    fw_build(&f, &cfg);
    assert_non_null(mkdtemp(dir));
    dump_all(&f, dir);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        free(iasl_d(dir, names[i]));
    check_pc_dsdt_dsl(dir);
    check_pc_acpiexec(dir);
    if (getenv("BAREIRON_KEEP_ACPI_DUMP")) {
        print_message("tables kept in %s\n", dir);
    } else {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
    fw_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fw_chain),     cmocka_unit_test(test_fw_same_as_direct),
        cmocka_unit_test(test_pc_fadt_madt), cmocka_unit_test(test_fw_errors),
        cmocka_unit_test(test_pc_iasl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
