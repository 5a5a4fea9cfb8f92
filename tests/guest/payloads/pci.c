/* SPDX-License-Identifier: MIT */
/*
 * Enumerates PCI bus 0 through configuration mechanism #1 (ports 0xCF8/0xCFC, PCI Local Bus
 * 3.0 §3.2.2.3.2) and through ECAM from the MCFG (PCIe Base 4.0 §7.2.2), and requires both
 * views to agree on every function's identity, class, header type, BARs and subsystem IDs.
 * Lists every function, sizes each BAR by writing all-ones with decoding off and restores it
 * (PCI 3.0 §6.2.5.1), walks capability lists (§6.7) and checks the host bridge at 00:00.0
 * (class 06:00). `devices=N` requires N functions; `expect=VVVV:DDDD[,...]` requires those IDs.
 */
#include "acpi.h"
#include "pci.h"

const char payload_name[] = "pci";

#define MAX_FNS 64

static struct acpi_info ai;
static uint16_t fns[MAX_FNS];
static unsigned nfns;

static void enumerate(void)
{
    for (unsigned dev = 0; dev < 32; dev++) {
        for (unsigned fn = 0; fn < 8; fn++) {
            uint16_t bdf = PCI_BDF(0, dev, fn);
            uint32_t id = pci_cf8_read32(bdf, PCI_VENDOR);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            if (nfns < MAX_FNS)
                fns[nfns++] = bdf;
            if (fn == 0 && !(pci_cf8_read32(bdf, 0x0c) & 0x800000))
                break;
        }
    }
}

/* Compares the identity registers of every function in the two access methods, and checks
 * that ECAM shows all-ones where mechanism #1 found nothing. */
static void compare_ecam(void)
{
    static const uint16_t regs[] = {0x00, 0x08, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x2c};
    unsigned mismatches = 0;
    for (unsigned i = 0; i < nfns; i++) {
        for (unsigned r = 0; r < ARRAY_SIZE(regs); r++) {
            uint32_t a = pci_cf8_read32(fns[i], regs[r]);
            uint32_t b = mmio_read32(pci_ecam_addr(fns[i], regs[r]));
            if (a != b && mismatches++ < 8)
                rt_printf("  %02x:%02x.%x reg 0x%02x: CF8 0x%08x ECAM 0x%08x\n", PCI_BUS(fns[i]),
                          PCI_DEV(fns[i]), PCI_FN(fns[i]), regs[r], a, b);
        }
        uint32_t ht_a = pci_cf8_read32(fns[i], 0x0c) & 0x00ff0000;
        uint32_t ht_b = mmio_read32(pci_ecam_addr(fns[i], 0x0c)) & 0x00ff0000;
        mismatches += ht_a != ht_b;
    }
    unsigned ghosts = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        uint16_t bdf = PCI_BDF(0, dev, 0);
        if ((pci_cf8_read32(bdf, 0) & 0xffff) == 0xffff &&
            mmio_read32(pci_ecam_addr(bdf, 0)) != 0xffffffffu)
            ghosts++;
    }
    if (rt_check(!mismatches && !ghosts, "ecam", "%u register mismatches, %u ECAM-only devices",
                 mismatches, ghosts))
        rt_pass("ecam");
}

/* Sizes every BAR of a type-0 function with decoding off; returns the number of problems. */
static unsigned size_bars(uint16_t bdf)
{
    if ((pci_read8(bdf, PCI_HEADER_TYPE) & 0x7f) != 0)
        return 0;
    uint32_t before[6];
    for (unsigned i = 0; i < 6; i++)
        before[i] = pci_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * i));
    if (!(before[0] | before[1] | before[2] | before[3] | before[4] | before[5]))
        return 0;
    unsigned bad = 0;
    uint16_t cmd = pci_read16(bdf, PCI_COMMAND);
    pci_write16(bdf, PCI_COMMAND, (uint16_t)(cmd & ~(PCI_CMD_IO | PCI_CMD_MEM)));
    for (unsigned i = 0; i < 6;) {
        struct pci_bar bar;
        unsigned used = pci_bar_probe(bdf, i, &bar);
        if (bar.size) {
            bool pow2 = (bar.size & (bar.size - 1)) == 0;
            bool aligned = (bar.addr & (bar.size - 1)) == 0;
            rt_printf("    BAR%u %s%s%s 0x%lx size 0x%lx%s\n", i, bar.io ? "io" : "mem",
                      bar.is64 ? "64" : "", bar.prefetch ? " pref" : "", (unsigned long)bar.addr,
                      (unsigned long)bar.size, pow2 && aligned ? "" : " BAD");
            bad += !pow2 || !aligned;
        }
        i += used;
    }
    pci_write16(bdf, PCI_COMMAND, cmd);
    for (unsigned i = 0; i < 6; i++) {
        uint32_t now = pci_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * i));
        if (now != before[i]) {
            rt_printf("    BAR%u not restored: 0x%08x -> 0x%08x\n", i, before[i], now);
            bad++;
        }
    }
    if (pci_read16(bdf, PCI_COMMAND) != cmd)
        bad++;
    return bad;
}

static unsigned walk_caps(uint16_t bdf)
{
    if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP))
        return 0;
    uint8_t p = pci_read8(bdf, PCI_CAP_PTR);
    unsigned n = 0;
    rt_printf("    caps:");
    for (; p && n < 48; n++) {
        if (p < 0x40 || (p & 3)) {
            rt_printf(" bad pointer 0x%x\n", p);
            return 1;
        }
        rt_printf(" %02x@%02x", pci_read8(bdf, p), p);
        p = pci_read8(bdf, (uint16_t)(p + 1));
    }
    rt_printf("\n");
    return n >= 48;
}

static void list_and_size(void)
{
    unsigned bad_bars = 0, bad_caps = 0;
    for (unsigned i = 0; i < nfns; i++) {
        uint16_t bdf = fns[i];
        uint32_t id = pci_read32(bdf, PCI_VENDOR);
        uint32_t cls = pci_read32(bdf, PCI_CLASS_REV);
        rt_printf("  %02x:%02x.%x %04x:%04x class %06x rev %02x hdr %02x\n", PCI_BUS(bdf),
                  PCI_DEV(bdf), PCI_FN(bdf), id & 0xffff, id >> 16, cls >> 8, cls & 0xff,
                  pci_read8(bdf, PCI_HEADER_TYPE));
        bad_bars += size_bars(bdf);
        bad_caps += walk_caps(bdf);
    }
    if (rt_check(!bad_bars, "bars", "%u BAR problems (see above)", bad_bars))
        rt_pass("bars");
    if (rt_check(!bad_caps, "caps", "%u broken capability lists", bad_caps))
        rt_pass("caps");
}

static void check_expectations(void)
{
    uint32_t hb = pci_cf8_read32(PCI_BDF(0, 0, 0), PCI_CLASS_REV) >> 8;
    uint32_t hb_id = pci_cf8_read32(PCI_BDF(0, 0, 0), PCI_VENDOR);
    if (rt_check((hb_id & 0xffff) != 0xffff && (hb >> 8) == 0x0600, "host-bridge",
                 "00:00.0 is %08x class %06x, want a host bridge (0600xx)", hb_id, hb))
        rt_pass("host-bridge");
    uint64_t want = rt_cmdline_u64("devices", 0);
    if (want &&
        rt_check(nfns == want, "count", "found %u functions, want %lu", nfns, (unsigned long)want))
        rt_pass("count");
    char list[128];
    if (!rt_cmdline_get("expect", list, sizeof(list)))
        return;
    for (char *p = list; *p;) {
        char item[16] = {0};
        unsigned n = 0;
        while (*p && *p != ',' && n < 15)
            item[n++] = *p++;
        if (*p == ',')
            p++;
        if (n != 9 || item[4] != ':')
            continue;
        item[4] = '\0';
        char v[8] = "0x", d[8] = "0x";
        memcpy(v + 2, item, 5);
        memcpy(d + 2, item + 5, 5);
        uint64_t vid, did;
        uint16_t bdf;
        if (!rt_parse_u64(v, &vid) || !rt_parse_u64(d, &did))
            continue;
        if (rt_check(pci_find_device((uint16_t)vid, (uint16_t)did, &bdf), "expect",
                     "%04lx:%04lx not found", (unsigned long)vid, (unsigned long)did))
            rt_printf("  found %04lx:%04lx at 00:%02x.%x\n", (unsigned long)vid, (unsigned long)did,
                      PCI_DEV(bdf), PCI_FN(bdf));
    }
}

void payload_main(void)
{
    char why[120];
    bool have_acpi = acpi_init(&ai, why, sizeof(why)) == 0;
    enumerate();
    rt_printf("  %u functions on bus 0 (CF8/CFC)\n", nfns);
    if (rt_check(nfns > 0, "enumerate", "no PCI functions found through CF8/CFC"))
        rt_pass("enumerate");
    if (have_acpi && ai.ecam_base) {
        rt_printf("  ECAM at 0x%lx (MCFG)\n", (unsigned long)ai.ecam_base);
        pci_ecam_set(ai.ecam_base, ai.ecam_bus_start, ai.ecam_bus_end);
        compare_ecam();
    } else {
        rt_printf("  no MCFG: ECAM comparison skipped\n");
        if (rt_cmdline_u64("mcfg", 0))
            rt_fail("ecam", "mcfg=1 but no MCFG table");
    }
    list_and_size();
    check_expectations();
}
