/* SPDX-License-Identifier: MIT */
/*
 * Shared state of the malicious-guest payload (hostile.c, hostile_dev.c, hostile_holes.c): the
 * virtio-blk device under attack and helpers to reopen it and issue a clean request.
 */
#ifndef BAREIRON_GUEST_HOSTILE_H
#define BAREIRON_GUEST_HOSTILE_H

#include "acpi.h"
#include "virtio.h"

struct blk_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

struct hostile {
    struct vdev d; /* the first virtio-blk function */
    uint16_t bdf;
    bool strict; /* check bareiron's promised outcomes, not only survival */
    struct acpi_info ai;
};
extern struct hostile hx;

uint64_t mmio_read64(uint64_t pa);
void mmio_write64(uint64_t pa, uint64_t v);
/* The device status register. */
uint8_t hx_status(void);
/* (Re)opens hx.d with queue 0 on no MSI-X vector; false after reporting under (what). */
bool hx_open(const char *what);
/* One request (type) at (sector) with one data buffer; the status byte or -1. */
int hx_request(uint32_t type, uint64_t sector, void *buf, uint32_t len);
/* Resets and reopens the device, then reads sector 0 and checks the harness's magic. */
bool hx_recover(const char *what);

/* The modes other than single chains (hostile_dev.c, hostile_holes.c). */
void hostile_inflight(void);
void hostile_regs(void);
void hostile_msix(void);
void hostile_qcow2probe(void);
void hostile_bounce(void);
void hostile_teardown(void);
void hostile_storm(void);

#endif
