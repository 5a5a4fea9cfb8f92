/* SPDX-License-Identifier: MIT */
/*
 * Conventional PCI on bus 0 (PCI Local Bus Spec 3.0 §6, PCI Express Base Spec §7.2 for ECAM):
 * a host bridge at 00:00.0, configuration mechanism #1 at PORT_PCI_CONFIG (CF8 address,
 * CFC..CFF data), ECAM at PCI_ECAM_BASE (4 KiB per function; only bus 0 is populated, the rest
 * reads all-ones), and `struct pci_dev`: the config space with write and write-1-to-clear masks,
 * BARs (I/O, 32-bit and 64-bit memory) with size probing, and a capability list.
 *
 * There is no firmware on the direct-boot path, so the monitor assigns every BAR from
 * allocators over the 32-bit window, the 64-bit window and the I/O window and turns decoding on,
 * as a BIOS would; Linux keeps these resources. When the guest rewrites a BAR or toggles
 * COMMAND.MEM/IO, the BAR's bus registration follows: a BAR is registered only while its
 * decoding is enabled, its address is sane (inside the addressable space, not zero, not
 * all-ones) and it does not overlap another range.
 *
 * Threading and locks: one mutex per host serializes every config-space access (and the CF8
 * latch). Device hooks (pci_dev_ops) run with it held. Lock order: host lock -> bus rwlock,
 * host lock -> device locks -> MSI-X lock. A BAR's io_ops are called by the bus without the host
 * lock. INTx state has a lock of its own that is taken last (after the host lock or a device
 * lock), so a device drives its line with whatever lock it holds.
 */
#ifndef BAREIRON_DEV_PCI_PCI_H
#define BAREIRON_DEV_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/statefile.h"
#include "core/x86/layout.h"
#include "dev/bus.h"
#include "core/platform.h"

/* Config space offsets (type 0 header) */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010

#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP 0x10
#define PCI_CAP_ID_MSIX 0x11

#define PCI_CFG_SPACE_SIZE 256
#define PCI_CFG_SPACE_EXP_SIZE 4096
#define PCI_NUM_BARS 6
#define PCI_MAX_SLOTS 32
#define PCI_MAX_FNS (PCI_MAX_SLOTS * 8) /* devfn */

#define PCI_HOST_VENDOR_ID 0x8086
#define PCI_HOST_DEVICE_ID 0x29c0 /* Intel Q35 DRAM controller, a plain host bridge to Linux */

/* Default I/O window for I/O BARs (layout.h PCI_IO_BASE/SIZE, announced in the DSDT _CRS). */
#define PCI_IO_WINDOW_BASE PCI_IO_BASE
#define PCI_IO_WINDOW_SIZE PCI_IO_SIZE

enum pci_bar_type {
    PCI_BAR_NONE = 0,
    PCI_BAR_IO,    /* I/O space, size 4..256 bytes */
    PCI_BAR_MEM32, /* 32-bit memory, from the 32-bit window */
    PCI_BAR_MEM64, /* 64-bit memory (uses this BAR and the next), from the 64-bit window */
};

struct pci_bar {
    enum pci_bar_type type;
    bool is_prefetchable;
    uint64_t size;          /* power of two; 0 for an unused BAR */
    uint64_t assigned_base; /* what pci_host_add_dev programmed (restored on reset) */
    uint64_t mapped_base;   /* where it is registered, valid while is_mapped */
    bool is_mapped;
    const struct io_ops *ops; /* handlers, get the offset inside the BAR */
    void *opaque;
};

struct pci_dev;

struct pci_dev_ops {
    /* After a guest write of (size) bytes at config offset (off) (value (val)) has been applied
     * through the masks (BAR and MSI-X bookkeeping already done). Host lock held. Optional. */
    void (*cfg_write)(struct pci_dev *dev, uint32_t off, uint32_t val, unsigned size);
    /* Before a config read of (size) bytes at (off): the device may refresh dev->cfg. Host lock
     * held. Optional. */
    void (*cfg_read)(struct pci_dev *dev, uint32_t off, unsigned size);
    /* BAR (bar) was registered at (gpa) (is_mapped) or unregistered from it (!is_mapped), e.g.
     * to move ioeventfds. Host lock held. Optional. */
    void (*bar_map)(struct pci_dev *dev, unsigned bar, uint64_t gpa, bool is_mapped);
    /* Device reset (machine reset). Optional. */
    void (*reset)(struct pci_dev *dev);
    /* pci_host_load put a saved config space in place: the device applies what its registers
     * say (as after a guest write of them). Host lock held. Optional. */
    void (*post_load)(struct pci_dev *dev);
};

struct pci_dev_id {
    uint16_t vendor, device, subsys_vendor, subsys;
    uint32_t class_code; /* 24 bits: base class, subclass, prog-if (0x060000 host bridge) */
    uint8_t revision;
    uint8_t int_pin; /* 0 none, 1..4 INTA..INTD */
};

struct pci_msix;
struct pci_host;

struct pci_dev {
    struct pci_host *host; /* set by pci_host_add_dev */
    const char *name;
    uint8_t devfn;         /* slot << 3 | function */
    uint32_t gsi;          /* INTx line (GSI_PCI_FIRST + swizzle), valid if int_pin != 0 */
    bool intx_level;       /* what the device asserts (before INTX_DISABLE); host INTx lock */
    bool is_intx_disabled; /* COMMAND.INTX_DISABLE; host INTx lock */
    uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
    uint8_t wmask[PCI_CFG_SPACE_EXP_SIZE];   /* bits the guest may write */
    uint8_t w1cmask[PCI_CFG_SPACE_EXP_SIZE]; /* bits a guest 1 clears */
    struct pci_bar bars[PCI_NUM_BARS];
    uint16_t cap_last;     /* offset of the last capability (0: none) */
    uint16_t cap_free;     /* first free byte for the next capability */
    struct pci_msix *msix; /* set by pci_msix_init */
    struct pci_bar rom;    /* the expansion ROM (pci_dev_set_rom); type NONE without one */
    const uint8_t *rom_data;
    size_t rom_bytes;
    const struct pci_dev_ops *ops;
    void *opaque;
};

/* Fills (dev) (caller-owned, typically embedded in the device struct) with the identity (id),
 * a type 0 header and empty BARs. (name) is kept by pointer. */
void pci_dev_init(struct pci_dev *dev, const struct pci_dev_id *id, const struct pci_dev_ops *ops,
                  void *opaque, const char *name);
/*
 * Declares BAR (bar) of (type) and (size) bytes (power of two; >= 16 for memory, 4..256 for
 * I/O) served by (ops, opaque). A PCI_BAR_MEM64 uses slots (bar) and (bar + 1). Call before
 * pci_host_add_dev. Returns 0 or -EINVAL.
 */
MUST_CHECK int pci_dev_set_bar(struct pci_dev *dev, unsigned bar, enum pci_bar_type type,
                               uint64_t size, bool is_prefetchable, const struct io_ops *ops,
                               void *opaque);
/*
 * Declares an expansion ROM (config offset 0x30) holding the (len) bytes of (data) (kept by
 * pointer: the caller keeps it alive as long as the device), sized to the next power of two
 * of at least 2 KiB; the rest reads as zero. pci_host_add_dev gives it an address with its
 * enable bit clear; it is readable while the guest sets that bit and COMMAND.MEM. Call before
 * pci_host_add_dev. Returns 0 or -EINVAL (no data, over 16 MiB, declared twice).
 */
MUST_CHECK int pci_dev_set_rom(struct pci_dev *dev, const void *data, size_t len);
/*
 * Appends a capability: copies (len) bytes of (cap) (byte 0 = capability ID; byte 1, the
 * next pointer, is filled in) at a dword-aligned offset in the first 256 bytes and links it.
 * The capability is read-only until the caller opens bits with pci_dev_set_wmask.
 * (*out_off) receives its offset. Returns 0, -EINVAL (len < 2) or -ENOSPC.
 */
MUST_CHECK int pci_dev_add_cap(struct pci_dev *dev, const void *cap, size_t len, uint16_t *out_off);
/* Sets the writable bits of (len) bytes at config offset (off) to (mask) (little-endian, len
 * 1..4). */
void pci_dev_set_wmask(struct pci_dev *dev, uint16_t off, uint32_t mask, unsigned len);
void pci_dev_set_w1cmask(struct pci_dev *dev, uint16_t off, uint32_t mask, unsigned len);

/* Little-endian config-space accessors (no masks, no hooks: device-side use). (off) + size must
 * lie inside the 4 KiB space (PANIC otherwise: a monitor bug). */
uint8_t pci_cfg_get8(const struct pci_dev *dev, uint16_t off);
uint16_t pci_cfg_get16(const struct pci_dev *dev, uint16_t off);
uint32_t pci_cfg_get32(const struct pci_dev *dev, uint16_t off);
void pci_cfg_set8(struct pci_dev *dev, uint16_t off, uint8_t val);
void pci_cfg_set16(struct pci_dev *dev, uint16_t off, uint16_t val);
void pci_cfg_set32(struct pci_dev *dev, uint16_t off, uint32_t val);

/* Asserts or deasserts the device's INTx line (honours COMMAND.INTX_DISABLE; STATUS.INTERRUPT
 * reads the level). Devices sharing a GSI are wire-ORed. Thread-safe; takes only the host's
 * INTx lock, so it may be called with the host lock or a device lock held. No-op without a
 * pin. */
void pci_dev_set_intx(struct pci_dev *dev, bool level);
/* Current address of BAR (bar) as programmed in config space (not necessarily mapped). */
uint64_t pci_dev_bar_addr(struct pci_dev *dev, unsigned bar);

struct pci_host_config {
    uint64_t mmio32_base, mmio32_size; /* usually PCI_MMIO32_BASE/SIZE */
    uint64_t mmio64_base, mmio64_size; /* 64-bit window (size 0: MEM64 BARs go to mmio32) */
    uint64_t io_base, io_size;         /* usually PCI_IO_WINDOW_BASE/SIZE */
    uint64_t ecam_base;                /* usually PCI_ECAM_BASE (256 MiB, 256 buses) */
    bool is_intx_on_pic; /* no IOAPIC: INTx on ISA IRQs 10/11 (PCI_INTX_PIC_IRQ), not GSI 16+ */
    const struct pci_dev_id *bridge_id; /* 00.0's identity; NULL: PCI_HOST_VENDOR/DEVICE_ID */
    unsigned first_auto_slot;           /* where slot -1 starts looking (0: slot 1) */
    /*
     * INTx routing of the machine (NULL: pin (pin) of (slot) drives GSI PCI_INTX_LINE). With
     * the hooks, intx_line gives the line (0..31) a pin drives, and intx_set gets the wire-OR
     * of every function on that line when it changes (host INTx lock held: intx_set takes
     * only leaf locks). INTERRUPT_LINE is then left 0xff for the firmware to fill in.
     */
    uint32_t (*intx_line)(void *opaque, unsigned slot, unsigned pin);
    void (*intx_set)(void *opaque, uint32_t line, bool level);
    void *intx_opaque;
};

/*
 * Creates the host bridge (device 00:00.0) and registers CF8..CFF on (pio) and the ECAM on
 * (mmio); BARs are registered on these buses too. (plat) is copied. Returns 0, -ENOMEM, or a
 * bus_register error.
 */
MUST_CHECK int pci_host_create(const struct pci_host_config *cfg, const struct platform *plat,
                               struct bus *pio, struct bus *mmio, struct pci_host **out);
/* Unregisters everything and frees (host); the devices are not freed (their owners do). */
void pci_host_destroy(struct pci_host *host);
/*
 * Plugs (dev) into (slot) (1..31, or -1 for the next free one) as function 0: assigns its BARs
 * from the windows (naturally aligned), sets INTERRUPT_LINE to its GSI, enables MEM/IO decoding
 * and bus mastering and registers the BARs. Returns 0, -EBUSY (slot taken), -ENOSPC (no slot or
 * no window space), -EINVAL. Call before the vCPUs run.
 */
MUST_CHECK int pci_host_add_dev(struct pci_host *host, struct pci_dev *dev, int slot);
/* Unplugs (dev) (plugged into (host); otherwise nothing happens): unregisters its BARs and ROM,
 * drops its INTx level and frees its slot. For a device whose owner goes away before the host.
 * Call with the vCPUs stopped. */
void pci_host_remove_dev(struct pci_host *host, struct pci_dev *dev);
/*
 * The same for function (fn) (0..7) of (slot) (1..31; not -1 unless fn is 0): a multi-function
 * device's functions other than 0 are found by the guest only once function 0 exists, and
 * function 0 says so with bit 7 of HEADER_TYPE (the device's business).
 */
MUST_CHECK int pci_host_add_fn(struct pci_host *host, struct pci_dev *dev, int slot, unsigned fn);
/* The host bridge's function 00.0, for the machine's chipset registers (PAM...). */
struct pci_dev *pci_host_bridge(struct pci_host *host);
/* Machine reset: every device gets its power-on-plus-firmware state back (COMMAND and BAR
 * addresses as pci_host_add_dev set them, MSI-X off and masked), then ops->reset runs. */
void pci_host_reset(struct pci_host *host);

/* The platform the host was created with (for devices that send MSIs). */
const struct platform *pci_host_platform(const struct pci_host *host);

/* Config access by (bus, devfn, off) as the guest does (masks, BAR and MSI-X bookkeeping,
 * hooks). Exposed for tests and for the ring-3 probe. (off + size) must stay inside 4 KiB and
 * not cross a dword; otherwise reads give all-ones and writes are dropped. Thread-safe. */
uint32_t pci_host_cfg_read(struct pci_host *host, uint8_t bus, uint8_t devfn, uint16_t off,
                           unsigned size);
void pci_host_cfg_write(struct pci_host *host, uint8_t bus, uint8_t devfn, uint16_t off,
                        uint32_t val, unsigned size);

/*
 * Saved state (docs/vmm.md "Saved state"): CF8, CF9 and the config space of every function,
 * slot by slot. pci_host_load takes a host with the same functions in the same slots: every
 * byte a guest cannot write must match, then BAR mappings and INTx are re-evaluated as after a
 * guest write, and each function's post_load hook runs. A function's own state (MSI-X table,
 * virtio) is its device's. Returns 0 or -EINVAL. The vCPUs must be paused.
 */
void pci_host_save(struct pci_host *host, struct sf_buf *b);
MUST_CHECK int pci_host_load(struct pci_host *host, struct sf_in *in);

#endif
