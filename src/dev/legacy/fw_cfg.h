/* SPDX-License-Identifier: MIT */
/*
 * QEMU's firmware configuration interface (fw_cfg) on the x86 I/O ports, which SeaBIOS and
 * OVMF read their configuration from: a 16-bit selector at PORT_FW_CFG (0x510), a byte-wide
 * data port at 0x511 and the DMA interface at PORT_FW_CFG_DMA (0x514: the big-endian 64-bit
 * address of a DMA access, high half at 0x514, the write of the low half at 0x518 runs it).
 *
 * Items are blobs selected by a 16-bit key: the fixed ones (signature "QEMU", the interface
 * ID with the DMA bit, CPU counts, RAM size...) and named files, listed in the file directory
 * (key FW_CFG_FILE_DIR) and given keys from FW_CFG_FILE_FIRST in the order they are added.
 * Everything is read-only for the guest: writes are refused (the DMA access reports an error).
 *
 * Every guest value is hostile: a selector of an absent key reads zeros, the offset saturates
 * at the end of the item, and a DMA access and its data must lie in guest RAM (gmem; never
 * in a read-only region) or the access ends with the error bit and nothing is written.
 * Thread-safe: one lock around the selected item, its offset and the DMA address.
 */
#ifndef BAREIRON_DEV_LEGACY_FW_CFG_H
#define BAREIRON_DEV_LEGACY_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/bus.h"

#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_UUID 0x02
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NOGRAPHIC 0x04
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MACHINE_ID 0x06
#define FW_CFG_KERNEL_ADDR 0x07
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_ADDR 0x0a
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_BOOT_DEVICE 0x0c
#define FW_CFG_NUMA 0x0d
#define FW_CFG_BOOT_MENU 0x0e
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_WRITE_CHANNEL 0x4000 /* selector bit: no item may be written */
#define FW_CFG_ARCH_LOCAL 0x8000    /* x86 items: 0x8000 ACPI, 0x8001 SMBIOS, 0x8003 e820 */

/* FW_CFG_ID bits */
#define FW_CFG_VERSION 0x01
#define FW_CFG_VERSION_DMA 0x02

/* DMA access control bits (big-endian in guest memory) */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

#define FW_CFG_MAX_FILE_NAME 56 /* with its NUL */
#define FW_CFG_MAX_ENTRIES 128
#define FW_CFG_NR_PORTS 2     /* selector + data */
#define FW_CFG_DMA_NR_PORTS 8 /* the 64-bit address register */

struct gmem;
struct fw_cfg;
struct sf_buf;
struct sf_in;

/* Creates the device with the signature and the ID items; DMA reaches guest memory through
 * (gm). Returns 0 or -ENOMEM. */
MUST_CHECK int fw_cfg_create(struct gmem *gm, struct fw_cfg **out);
/* Adds file (name) (1..55 bytes) with a copy of (len) bytes of (data) under the next file key.
 * Returns 0, -EINVAL (bad name, len over 4 GiB - 1), -EEXIST (name taken), -ENOSPC, -ENOMEM. */
MUST_CHECK int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, size_t len);
/* Sets item (key) (not a file key, not the directory) to a copy of (data), replacing an
 * earlier one. Returns 0, -EINVAL, -ENOSPC or -ENOMEM. */
MUST_CHECK int fw_cfg_add_item(struct fw_cfg *c, uint16_t key, const void *data, size_t len);
/* Registers the ports at PORT_FW_CFG and PORT_FW_CFG_DMA on (pio). Returns 0 or -errno. */
MUST_CHECK int fw_cfg_attach(struct fw_cfg *c, struct bus *pio);
/*
 * Saved state (docs/vmm.md "Saved state"): the selector as written, the offset in the selected
 * item and the high half of the DMA address. The items are not saved: a restore builds them from
 * the same options. Load returns 0 or -EINVAL (an offset past the end of the selected item, or
 * not 0 on a selector with no item). Thread-safe.
 */
void fw_cfg_save(struct fw_cfg *c, struct sf_buf *b);
MUST_CHECK int fw_cfg_load(struct fw_cfg *c, struct sf_in *in);
/* Unregisters from the bus given to fw_cfg_attach (if any) and frees (c). NULL allowed. */
void fw_cfg_destroy(struct fw_cfg *c);

#endif
