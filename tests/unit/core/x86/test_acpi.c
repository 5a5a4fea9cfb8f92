/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/x86/acpi.c: walks the tables the way an OS does (legacy RSDP scan, XSDT,
 * FADT -> DSDT/FACS), checks every checksum and the spec offsets of the fields we set, counts
 * MADT entries for several vCPU counts, and has ACPICA's iasl disassemble every table (skipped
 * when iasl is not installed).
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include "core/x86/layout.h"
#include "iasl.h"

#define RAM_BYTES (256ULL << 20)

struct machine {
    struct gmem *gm;
    struct acpi_config cfg;
    uint64_t rsdp;
};

static void machine_build_ovr(struct machine *m, unsigned ncpus, bool has_irq0_override)
{
    assert_int_equal(gmem_create(&m->gm), 0);
    assert_int_equal(gmem_add_pc_ram(m->gm, RAM_BYTES), 0);
    acpi_config_default(&m->cfg, ncpus, RAM_BYTES);
    m->cfg.has_irq0_override = has_irq0_override;
    assert_int_equal(acpi_build(m->gm, &m->cfg, &m->rsdp), 0);
}

static void machine_build(struct machine *m, unsigned ncpus)
{
    machine_build_ovr(m, ncpus, false);
}

static const uint8_t *ptr(const struct machine *m, uint64_t gpa, size_t len)
{
    const uint8_t *p = gmem_ptr(m->gm, gpa, len);
    assert_non_null(p);
    /* Every table lies inside the ACPI area, below the MP table. */
    assert_true(gpa >= ACPI_GPA && gpa + len <= MPTABLE_GPA);
    return p;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
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

/* Returns the table at (gpa) after checking its checksum; its length in (*len). */
static const uint8_t *table(const struct machine *m, uint64_t gpa, uint32_t *len)
{
    const uint8_t *h = ptr(m, gpa, 36);
    *len = rd32(h + 4);
    assert_true(*len >= 36);
    h = ptr(m, gpa, *len);
    assert_int_equal(sum(h, *len), 0);
    return h;
}

/* Finds the table with signature (sig) through the XSDT; returns its gpa or 0. */
static uint64_t find(const struct machine *m, const char *sig)
{
    const uint8_t *rsdp = ptr(m, m->rsdp, 36);
    uint32_t len;
    const uint8_t *xsdt = table(m, rd64(rsdp + 24), &len);

    for (uint32_t off = 36; off + 8 <= len; off += 8) {
        uint64_t gpa = rd64(xsdt + off);
        if (memcmp(ptr(m, gpa, 4), sig, 4) == 0)
            return gpa;
    }
    return 0;
}

static void test_rsdp(void **state)
{
    struct machine m;
    uint64_t found = 0;
    uint32_t xlen, rlen;

    (void)state;
    machine_build(&m, 1);
    /* The legacy scan: 16-byte boundaries of 0xe0000-0xfffff. */
    for (uint64_t gpa = 0xe0000; gpa < 0x100000 && !found; gpa += 16) {
        if (memcmp(gmem_ptr(m.gm, gpa, 8), "RSD PTR ", 8) == 0)
            found = gpa;
    }
    assert_int_equal(found, m.rsdp);
    const uint8_t *r = ptr(&m, m.rsdp, 36);
    assert_int_equal(sum(r, 20), 0);
    assert_int_equal(sum(r, 36), 0);
    assert_int_equal(r[15], 2);         /* revision */
    assert_int_equal(rd32(r + 20), 36); /* length */
    const uint8_t *xsdt = table(&m, rd64(r + 24), &xlen);
    const uint8_t *rsdt = table(&m, rd32(r + 16), &rlen);
    assert_memory_equal(xsdt, "XSDT", 4);
    assert_memory_equal(rsdt, "RSDT", 4);
    /* Same tables in both: FACP, APIC, MCFG. */
    assert_int_equal((xlen - 36) / 8, 3);
    assert_int_equal((rlen - 36) / 4, 3);
    for (unsigned i = 0; i < 3; i++) {
        uint32_t len;
        assert_int_equal(rd64(xsdt + 36 + 8 * i), rd32(rsdt + 36 + 4 * i));
        (void)table(&m, rd64(xsdt + 36 + 8 * i), &len);
    }
    assert_true(find(&m, "FACP") && find(&m, "APIC") && find(&m, "MCFG"));
    gmem_destroy(m.gm);
}

static void test_fadt(void **state)
{
    struct machine m;
    uint32_t len, dlen;

    (void)state;
    machine_build(&m, 2);
    const uint8_t *f = table(&m, find(&m, "FACP"), &len);
    assert_int_equal(len, 276);
    assert_int_equal(f[8], 6); /* revision */
    uint32_t facs = rd32(f + 36), dsdt = rd32(f + 40);
    assert_int_equal(rd64(f + 132), facs);
    assert_int_equal(rd64(f + 140), dsdt);
    assert_int_equal(facs % 64, 0);
    assert_memory_equal(ptr(&m, facs, 64), "FACS", 4);
    assert_int_equal(rd32(ptr(&m, facs, 64) + 4), 64);
    const uint8_t *d = table(&m, dsdt, &dlen);
    assert_memory_equal(d, "DSDT", 4);
    assert_int_equal(rd16(f + 46), GSI_ACPI_SCI);
    assert_int_equal(rd32(f + 48), 0); /* SMI_CMD: always in ACPI mode */
    assert_int_equal(f[52] | f[53], 0);
    assert_int_equal(rd32(f + 56), PORT_ACPI_PM1_EVT);
    assert_int_equal(rd32(f + 64), PORT_ACPI_PM1_CNT);
    assert_int_equal(rd32(f + 76), PORT_ACPI_PM_TMR);
    assert_int_equal(rd32(f + 80), PORT_ACPI_GPE0);
    assert_int_equal(f[88], 4);     /* PM1_EVT_LEN */
    assert_int_equal(f[89], 2);     /* PM1_CNT_LEN */
    assert_int_equal(f[91], 4);     /* PM_TMR_LEN */
    assert_int_equal(f[92], 8);     /* GPE0_BLK_LEN */
    assert_int_equal(f[108], 0x32); /* CENTURY */
    uint16_t iapc = rd16(f + 109);
    assert_int_equal(iapc & 0x2, 0x2); /* 8042 */
    assert_int_equal(iapc & 0x4, 0x4); /* no VGA */
    assert_int_equal(iapc & 0x20, 0);  /* CMOS RTC present */
    uint32_t flags = rd32(f + 112);
    assert_int_equal(flags & (1u << 0), 1u << 0);   /* WBINVD */
    assert_int_equal(flags & (1u << 2), 1u << 2);   /* PROC_C1 */
    assert_int_equal(flags & (1u << 4), 0);         /* fixed power button present */
    assert_int_equal(flags & (1u << 5), 1u << 5);   /* no sleep button */
    assert_int_equal(flags & (1u << 10), 1u << 10); /* RESET_REG_SUP */
    assert_int_equal(flags & (1u << 20), 0);        /* not hardware-reduced */
    /* RESET_REG: I/O, 8 bits at PORT_ACPI_RESET, value ACPI_RESET_VALUE */
    assert_int_equal(f[116], 1);
    assert_int_equal(f[117], 8);
    assert_int_equal(rd64(f + 120), PORT_ACPI_RESET);
    assert_int_equal(f[128], ACPI_RESET_VALUE);
    /* X_PM1a_EVT_BLK, X_PM1a_CNT_BLK, X_PM_TMR_BLK, X_GPE0_BLK */
    static const struct {
        unsigned off, port, bits;
    } gas[] = {{148, PORT_ACPI_PM1_EVT, 32},
               {172, PORT_ACPI_PM1_CNT, 16},
               {208, PORT_ACPI_PM_TMR, 32},
               {220, PORT_ACPI_GPE0, 64}};
    for (size_t i = 0; i < sizeof(gas) / sizeof(gas[0]); i++) {
        assert_int_equal(f[gas[i].off], 1);
        assert_int_equal(f[gas[i].off + 1], gas[i].bits);
        assert_int_equal(rd64(f + gas[i].off + 4), gas[i].port);
    }
    gmem_destroy(m.gm);
}

static void check_madt(unsigned ncpus, bool has_irq0_override)
{
    struct machine m;
    unsigned nlapic = 0, nioapic = 0, niso = 0, nnmi = 0;
    uint32_t len;

    machine_build_ovr(&m, ncpus, has_irq0_override);
    const uint8_t *t = table(&m, find(&m, "APIC"), &len);
    assert_int_equal(rd32(t + 36), LAPIC_GPA);
    assert_int_equal(rd32(t + 40) & 1, 1); /* PCAT_COMPAT */
    for (uint32_t off = 44; off < len;) {
        const uint8_t *e = t + off;
        assert_true(e[1] >= 2 && off + e[1] <= len);
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], 8);
            assert_int_equal(e[2], nlapic); /* uid */
            assert_int_equal(e[3], nlapic); /* APIC id */
            assert_int_equal(rd32(e + 4), 1);
            nlapic++;
            break;
        case 1:
            assert_int_equal(e[2], ncpus);
            assert_int_equal(rd32(e + 4), IOAPIC_GPA);
            assert_int_equal(rd32(e + 8), 0);
            nioapic++;
            break;
        case 2:
            if (e[3] == 0) {
                assert_int_equal(rd32(e + 4), 2);
                assert_int_equal(rd16(e + 8), 0x5);
            } else {
                assert_int_equal(e[3], GSI_ACPI_SCI);
                assert_int_equal(rd32(e + 4), GSI_ACPI_SCI);
                assert_int_equal(rd16(e + 8), 0xd);
            }
            niso++;
            break;
        case 4:
            assert_int_equal(e[2], 0xff);
            assert_int_equal(e[5], 1); /* LINT1 */
            nnmi++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", e[0]);
        }
        off += e[1];
    }
    assert_int_equal(nlapic, ncpus);
    assert_int_equal(nioapic, 1);
    assert_int_equal(niso, has_irq0_override ? 2 : 1);
    assert_int_equal(nnmi, 1);
    gmem_destroy(m.gm);
}

static void test_madt(void **state)
{
    (void)state;
    check_madt(1, false);
    check_madt(2, true);
    check_madt(64, false);
    check_madt(64, true);
}

/* The MADT of the split irqchip (IOAPIC, no 8259: PCAT_COMPAT clear) and of --ioapic off
 * (8259 only: no IOAPIC entry, no override). */
static void test_madt_chipsets(void **state)
{
    struct machine m;
    uint32_t len;
    unsigned nioapic;

    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        bool has_ioapic = variant == 0;
        assert_int_equal(gmem_create(&m.gm), 0);
        assert_int_equal(gmem_add_pc_ram(m.gm, RAM_BYTES), 0);
        acpi_config_default(&m.cfg, 2, RAM_BYTES);
        m.cfg.has_ioapic = has_ioapic;
        m.cfg.has_pic = !has_ioapic;
        assert_int_equal(acpi_build(m.gm, &m.cfg, &m.rsdp), 0);
        const uint8_t *t = table(&m, find(&m, "APIC"), &len);
        assert_int_equal(rd32(t + 40) & 1, has_ioapic ? 0 : 1); /* PCAT_COMPAT */
        nioapic = 0;
        for (uint32_t off = 44; off < len; off += t[off + 1]) {
            assert_true(t[off + 1] >= 2);
            nioapic += t[off] == 1;
            if (!has_ioapic)
                assert_true(t[off] != 2); /* no override without an IOAPIC */
        }
        assert_int_equal(nioapic, has_ioapic ? 1 : 0);
        gmem_destroy(m.gm);
    }
}

static void test_mcfg(void **state)
{
    struct machine m;
    uint32_t len;

    (void)state;
    machine_build(&m, 1);
    const uint8_t *t = table(&m, find(&m, "MCFG"), &len);
    assert_int_equal(len, 44 + 16);
    assert_int_equal(rd64(t + 44), PCI_ECAM_BASE);
    assert_int_equal(rd16(t + 52), 0);
    assert_int_equal(t[54], 0);
    assert_int_equal(t[55], 255);
    gmem_destroy(m.gm);
}

static void test_errors(void **state)
{
    struct acpi_config cfg;
    struct gmem *gm;
    uint64_t rsdp;

    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    acpi_config_default(&cfg, 1, RAM_BYTES);
    assert_int_equal(acpi_build(gm, &cfg, &rsdp), -EFAULT); /* no RAM */
    assert_int_equal(gmem_add_pc_ram(gm, RAM_BYTES), 0);
    cfg.ncpus = 0;
    assert_int_equal(acpi_build(gm, &cfg, &rsdp), -EINVAL);
    cfg.ncpus = MAX_VCPUS + 1;
    assert_int_equal(acpi_build(gm, &cfg, &rsdp), -EINVAL);
    cfg.ncpus = MAX_VCPUS;
    assert_int_equal(acpi_build(gm, &cfg, &rsdp), 0);
    /* Without PCI: no MCFG. */
    cfg.has_pci = false;
    assert_int_equal(acpi_build(gm, &cfg, &rsdp), 0);
    gmem_destroy(gm);
    assert_int_equal(acpi_pci_mmio64_base(256ULL << 20), HIGH_RAM_BASE);
    assert_int_equal(acpi_pci_mmio64_base(LOW_RAM_MAX + 1), HIGH_RAM_BASE + (1ULL << 30));
    assert_int_equal(acpi_pci_mmio64_base(5ULL << 30), 6ULL << 30);
}

/* Writes every table of (m) to (dir)/<SIG>.dat (the DSDT and FACS through the FADT). */
static void dump_all(const struct machine *m, const char *dir)
{
    static const char *const sigs[] = {"XSDT", "RSDT", "FACP", "APIC", "MCFG"};
    const uint8_t *rsdp = ptr(m, m->rsdp, 36);
    uint32_t len;

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        uint64_t gpa = strcmp(sigs[i], "XSDT") == 0   ? rd64(rsdp + 24)
                       : strcmp(sigs[i], "RSDT") == 0 ? rd32(rsdp + 16)
                                                      : find(m, sigs[i]);
        const uint8_t *t = table(m, gpa, &len);
        dump(dir, sigs[i], t, len);
    }
    const uint8_t *fadt = table(m, find(m, "FACP"), &len);
    dump(dir, "FACS", ptr(m, rd32(fadt + 36), 64), 64);
    const uint8_t *dsdt = table(m, rd32(fadt + 40), &len);
    dump(dir, "DSDT", dsdt, len);
}

/* Checks the DSDT's disassembly for the objects we build (4 vCPUs), and that it recompiles. */
static void check_dsdt_dsl(const char *dir)
{
    static const char *const expected[] = {
        "_S5_",
        "EisaId (\"PNP0A08\")",
        "EisaId (\"PNP0A03\")",
        "EisaId (\"PNP0501\")",
        "EisaId (\"PNP0303\")",
        "EisaId (\"PNP0F13\")",
        "EisaId (\"PNP0B00\")",
        "EisaId (\"PNP0C02\")",
        "Device (C003)",
        "QWordMemory",
        "Method (_OSC, 4, NotSerialized)",
    };
    char cmd[1024], out[4096];
    char *dsl = iasl_d(dir, "DSDT");

    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!strstr(dsl, expected[i]))
            fail_msg("DSDT disassembly lacks %s", expected[i]);
    }
    assert_null(strstr(dsl, "Device (C004)"));
    free(dsl);
    snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -p recompiled DSDT.dsl 2>&1", dir);
    int status = run(cmd, out, sizeof(out));
    if (status != 0 || iasl_failed(out))
        fail_msg("iasl DSDT.dsl: status %d\n%s", status, out);
}

/* ACPICA's interpreter loads the namespace and evaluates the objects an OS reads (skipped
 * without acpiexec). */
static void check_acpiexec(const char *dir)
{
    static char out[65536];
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && command -v acpiexec >/dev/null && acpiexec -b \"evaluate \\_S5; "
             "evaluate \\_SB.PCI0._CRS; evaluate \\_SB.PCI0._PRT; evaluate \\_SB.MRES._CRS; "
             "evaluate \\_SB.RTC_._CRS; evaluate \\_SB.C003._UID\" FACP.dat DSDT.dat APIC.dat "
             "MCFG.dat FACS.dat 2>&1",
             dir);
    if (run(cmd, out, sizeof(out)) != 0)
        return;
    if (strstr(out, "ACPI Error") || strstr(out, "ACPI Exception") ||
        !strstr(out, "Evaluation of \\_SB.PCI0._CRS returned") ||
        !strstr(out, "[Package] Contains 128 Elements") ||
        !strstr(out, "Evaluation of \\_SB.C003._UID returned"))
        fail_msg("acpiexec:\n%s", out);
}

/* Disassembles every table with iasl -d (and recompiles the DSDT), then loads them into
 * acpiexec and evaluates the DSDT's objects. BAREIRON_KEEP_ACPI_DUMP=1 keeps the files. */
static void test_iasl(void **state)
{
    /* iasl 20200925 (Debian 12) refuses a bare RSDP ("does not contain a valid ACPI table");
     * test_rsdp checks it instead. */
    static const char *const names[] = {"XSDT", "RSDT", "FACP", "FACS", "APIC", "MCFG"};
    char dir[] = "/tmp/bareiron-acpi-XXXXXX", cmd[1024];
    struct machine m;

    (void)state;
    if (system("command -v iasl >/dev/null 2>&1") != 0)
        skip(); /* iasl (acpica-tools) not installed */
    machine_build(&m, 4);
    assert_non_null(mkdtemp(dir));
    dump_all(&m, dir);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        free(iasl_d(dir, names[i]));
    check_dsdt_dsl(dir);
    check_acpiexec(dir);
    if (getenv("BAREIRON_KEEP_ACPI_DUMP")) {
        print_message("tables kept in %s\n", dir);
    } else {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
    gmem_destroy(m.gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsdp), cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_madt), cmocka_unit_test(test_madt_chipsets),
        cmocka_unit_test(test_mcfg), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_iasl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
