/* SPDX-License-Identifier: MIT */
/*
 * What a device may ask of the machine it sits in: raise interrupt lines, send MSIs, set MSI
 * routes and wire ioeventfds. The monitor implements these in core/vm.c (kvm_platform_ops, over
 * the ioctls of core/irq.c and core/ioevent.c); unit tests implement them with fakes. Devices
 * never include core/vm.h.
 */
#ifndef BAREIRON_CORE_PLATFORM_H
#define BAREIRON_CORE_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

/* One GSI routed to an MSI (addr, data) in the kernel's routing table (set_msi_routes). */
struct platform_msi_route {
    uint32_t gsi;
    uint32_t data;
    uint64_t addr;
};

struct platform_ops {
    /* Sets the level of interrupt line (gsi) (IOAPIC pin / PIC line). Thread-safe. */
    void (*set_irq)(void *opaque, uint32_t gsi, bool level);
    /* Delivers one MSI with (addr, data) (as written into an MSI-X table entry). Thread-safe.
     * Returns 0 or -errno (the caller logs with a rate limit). */
    int (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
    /*
     * Replaces the kernel's GSI routing table with the (n) MSI routes at (routes) (the
     * userspace IOAPIC's level-triggered entries: with a split irqchip KVM reports the EOIs of
     * exactly those vectors). Thread-safe. Returns 0 or -errno. NULL when there is no such
     * table (then the caller skips it).
     */
    int (*set_msi_routes)(void *opaque, const struct platform_msi_route *routes, unsigned n);
    /*
     * Assigns (is_assign) or removes an ioeventfd: a guest write of (len) bytes at (addr) in
     * port (is_pio) or memory space signals eventfd (fd) without leaving the kernel. (len) 0
     * matches any size. Returns 0 or -errno (the device then falls back to its write handler).
     */
    int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, bool is_pio, int fd,
                     bool is_assign);
    /*
     * Optional: makes a signal of eventfd (fd) raise the MSI (addr, data) without leaving the
     * kernel (is_assign; again for the same fd changes the message), or stops that (!is_assign).
     * Returns 0 or -errno (the caller then raises the MSI itself when the eventfd fires).
     */
    int (*irqfd_msi)(void *opaque, int fd, uint64_t addr, uint32_t data, bool is_assign);
    /* Asks the machine to power off (S5) / reset (reboot). Thread-safe; returns at once. */
    void (*request_poweroff)(void *opaque);
    void (*request_reset)(void *opaque);
    /* Asks the machine to exit with status (code) (isa-debug-exit). Thread-safe. */
    void (*request_exit)(void *opaque, int code);
};

struct platform {
    const struct platform_ops *ops;
    void *opaque;
};

#endif
