/* SPDX-License-Identifier: MIT */
/*
 * Private to vmm/machine*.c: the machine struct and the device assembly steps split out of
 * machine.c (machine_dev.c: legacy devices, PCI host, virtio-blk disks; machine_virtio.c:
 * virtio-rng and virtio-console).
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
    struct machine_disk disks[VM_MAX_DISKS];
    unsigned ndisks;
    struct virtio_rng *rng; /* --rng */
    struct virtio_pci *rng_vpci;
    struct virtio_console *vcon; /* --vconsole */
    struct virtio_pci *vcon_vpci;
    struct console *vcon_be; /* its backend (owned by main.c, lives across reboots) */
    int vcon_timer_fd;       /* input retry while the device's input buffer is full; -1 */
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
/* Removes the PCI host, then the disks and the virtio devices (docs/virtio.md order). */
void machine_remove_pci(struct machine *m);
/* Plugs virtio-rng (--rng) and virtio-console (--vconsole) into the PCI host. */
MUST_CHECK int machine_add_virtio(struct machine *m, struct error *err);
/* Disconnects the virtio-console backend's input (before the teardown runs the loop). */
void machine_stop_virtio_input(struct machine *m);
/* Destroys the virtio-rng/console transports and devices; the PCI host must be gone. */
void machine_remove_virtio(struct machine *m);
void machine_remove_legacy(struct machine *m);

#endif
