/* SPDX-License-Identifier: MIT */
/* Unit tests for core/x86/mptable.c: finds the table the way Linux's smp_scan_config() does and
 * checks checksums, entry counts and the interrupt routing for several vCPU counts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "core/x86/acpi.h"
#include "core/x86/layout.h"
#include "core/x86/mptable.h"

#define RAM_BYTES (64ULL << 20)

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* gmem_ptr() that fails the test (and tells the compiler so) on NULL. */
static const uint8_t *ptr(struct gmem *gm, uint64_t gpa, size_t len)
{
    const uint8_t *p = gmem_ptr(gm, gpa, len);

    if (!p) {
        fail_msg("no RAM at 0x%llx", (unsigned long long)gpa);
        abort();
    }
    return p;
}

/* Scans 0xf0000-0xfffff on 16-byte boundaries for a valid floating pointer. */
static const uint8_t *scan(struct gmem *gm)
{
    for (uint64_t gpa = 0xf0000; gpa < 0x100000; gpa += 16) {
        const uint8_t *p = ptr(gm, gpa, 16);
        if (memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && sum(p, 16) == 0)
            return p;
    }
    return NULL;
}

struct counts {
    unsigned cpu, bus, ioapic, isa, pci, local, total;
};

/* Walks the base entries of the configuration table (t) of (len) bytes, checking each. */
static void walk(const uint8_t *t, size_t len, unsigned ncpus, bool has_override, struct counts *c)
{
    for (size_t off = 44; off < len; c->total++) {
        const uint8_t *e = t + off;
        off += e[0] == 0 ? 20 : 8;
        assert_true(off <= len);
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], c->cpu);
            assert_int_equal(e[3], c->cpu == 0 ? 3 : 1); /* enabled, BSP first */
            c->cpu++;
            break;
        case 1:
            c->bus++;
            break;
        case 2:
            assert_int_equal(e[1], ncpus);
            assert_int_equal(rd32(e + 4), IOAPIC_GPA);
            c->ioapic++;
            break;
        case 3:
            assert_int_equal(e[6], ncpus);
            if (e[4] == 1) { /* ISA */
                assert_int_equal(e[7], has_override && e[5] == 0 ? 2 : e[5]);
                assert_false(has_override && e[5] == 2);
                c->isa++;
            } else {
                assert_int_equal(e[7], PCI_INTX_GSI(e[5] >> 2, (e[5] & 3) + 1));
                c->pci++;
            }
            break;
        case 4:
            c->local++;
            break;
        default:
            fail_msg("bad MP entry type %u", e[0]);
        }
    }
}

/* One machine: (has_pic) selects the chipset (kernel irqchip: 8259 + IOAPIC; split: IOAPIC
 * only). */
static void check_chipset(unsigned ncpus, bool has_override, bool has_pic)
{
    struct acpi_config cfg;
    struct counts c = {0};
    struct gmem *gm;
    uint64_t gpa, rsdp;

    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, RAM_BYTES), 0);
    acpi_config_default(&cfg, ncpus, RAM_BYTES);
    cfg.has_irq0_override = has_override;
    cfg.has_pic = has_pic;
    assert_int_equal(mptable_build(gm, &cfg, &gpa), 0);
    /* The ACPI tables do not overwrite it (either order works). */
    assert_int_equal(acpi_build(gm, &cfg, &rsdp), 0);
    const uint8_t *fp = scan(gm);
    if (!fp)
        fail_msg("no MP floating pointer found");
    assert_ptr_equal(fp, ptr(gm, gpa, 16));
    assert_int_equal(fp[9], 4); /* spec 1.4 */
    const uint8_t *t = ptr(gm, rd32(fp + 4), 44);
    assert_memory_equal(t, "PCMP", 4);
    uint16_t len = rd16(t + 4);
    t = ptr(gm, rd32(fp + 4), len);
    assert_true(rd32(fp + 4) + len <= MPTABLE_GPA + MPTABLE_SIZE);
    assert_int_equal(sum(t, len), 0);
    assert_int_equal(rd32(t + 36), LAPIC_GPA);
    walk(t, len, ncpus, has_override, &c);
    assert_int_equal(c.total, rd16(t + 34));
    assert_int_equal(c.cpu, ncpus);
    assert_int_equal(c.bus, 2);
    assert_int_equal(c.ioapic, 1);
    assert_int_equal(c.isa, has_override ? 15 : 16);
    assert_int_equal(c.pci, 128);
    assert_int_equal(c.local, has_pic ? 2 : 1); /* ExtINT only with an 8259, NMI always */
    /* The RSDP survived. */
    assert_int_equal(sum(ptr(gm, rsdp, 36), 36), 0);
    gmem_destroy(gm);
}

static void check(unsigned ncpus, bool has_override)
{
    check_chipset(ncpus, has_override, true);
}

static void test_counts(void **state)
{
    (void)state;
    check(1, true);
    check(2, false);
    check(MAX_VCPUS, true);
}

/* Split irqchip: no 8259, so no ExtINT entry. (--ioapic off writes no table: test_errors.) */
static void test_chipsets(void **state)
{
    (void)state;
    check_chipset(2, false, false);
}

static void test_errors(void **state)
{
    struct acpi_config cfg;
    struct gmem *gm;
    uint64_t gpa;

    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    acpi_config_default(&cfg, 1, RAM_BYTES);
    assert_int_equal(mptable_build(gm, &cfg, &gpa), -EFAULT);
    assert_int_equal(gmem_add_pc_ram(gm, RAM_BYTES), 0);
    cfg.ncpus = 0;
    assert_int_equal(mptable_build(gm, &cfg, &gpa), -EINVAL);
    cfg.ncpus = MAX_VCPUS + 1;
    assert_int_equal(mptable_build(gm, &cfg, &gpa), -EINVAL);
    cfg.ncpus = 1;
    cfg.has_ioapic = false;
    assert_int_equal(mptable_build(gm, &cfg, &gpa), -ENODEV);
    gmem_destroy(gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_chipsets),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
