/* SPDX-License-Identifier: MIT */
/*
 * The guest side the virtio device fuzz targets share (fuzz_net.c, fuzz_input.c): 1 MiB of
 * RAM, split rings of QSIZE entries at RING_GPA + q * RING_STRIDE, payloads at DATA_GPA, and
 * the input's descriptor table and avail ring laid out in one of them.
 */
#ifndef BAREIRON_TESTS_FUZZ_RING_H
#define BAREIRON_TESTS_FUZZ_RING_H

#include <stddef.h>
#include <stdint.h>

#include "core/gmem.h"
#include "dev/virtio/virtio.h"

#define RAM_BYTES (1ULL << 20)
#define RING_GPA 0x1000ULL
#define RING_STRIDE 0x1000ULL
#define DATA_GPA 0x10000ULL
#define QSIZE 16

/* Drives (vd) to DRIVER_OK with (features) and its first (nq) queues enabled on the rings. */
void fuzz_ring_bringup(struct virtio_dev *vd, uint64_t features, unsigned nq);
/*
 * Fills the ring at (ring) of (gm) from the input: data[1] descriptors, data[2] avail
 * entries, then ndesc x {addr u16, len u16, flags u8, next u8} (addresses are offsets from
 * DATA_GPA) and navail x head u8. Returns the offset of what follows in (data).
 */
size_t fuzz_ring_load(struct gmem *gm, uint64_t ring, const uint8_t *data, size_t size);

#endif
