/* SPDX-License-Identifier: MIT */
/*
 * Private to vmm/machine*.c: the machine struct and the device assembly steps split out of
 * machine.c (machine_dev.c: legacy devices, PCI host, virtio-blk disks).
 */
#ifndef BAREIRON_VMM_MACHINE_INTERNAL_H
#define BAREIRON_VMM_MACHINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "boot/boot.h"
#include "core/x86/e820.h"
#include "vmm/machine.h"

struct gmem;
struct bus;
struct blk;

struct machine_disk {
    struct blk *blk;
    struct virtio_blk *vblk;
    struct virtio_pci *vpci;
};

struct machine {
    const struct vmm_options *opts;
    struct gmem *gm;
    struct e820_map e820;
    uint64_t rsdp_gpa;
    struct boot_result boot;
    struct evloop *loop;
    struct console *con;
    uint64_t start_ns;
    struct vm *vm;
    struct bus *pio;
    struct bus *mmio;
    struct uart8250 *com1;
    struct i8042 *i8042;
    struct cmos_rtc *rtc;
    struct port92 *port92;
    struct debug_exit *debug_exit;
    struct acpi_pm *acpi_pm;
    struct pci_host *pci;
    struct machine_disk disks[VMM_MAX_DISKS];
    unsigned ndisks;
};

/* Which optional parts this build has (src/vmm/meson.build HAVE_DEV_*). */
bool machine_has_pci(void);
bool machine_has_rtc(void);

/* Opens the --disk/--cdrom images (before KVM). Returns 0 or -errno with (err) set. */
MUST_CHECK int machine_open_disks(struct machine *m, struct evloop *loop, struct error *err);
/* Creates and attaches COM1, i8042, RTC, port 0x92, isa-debug-exit, ACPI PM. */
MUST_CHECK int machine_add_legacy(struct machine *m, struct error *err);
/* Creates the PCI host bridge and plugs a virtio-blk function per disk. */
MUST_CHECK int machine_add_pci(struct machine *m, struct error *err);
void machine_remove_pci(struct machine *m);
void machine_remove_legacy(struct machine *m);

#endif
