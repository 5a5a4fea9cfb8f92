/* SPDX-License-Identifier: MIT */
/*
 * Constants of the modern virtio-pci transport and the block device for the virtio payloads:
 * virtio 1.2 §4.1.4 (capability types, common configuration layout), §2.1 (status bits),
 * §2.7.5 (descriptor flags), §6 (VERSION_1) and §5.2 (block features, request types and
 * status values).
 *
 *   common configuration (§4.1.4.3), little endian:
 *   0  device_feature_select u32   4  device_feature u32   8  driver_feature_select u32
 *   12 driver_feature u32         16 config_msix_vector u16 18 num_queues u16
 *   20 device_status u8           21 config_generation u8  22 queue_select u16
 *   24 queue_size u16             26 queue_msix_vector u16 28 queue_enable u16
 *   30 queue_notify_off u16       32 queue_desc u64        40 queue_driver u64
 *   48 queue_device u64
 */
#ifndef BAREIRON_GUEST_VIRTIO_H
#define BAREIRON_GUEST_VIRTIO_H

#include "rt.h"

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4

#define VIRTIO_COMMON_DFSELECT 0
#define VIRTIO_COMMON_DF 4
#define VIRTIO_COMMON_GFSELECT 8
#define VIRTIO_COMMON_GF 12
#define VIRTIO_COMMON_MSIX 16
#define VIRTIO_COMMON_NUMQ 18
#define VIRTIO_COMMON_STATUS 20
#define VIRTIO_COMMON_CFGGEN 21
#define VIRTIO_COMMON_Q_SELECT 22
#define VIRTIO_COMMON_Q_SIZE 24
#define VIRTIO_COMMON_Q_MSIX 26
#define VIRTIO_COMMON_Q_ENABLE 28
#define VIRTIO_COMMON_Q_NOFF 30
#define VIRTIO_COMMON_Q_DESC 32
#define VIRTIO_COMMON_Q_AVAIL 40
#define VIRTIO_COMMON_Q_USED 48

#define VIRTIO_S_ACK 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

#define VIRTIO_F_VERSION_1 32

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_DWZ_F_UNMAP 1

/* Device configuration offsets (§5.2.4) */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_MAX_DISCARD 36
#define VIRTIO_BLK_CFG_MAX_WZ 48

/* Device configuration offsets of virtio-rng: none (§5.4.4). */

/*
 * A polling modern virtio-pci driver core (rt/virtio_pci.c): one device at a time, one split
 * queue (queue 0) of VDEV_QUEUE_SIZE entries in static memory, interrupts never used.
 */
#define VDEV_QUEUE_SIZE 16
#define VDEV_NO_VECTOR 0xffff

struct vdev {
    uint16_t bdf;
    uint64_t common, notify, isr, devcfg; /* guest-physical addresses of the structures */
    uint32_t notify_mult;
    uint64_t features; /* negotiated */
    uint16_t qsize, avail_idx, used_idx;
    uint64_t notify_addr;
    char tag[8]; /* "00:dd.f" for messages */
};

/* One buffer of a request chain; (writable) buffers are written by the device. */
struct vbuf {
    void *addr;
    uint32_t len;
    bool writable;
};

/*
 * Brings up the device at (bdf): enables memory decoding and bus mastering, maps the vendor
 * capabilities (§4.1.4), resets it, negotiates (want) & offered features (VERSION_1 required),
 * sets up queue 0 with MSI-X vector (msix) (VDEV_NO_VECTOR: none; the caller enables MSI-X
 * first) and sets DRIVER_OK. Failures are reported with rt_check under (what). Returns true
 * when the device is ready.
 */
bool vdev_open(struct vdev *d, uint16_t bdf, uint64_t want, uint16_t msix, const char *what);
/* True when feature (bit) was negotiated. */
bool vdev_has(const struct vdev *d, unsigned bit);
/*
 * Puts the chain (bufs)[0..n) on queue 0 (n <= VDEV_QUEUE_SIZE), notifies and polls the used
 * ring for up to 5 s. Returns 0 and the used length in (*used_len) (may be NULL), or -1 on a
 * timeout or a used element that is not this chain.
 */
int vdev_submit(struct vdev *d, const struct vbuf *bufs, unsigned n, uint32_t *used_len);
/* Resets the device (status 0) and waits for it to read 0; returns false on timeout. */
bool vdev_reset(struct vdev *d);
/* Reads 32 bits of device configuration at (off). */
uint32_t vdev_cfg32(const struct vdev *d, unsigned off);

/* A split-ring descriptor (§2.7.5) of the runtime's queue 0. */
struct vdev_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
/*
 * The runtime's queue-0 rings, for payloads that build chains by hand (tests/guest/payloads/
 * hostile.c): (*desc)[VDEV_QUEUE_SIZE], (*avail) = flags, idx, ring[VDEV_QUEUE_SIZE] and (*used)
 * = flags | idx << 16, then {id, len} pairs. vdev_submit() overwrites them.
 */
void vdev_rings(struct vdev_desc **desc, volatile uint16_t **avail, volatile uint32_t **used);

#endif
