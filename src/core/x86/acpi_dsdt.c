/* SPDX-License-Identifier: MIT */
/*
 * The DSDT's AML (ACPI 6.5 §5.2.11.1, namespace objects from chapter 6), written with
 * core/x86/aml.h. Both machines get \_S5 (soft-off, SLP_TYP for PM1_CNT, §7.4.2) and one
 * ACPI0007 processor device per vCPU (§8.4, _UID = the MADT processor uid). The power button
 * is the fixed-feature one (FADT), so it needs no device.
 *
 * microvm-style machine (direct boot): the PCI Express host bridge \_SB.PCI0 (PNP0A08 with _CID
 * PNP0A03; _CRS per the PCI Firmware Specification 3.3 §4.1; _PRT §6.2.13 to GSIs; _OSC
 * §6.2.11), a PNP0C02 device that reserves the ECAM window, and in \_SB the ISA devices:
 * COM1/COM2 (PNP0501), the i8042 keyboard (PNP0303) and mouse (PNP0F13), the CMOS RTC (PNP0B00).
 *
 * pc machine (i440FX/PIIX3/PIIX4, what QEMU's "-M pc" offers): PCI interrupt link devices
 * (PNP0C0F, §6.2.13 "interrupt link devices") \_SB.LNKA..LNKD whose _STA/_PRS/_CRS/_SRS/_DIS read
 * and write the PIIX3 PIRQ route registers 0x60-0x63 (bit 7: disabled, bits 3-0: ISA IRQ)
 * through a PCI_Config region of 01.0, and LNKS, the fixed IRQ 9 of the PIIX4 (its INTA is the
 * SCI); \_SB.PCI0 as a plain PCI bus (PNP0A03) whose _PRT names the links; \_SB.PCI0.ISA_
 * (01.0) holding the region and the ISA devices: i8042, COM1/COM2, RTC, PIT (PNP0100), PIC
 * (PNP0000), DMA controller (PNP0200), the floppy controller (PNP0700, with _FDE §9.9.1); and
 * the fw_cfg device (QEMU0002) that Linux's qemu_fw_cfg driver looks for.
 */
#include <stdio.h>

#include "core/x86/acpi.h"
#include "core/x86/layout.h"

static void name_hid_uid(struct aml *a, const char *eisaid, uint64_t uid)
{
    aml_name_eisaid(a, "_HID", eisaid);
    aml_name_integer(a, "_UID", uid);
}

/* Opens Device (name) with _HID EISAID (eisaid) and, in it, the resource template of its _CRS;
 * the caller adds the resources, then closes both with two aml_end(). */
static void device_crs_begin(struct aml *a, const char *name, const char *eisaid)
{
    aml_device_begin(a, name);
    aml_name_eisaid(a, "_HID", eisaid);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
}

/* Processor devices \_SB.Cxxx (xxx = uid in hex). */
static void build_cpus(struct aml *a, unsigned ncpus)
{
    char name[8];

    for (unsigned i = 0; i < ncpus; i++) {
        snprintf(name, sizeof(name), "C%03X", i & 0xfffu);
        aml_device_begin(a, name);
        aml_name_string(a, "_HID", "ACPI0007");
        aml_name_integer(a, "_UID", i);
        aml_end(a);
    }
}

/*
 * _PRT: for every slot and pin, Package { (slot << 16) | 0xffff, pin (0 = INTA), 0, GSI },
 * the GSI being PCI_INTX_LINE(slot, pin + 1): level-triggered, active low, on the IOAPIC, or
 * on the PIC's IRQ 10/11 without one.
 */
static void build_prt(struct aml *a, bool has_ioapic)
{
    aml_name(a, "_PRT");
    aml_package_begin(a, 32 * 4);
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            aml_package_begin(a, 4);
            aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
            aml_integer(a, pin);
            aml_integer(a, 0);
            aml_integer(a, PCI_INTX_LINE(has_ioapic, slot, pin + 1));
            aml_end(a);
        }
    }
    aml_end(a);
}

/* \_SB.PCI0._CRS: the bus range, the config ports, the I/O and memory windows. */
static void build_pci0_crs(struct aml *a, const struct acpi_config *cfg)
{
    uint64_t mmio64_base =
        cfg->pci_mmio64_base ? cfg->pci_mmio64_base : acpi_pci_mmio64_base(cfg->ram_bytes);
    uint64_t mmio64_size = cfg->pci_mmio64_size ? cfg->pci_mmio64_size : PCI_MMIO64_SIZE;
    uint64_t mmio32_base = cfg->pci_mmio32_size ? cfg->pci_mmio32_base : PCI_MMIO32_BASE;
    uint64_t mmio32_size = cfg->pci_mmio32_size ? cfg->pci_mmio32_size : PCI_MMIO32_SIZE;

    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_word_bus(a, 0, 255);
    aml_res_io(a, PORT_PCI_CONFIG, PORT_PCI_CONFIG, 1, 8);
    aml_res_word_io(a, 0x0000, PORT_PCI_CONFIG - 1);
    aml_res_word_io(a, 0x0d00, 0xffff);
    if (cfg->has_vga)
        aml_res_dword_mem(a, false, 0xa0000, 0xbffff);
    aml_res_dword_mem(a, false, (uint32_t)mmio32_base, (uint32_t)(mmio32_base + mmio32_size - 1));
    if (mmio64_size > 0)
        aml_res_qword_mem(a, false, mmio64_base, mmio64_base + mmio64_size - 1);
    aml_end(a);
}

static void build_pci0(struct aml *a, const struct acpi_config *cfg)
{
    aml_device_begin(a, "PCI0");
    aml_name_eisaid(a, "_HID", "PNP0A08");
    aml_name_eisaid(a, "_CID", "PNP0A03");
    aml_name_integer(a, "_SEG", 0);
    aml_name_integer(a, "_BBN", 0);
    aml_name_integer(a, "_UID", 0);
    build_pci0_crs(a, cfg);
    build_prt(a, cfg->has_ioapic);
    /* _OSC (§6.2.11): hand back the capabilities buffer unchanged, i.e. grant every control
     * the OS asks for (there are no PCIe ports, so nothing for the firmware to keep). */
    aml_method_begin(a, "_OSC", 4, false);
    aml_return(a);
    aml_arg(a, 3);
    aml_end(a);
    aml_end(a);

    /* Linux checks the MCFG window against PNP0C01/PNP0C02 resources (or e820). */
    aml_device_begin(a, "MRES");
    name_hid_uid(a, "PNP0C02", 0);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_mem32_fixed(a, false, (uint32_t)PCI_ECAM_BASE, (uint32_t)PCI_ECAM_SIZE);
    aml_end(a);
    aml_end(a);
}

static void build_uart(struct aml *a, const char *name, unsigned uid, uint16_t port, unsigned irq)
{
    aml_device_begin(a, name);
    name_hid_uid(a, "PNP0501", uid);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_io(a, port, port, 8, 8);
    aml_res_irq(a, irq);
    aml_end(a);
    aml_end(a);
}

static void build_i8042(struct aml *a)
{
    device_crs_begin(a, "KBD_", "PNP0303");
    aml_res_io(a, PORT_I8042_DATA, PORT_I8042_DATA, 1, 1);
    aml_res_io(a, PORT_I8042_CMD, PORT_I8042_CMD, 1, 1);
    aml_res_irq(a, GSI_I8042_KBD);
    aml_end(a);
    aml_end(a);

    device_crs_begin(a, "MOU_", "PNP0F13");
    aml_res_irq(a, GSI_I8042_AUX);
    aml_end(a);
    aml_end(a);
}

static void build_rtc(struct aml *a)
{
    device_crs_begin(a, "RTC_", "PNP0B00");
    aml_res_io(a, PORT_CMOS, PORT_CMOS, 1, 2);
    aml_res_irq(a, GSI_RTC);
    aml_end(a);
    aml_end(a);
}

/* The ISA devices both machines have, in the current scope. */
static void build_isa_devices(struct aml *a, const struct acpi_config *cfg)
{
    if (cfg->has_com1)
        build_uart(a, "COM1", 1, PORT_COM1, GSI_COM1);
    if (cfg->has_com2)
        build_uart(a, "COM2", 2, PORT_COM2, GSI_COM2);
    if (cfg->has_i8042)
        build_i8042(a);
    if (cfg->has_rtc)
        build_rtc(a);
}

/* pc machine: the PIIX3 ISA bridge, its PIRQ route registers and the legacy ports. */
#define PC_ISA_ADR 0x00010000u /* _ADR of 01.0: device << 16 | function */
#define PC_PIRQ_REG 0x60       /* PIRQA..PIRQD route registers in 01.0's config space */
#define PC_PIRQ_DISABLED 0x80  /* bit 7 of a route register: not routed */
#define PC_PIRQ_PATH "\\_SB.PCI0.ISA_.PRQ%u"
#define PC_PORT_PIC_MASTER 0x20
#define PC_PORT_PIC_SLAVE 0xa0
#define PC_IRQ_CASCADE 2
#define PC_PORT_FDC 0x3f2 /* DOR, MSR/DSR, FIFO (0x3f2-0x3f5) */
#define PC_PORT_FDC_DIR 0x3f7
#define PC_IRQ_FDC 6
#define PC_DMA_FDC 2
#define PC_DMA_CASCADE 4
#define PC_PORT_FW_CFG 0x510 /* selector, data, DMA address (0x510-0x51b) */
#define PC_FW_CFG_LEN 0x0c
/* _STA values (§6.3.7): present + functioning, with or without "enabled". */
#define STA_PRESENT_DISABLED 0x09
#define STA_PRESENT_ENABLED 0x0b

static const char *const pc_links[4] = {"LNKA", "LNKB", "LNKC", "LNKD"};
/* The ISA IRQs the links offer (_PRS), QEMU's choice: free on the pc machine; the MADT makes
 * them level, active high. */
static const uint32_t pc_link_irqs[] = {5, 10, 11};

/* Method (IQST, 1) { If (And (0x80, Arg0)) { Return (0x09) } Return (0x0b) }: a link's _STA
 * from its route register (disabled while bit 7 is set). */
static void build_iqst(struct aml *a)
{
    aml_method_begin(a, "IQST", 1, false);
    aml_if_begin(a);
    aml_op(a, AML_OP_AND);
    aml_integer(a, PC_PIRQ_DISABLED);
    aml_arg(a, 0);
    aml_namestring(a, "");
    aml_return(a);
    aml_integer(a, STA_PRESENT_DISABLED);
    aml_end(a);
    aml_return(a);
    aml_integer(a, STA_PRESENT_ENABLED);
    aml_end(a);
}

/* Method (IQCR, 1): a link's _CRS from its route register, the routed IRQ (bits 3-0) in a
 * one-interrupt template, or interrupt 0 while disabled. The template is a method local, so
 * the method creates no named object:
 *   Store (ResourceTemplate () { Interrupt (, Level, ActiveHigh, Shared) {0} }, Local0)
 *   If (LLess (Arg0, 0x80)) { Store (And (Arg0, 0x0f), Index (Local0, 5)) }
 *   Return (Local0)
 * (byte 5 of the descriptor is the low byte of its first interrupt number). The template is
 * written as a Buffer ending in an EndTag with checksum 0 ("ignore"): the method changes it, so
 * a computed checksum would turn stale. */
static void build_iqcr(struct aml *a)
{
    static const uint32_t none = 0;

    aml_method_begin(a, "IQCR", 1, false);
    aml_op(a, AML_OP_STORE);
    aml_buffer_begin(a);
    aml_res_interrupts(a, true, false, true, &none, 1);
    aml_byte(a, 0x79); /* EndTag */
    aml_byte(a, 0);
    aml_end(a);
    aml_local(a, 0);
    aml_if_begin(a);
    aml_op(a, AML_OP_LLESS);
    aml_arg(a, 0);
    aml_integer(a, PC_PIRQ_DISABLED);
    aml_op(a, AML_OP_STORE);
    aml_op(a, AML_OP_AND);
    aml_arg(a, 0);
    aml_integer(a, 0x0f);
    aml_namestring(a, "");
    aml_op(a, AML_OP_INDEX);
    aml_local(a, 0);
    aml_integer(a, 5);
    aml_namestring(a, "");
    aml_end(a);
    aml_return(a);
    aml_local(a, 0);
    aml_end(a);
}

/* Method (name, 0) { Return (method (reg)) } */
static void method_return_call(struct aml *a, const char *name, const char *method, const char *reg)
{
    aml_method_begin(a, name, 0, false);
    aml_return(a);
    aml_namestring(a, method);
    aml_namestring(a, reg);
    aml_end(a);
}

/* Interrupt link LNKA..LNKD (idx 0..3) on PIRQ route register 0x60 + idx. */
static void build_link(struct aml *a, unsigned idx)
{
    char reg[32];

    snprintf(reg, sizeof(reg), PC_PIRQ_PATH, idx);
    aml_device_begin(a, pc_links[idx]);
    name_hid_uid(a, "PNP0C0F", idx);
    aml_name(a, "_PRS");
    aml_restemplate_begin(a);
    aml_res_interrupts(a, true, false, true, pc_link_irqs,
                       sizeof(pc_link_irqs) / sizeof(pc_link_irqs[0]));
    aml_end(a);
    method_return_call(a, "_STA", "IQST", reg);
    method_return_call(a, "_CRS", "IQCR", reg);
    aml_method_begin(a, "_DIS", 0, false); /* Or (reg, 0x80, reg) */
    aml_op(a, AML_OP_OR);
    aml_namestring(a, reg);
    aml_integer(a, PC_PIRQ_DISABLED);
    aml_namestring(a, reg);
    aml_end(a);
    /* _SRS: the interrupt the OS picked from _PRS, at byte 5 of its descriptor, into the
     * register (which also clears bit 7). Serialized: it creates PRRI. */
    aml_method_begin(a, "_SRS", 1, true);
    aml_op(a, AML_OP_CREATE_DWORD_FIELD);
    aml_arg(a, 0);
    aml_integer(a, 5);
    aml_namestring(a, "PRRI");
    aml_op(a, AML_OP_STORE);
    aml_namestring(a, "PRRI");
    aml_namestring(a, reg);
    aml_end(a);
    aml_end(a);
}

/* LNKS: the PIIX4 PM function's INTA, hard-wired to the SCI (IRQ 9). */
static void build_link_sci(struct aml *a)
{
    static const uint32_t sci = GSI_ACPI_SCI;

    aml_device_begin(a, "LNKS");
    name_hid_uid(a, "PNP0C0F", 4);
    aml_name(a, "_PRS");
    aml_restemplate_begin(a);
    aml_res_interrupts(a, true, false, true, &sci, 1);
    aml_end(a);
    aml_method_begin(a, "_STA", 0, false);
    aml_return(a);
    aml_integer(a, STA_PRESENT_ENABLED);
    aml_end(a);
    aml_method_begin(a, "_DIS", 0, false);
    aml_end(a);
    aml_method_begin(a, "_CRS", 0, false);
    aml_return(a);
    aml_namestring(a, "_PRS");
    aml_end(a);
    aml_method_begin(a, "_SRS", 1, false);
    aml_end(a);
    aml_end(a);
}

/* _PRT of the PIIX3: slot s pin p (0 = INTA) -> PIRQ (s + p - 1) & 3, as the chipset wires the
 * slots (the pc machine's INTx routing must do the same), except 01.0 INTA -> LNKS. */
static void build_pc_prt(struct aml *a)
{
    char link[16];

    aml_name(a, "_PRT");
    aml_package_begin(a, 32 * 4);
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            if (slot == 1 && pin == 0)
                snprintf(link, sizeof(link), "\\_SB.LNKS");
            else
                snprintf(link, sizeof(link), "\\_SB.%s", pc_links[(slot + pin + 3) & 3]);
            aml_package_begin(a, 4);
            aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
            aml_integer(a, pin);
            aml_namestring(a, link);
            aml_integer(a, 0);
            aml_end(a);
        }
    }
    aml_end(a);
}

/* PIT, PIC pair and the DMA controller pair (with the page registers QEMU decodes). */
static void build_pc_timers_pic_dma(struct aml *a)
{
    static const struct {
        uint16_t port;
        uint8_t len;
    } dma_ports[] = {{0x00, 0x10}, {0x81, 3}, {0x87, 1}, {0x89, 3}, {0x8f, 1}, {0xc0, 0x20}};

    device_crs_begin(a, "TMR_", "PNP0100");
    aml_res_io(a, PORT_PIT, PORT_PIT, 1, 4);
    aml_res_irq(a, GSI_PIT);
    aml_end(a);
    aml_end(a);

    device_crs_begin(a, "PIC_", "PNP0000");
    aml_res_io(a, PC_PORT_PIC_MASTER, PC_PORT_PIC_MASTER, 1, 2);
    aml_res_io(a, PC_PORT_PIC_SLAVE, PC_PORT_PIC_SLAVE, 1, 2);
    aml_res_irq(a, PC_IRQ_CASCADE);
    aml_end(a);
    aml_end(a);

    device_crs_begin(a, "DMAC", "PNP0200");
    for (size_t i = 0; i < sizeof(dma_ports) / sizeof(dma_ports[0]); i++)
        aml_res_io(a, dma_ports[i].port, dma_ports[i].port, 1, dma_ports[i].len);
    aml_res_dma(a, PC_DMA_CASCADE, 0x01); /* compatibility, not bus master, 8- and 16-bit */
    aml_end(a);
    aml_end(a);
}

/* The floppy controller with drive A present (_FDE: four drive dwords, then the tape: 2 =
 * not present). */
static void build_pc_fdc(struct aml *a)
{
    static const uint8_t fde[20] = {1, [16] = 2};

    device_crs_begin(a, "FDC0", "PNP0700");
    aml_res_io(a, PC_PORT_FDC, PC_PORT_FDC, 1, 4);
    aml_res_io(a, PC_PORT_FDC_DIR, PC_PORT_FDC_DIR, 1, 1);
    aml_res_irq(a, PC_IRQ_FDC);
    aml_res_dma(a, PC_DMA_FDC, 0x00); /* compatibility, not bus master, 8-bit */
    aml_end(a);
    aml_name(a, "_FDE");
    aml_buffer_begin(a);
    aml_bytes(a, fde, sizeof(fde));
    aml_end(a);
    aml_end(a);
}

/* \_SB.PCI0.ISA_: the PIIX3 function 01.0, its PIRQ registers and the ISA devices. */
static void build_pc_isa(struct aml *a, const struct acpi_config *cfg)
{
    aml_device_begin(a, "ISA_");
    aml_name_integer(a, "_ADR", PC_ISA_ADR);
    aml_operation_region(a, "P40C", AML_REGION_PCI_CONFIG, PC_PIRQ_REG, 4);
    aml_field_begin(a, "P40C", AML_FIELD_BYTE_ACC);
    for (unsigned i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "PRQ%u", i);
        aml_field_unit(a, name, 8);
    }
    aml_end(a);
    build_isa_devices(a, cfg);
    build_pc_timers_pic_dma(a);
    if (cfg->has_fdc)
        build_pc_fdc(a);
    aml_end(a);
}

static void build_pc_pci0(struct aml *a, const struct acpi_config *cfg)
{
    aml_device_begin(a, "PCI0");
    aml_name_eisaid(a, "_HID", "PNP0A03");
    aml_name_integer(a, "_UID", 0);
    aml_name_integer(a, "_BBN", 0);
    build_pci0_crs(a, cfg);
    build_pc_prt(a);
    build_pc_isa(a, cfg);
    aml_device_begin(a, "FWCF");
    aml_name_string(a, "_HID", "QEMU0002");
    aml_name_integer(a, "_STA", STA_PRESENT_ENABLED);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_io(a, PC_PORT_FW_CFG, PC_PORT_FW_CFG, 1, PC_FW_CFG_LEN);
    aml_end(a);
    aml_end(a);
    aml_end(a);
}

/* The links come first so that the _PRT's references to them resolve when the table loads. */
static void build_pc(struct aml *a, const struct acpi_config *cfg)
{
    build_iqst(a);
    build_iqcr(a);
    for (unsigned i = 0; i < 4; i++)
        build_link(a, i);
    build_link_sci(a);
    build_pc_pci0(a, cfg);
}
int acpi_dsdt_build(struct aml *a, const struct acpi_config *cfg)
{
    /* \_S5: { PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved } */
    aml_name(a, "\\_S5");
    aml_package_begin(a, 4);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a);

    aml_scope_begin(a, "\\_SB");
    build_cpus(a, cfg->ncpus);
    if (cfg->is_pc) {
        build_pc(a, cfg);
    } else {
        if (cfg->has_pci)
            build_pci0(a, cfg);
        build_isa_devices(a, cfg);
    }
    aml_end(a);
    return aml_finish(a);
}
