/* SPDX-License-Identifier: MIT */
/*
 * Private to vmm/machine*.c: the machine struct and its assembly.
 *
 * A machine is put together from a table of parts (machine_parts[] in machine.c): each part
 * has a name, an add step and an optional remove step. machine_load adds the parts that need
 * no KVM (memory, tables, kernel, disks), machine_attach the rest, in table order;
 * machine_destroy removes every part that was added, the failed one included, in reverse
 * order. A remove step must therefore accept a part whose add stopped half-way.
 *
 * Saved states (machine_state.c, docs/vmm.md "Saved state"): a part with state names its
 * section and has save/load hooks; one without hooks but with a section cannot be saved yet,
 * and save refuses naming it. The same holds for a virtio kind without hooks. A restore skips
 * the parts that only set up a fresh boot (PART_BOOT: tables, kernel, boot CPU) and runs the
 * PART_RESTORE ones instead: the state file's guest memory after the disks, its state last.
 *
 * The virtio functions on the PCI host are one list (struct machine_vdev): each entry is a
 * device of some kind (machine_vdev_kinds[] in machine_virtio.c: blk per disk, rng, console,
 * net per adapter, the virtio-input keyboard and tablet)
 * with its transport, all plugged in one loop and torn down in the order docs/virtio.md gives.
 */
#ifndef BAREIRON_VMM_MACHINE_INTERNAL_H
#define BAREIRON_VMM_MACHINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "boot/boot.h"
#include "core/x86/e820.h"
#include "dev/pci/pci.h"
#include "vmm/machine.h"

struct gmem;
struct bus;
struct blk;
struct machine;
struct machine_vdev;
struct machine_restore;
struct machine_display;
struct ui_vnc;
struct sf_buf;
struct sf_in;
struct virtio_input;

enum machine_part_when {
    PART_ALWAYS,
    PART_BOOT,    /* only for a fresh boot, skipped by a restore */
    PART_RESTORE, /* only for a restore */
};

/* One step of the assembly: a row of machine_parts[]. */
struct machine_part {
    const char *name; /* for the error message when (add) fails without one */
    bool needs_kvm;   /* added by machine_attach, else by machine_load */
    enum machine_part_when when;
    /* Returns 0 or -errno (with (err) set, or the caller sets "cannot create <name>"). */
    int (*add)(struct machine *m, struct error *err);
    /* Undoes (add), also a partial one. NULL: nothing to undo. */
    void (*remove)(struct machine *m);
    /* Saved state: the section (NULL: none of its own; its contents are guest memory). */
    const char *section;
    uint32_t version; /* of the section */
    /* Whether the options put this part in the machine (NULL: always); an absent part is
     * neither added nor removed. */
    bool (*is_present)(const struct machine *m);
    /* Append the state / load it (-EINVAL: bad data). NULL: not supported yet. */
    int (*save)(struct machine *m, struct sf_buf *b);
    int (*load)(struct machine *m, struct sf_in *in);
};
extern const struct machine_part machine_parts[];
extern const unsigned machine_nparts;

/* A kind of virtio device: a row of machine_vdev_kinds[]. */
struct machine_vdev_kind {
    const char *name;
    /* How many devices of this kind the options ask for. */
    unsigned (*count)(const struct machine *m);
    /* Creates device (d->index) of this kind: sets d->dev and d->vd. Returns 0 or -errno. */
    int (*create)(struct machine *m, struct machine_vdev *d);
    /* Frees d->dev (NULL allowed), its transport already detached: ends the backend's work
     * first (a completion still uses the device), then frees the device. */
    void (*destroy)(struct machine *m, struct machine_vdev *d);
    /* Saved state of device and transport, section "<name>.<index>" at (version); NULL: not
     * supported yet (save refuses naming the kind). Load returns 0 or -EINVAL. */
    uint32_t version;
    int (*save)(struct machine *m, struct machine_vdev *d, struct sf_buf *b);
    int (*load)(struct machine *m, struct machine_vdev *d, struct sf_in *in);
};
extern const struct machine_vdev_kind machine_vdev_kinds[];
extern const unsigned machine_nvdev_kinds;

/* One virtio function: the device and its transport. */
struct machine_vdev {
    const struct machine_vdev_kind *kind;
    unsigned index;          /* which one of its kind (virtio-blk: the disk) */
    void *dev;               /* the device (struct virtio_blk *, ...) */
    struct virtio_dev *vd;   /* its virtio core, driven by the transport */
    struct virtio_pci *vpci; /* its transport; NULL until plugged */
};

/* Host input routing (machine_input.c): the last pointer state and the keys being typed. */
struct machine_input {
    uint32_t x, y, buttons; /* last pointer event, in the viewer's coordinates */
    bool has_pos;
    struct machine_key_event typing[MACHINE_TYPING_MAX];
    unsigned head, count; /* of typing[] */
    uint64_t progress_ns; /* when a typed key was last taken */
    int timer_fd;         /* paces typing[]; -1 until first needed */
};

struct machine {
    const struct vmm_options *opts;
    unsigned nparts; /* parts of machine_parts[] added so far */
    struct gmem *gm;
    struct e820_map e820;
    uint64_t rsdp_gpa;
    struct boot_result boot;
    struct kvm *kvm;
    struct evloop *loop;
    struct console *con;
    struct console *vcon_be; /* the virtio-console's backend (owned by main.c, lives across
                                reboots); NULL without --vconsole */
    struct net_backend *const *nic_be; /* the --nic backends (main.c's, live across reboots) */
    unsigned nnic_be;
    uint64_t start_ns;
    struct vm *vm;
    struct bus *pio;
    struct bus *mmio;
    struct ioapic *ioapic; /* --irqchip split only */
    struct uart8250 *com1;
    struct i8042 *i8042;
    struct cmos_rtc *rtc;
    struct i8237 *isa_dma;   /* machine_fdc.c: when a device needs ISA DMA */
    struct fdc *fdc;         /* machine_fdc.c: --floppy only */
    struct blk *floppy_disk; /* opened by machine_load, then the floppy controller's */
    struct blk *floppy_blk;  /* drive A:'s disk (the controller's; NULL: empty), for stats */
    struct port92 *port92;
    struct debug_exit *debug_exit; /* --debug-exit only */
    struct acpi_pm *acpi_pm;
    struct pci_host *pci;
    struct machine_display *display; /* --video (machine_display.c); NULL without */
    uint8_t *vga_rom;                /* the VGA BIOS read by machine_read_vga_rom, or NULL */
    size_t vga_rom_bytes;
    uint8_t *net_rom; /* iPXE for the adapters (machine_read_net_rom, --boot net), or NULL */
    size_t net_rom_bytes;
    struct ui_vnc *vnc;                  /* main.c's VNC server of --display, or NULL */
    struct machine_pc *pc;               /* --machine pc: the PIIX functions (machine_pc.c) */
    struct fw_cfg *fw_cfg;               /* with firmware */
    struct debugcon *debugcon;           /* with firmware: port 0x402 */
    struct machine_fw_kernel *fw_kernel; /* --kernel under firmware (machine_fw_kernel.c) */
    uint64_t fw_bytes;                   /* the firmware image's size (it ends at 4 GiB) */
    struct machine_flash *flash;         /* --firmware uefi: the variable store */
    struct blk *disks[VM_MAX_DISKS];     /* opened by machine_load; closed by their virtio-blk */
    unsigned ndisks;
    struct ide *ide;       /* machine_ide.c; NULL without IDE drives */
    struct ide *ide_dead;  /* removed, freed after the PCI host (machine_free_ide) */
    struct blk *cdrom_blk; /* the CD-ROM drive's medium (owned; NULL: empty) */
    unsigned ide_disk[VMM_MAX_IDE_DRIVES]; /* the m->disks[] index of each IDE disk */
    unsigned nide_disks;
    struct machine_vdev vdevs[PCI_MAX_SLOTS]; /* slot 0 is the host bridge */
    struct virtio_input *vkbd, *vtablet;      /* --input: NULL when absent */
    struct machine_input input;
    unsigned nvdevs;
    bool is_restore;                 /* built from a state file (--restore) */
    bool is_saving;                  /* machine_save runs (it may run the event loop) */
    struct machine_restore *restore; /* the state file, mapped */
};

/* The parts (machine.c's table refers to them). Each returns 0 or -errno. */
MUST_CHECK int machine_open_disks(struct machine *m, struct error *err);
void machine_close_disks(struct machine *m);
MUST_CHECK int machine_add_irqchip(struct machine *m, struct error *err);
void machine_remove_irqchip(struct machine *m);
MUST_CHECK int machine_add_com1(struct machine *m, struct error *err);
void machine_remove_com1(struct machine *m);
MUST_CHECK int machine_add_i8042(struct machine *m, struct error *err);
void machine_remove_i8042(struct machine *m);
MUST_CHECK int machine_add_port92(struct machine *m, struct error *err);
void machine_remove_port92(struct machine *m);
MUST_CHECK int machine_add_debug_exit(struct machine *m, struct error *err);
void machine_remove_debug_exit(struct machine *m);
MUST_CHECK int machine_add_acpi_pm(struct machine *m, struct error *err);
void machine_remove_acpi_pm(struct machine *m);
MUST_CHECK int machine_add_rtc(struct machine *m, struct error *err);
void machine_remove_rtc(struct machine *m);
/* The input router (machine_input.c): its typing timer. */
MUST_CHECK int machine_add_input(struct machine *m, struct error *err);
void machine_remove_input(struct machine *m);
/* machine_fdc.c: the ISA DMA controllers and the floppy controller, their presence and their
 * saved state (machine_quiesce waits for the floppy controller's transfer in flight before its
 * save; one still in flight makes the save return -EBUSY). */
bool machine_has_isa_dma(const struct machine *m);
bool machine_has_fdc(const struct machine *m);
MUST_CHECK int machine_add_isa_dma(struct machine *m, struct error *err);
void machine_remove_isa_dma(struct machine *m);
MUST_CHECK int machine_open_floppy(struct machine *m, struct error *err);
void machine_close_floppy(struct machine *m);
MUST_CHECK int machine_add_fdc(struct machine *m, struct error *err);
void machine_remove_fdc(struct machine *m);
/* The stats of the IDE drives (disks, then the CD-ROM's medium) and of drive A:'s disk, after
 * (n) entries of (out) (at most max). Return the new count. Event-loop thread. */
size_t machine_ide_stats(struct machine *m, struct control_disk_stats *out, size_t n, size_t max);
size_t machine_fdc_stats(struct machine *m, struct control_disk_stats *out, size_t n, size_t max);
/* (out) for (b) named (path). */
void machine_blk_stats(struct blk *b, const char *path, struct control_disk_stats *out);
int machine_save_fdc(struct machine *m, struct sf_buf *b);
int machine_load_fdc(struct machine *m, struct sf_in *in);
int machine_save_isa_dma(struct machine *m, struct sf_buf *b);
int machine_load_isa_dma(struct machine *m, struct sf_in *in);
/* The PCI host bridge and every virtio function of machine_vdev_kinds[] (machine_virtio.c). */
MUST_CHECK int machine_add_pci(struct machine *m, struct error *err);
/* The virtio-net kind of machine_vdev_kinds[] (machine_net.c): one per --nic, over the backend
 * machine_set_nics gave. */
unsigned machine_net_count(const struct machine *m);
/* --boot net (machine_net.c): the adapters get iPXE's ROM (VMM_IPXE_VIRTIO_PATH) as their
 * expansion ROM, read by machine_read_net_rom, and the firmware's boot order lists them. */
bool machine_boots_from_net(const struct machine *m);
MUST_CHECK int machine_read_net_rom(struct machine *m, struct error *err);
void machine_free_net_rom(struct machine *m);
MUST_CHECK int machine_net_add_rom(struct machine *m, struct machine_vdev *d);
MUST_CHECK int machine_net_create(struct machine *m, struct machine_vdev *d);
void machine_net_destroy(struct machine *m, struct machine_vdev *d);
/* The name of a device whose rings vhost-net (the kernel) serves, or NULL: a live save cannot
 * see what the kernel writes into guest memory. */
const char *machine_vhost_user(const struct machine *m);
/*
 * Destroys the PCI host, detaches every transport (later completions raise no interrupt, the
 * INTx updates they queued are cancelled), then destroys each device in reverse (virtio-blk
 * closes its disk first, which runs the loop) and frees its transport (docs/virtio.md).
 */
void machine_remove_pci(struct machine *m);

/* machine_ide.c: the IDE controller (disks on bus=ide and the CD-ROM drive). Remove stops it
 * and closes its disks; machine_destroy frees it after the PCI host is gone. */
bool machine_has_ide(const struct machine *m);
MUST_CHECK int machine_add_ide(struct machine *m, struct error *err);
void machine_remove_ide(struct machine *m);
void machine_free_ide(struct machine *m);
int machine_save_ide(struct machine *m, struct sf_buf *b);
int machine_load_ide(struct machine *m, struct sf_in *in);
/* The m->disks[] index of virtio-blk disk (index) (the disks on bus=virtio, in order). */
unsigned machine_vblk_disk(const struct machine *m, unsigned index);
/* machine_pc.c: the chipset of --machine pc. The host config gets the i440FX identity, the
 * PIRQ routing hooks and the first virtio slot; the chipset functions are plugged before the
 * virtio ones; the remove runs after the host is destroyed. No-ops on microvm. */
bool machine_is_pc(const struct machine *m);
bool machine_is_microvm(const struct machine *m);
MUST_CHECK int machine_pc_host_config(struct machine *m, struct pci_host_config *cfg);
MUST_CHECK int machine_pc_add_chipset(struct machine *m, struct error *err);
void machine_pc_remove_chipset(struct machine *m);
/* machine_fw.c: the firmware image and its shadow, fw_cfg and the BIOS debug port. */
bool machine_has_firmware(const struct machine *m);
MUST_CHECK int machine_add_firmware(struct machine *m, struct error *err);
void machine_remove_firmware(struct machine *m);
/* machine_fw_kernel.c: --kernel, --initrd, --cmdline through fw_cfg: read and split when the
 * firmware is added, given to fw_cfg (kernel items, the linuxboot option ROM) by its part. */
MUST_CHECK int machine_fw_load_kernel(struct machine *m, struct error *err);
MUST_CHECK int machine_fw_add_kernel(struct machine *m);
void machine_fw_free_kernel(struct machine *m);
MUST_CHECK int machine_add_fw_cfg(struct machine *m, struct error *err);
void machine_remove_fw_cfg(struct machine *m);
int machine_save_fw_cfg(struct machine *m, struct sf_buf *b);
int machine_load_fw_cfg(struct machine *m, struct sf_in *in);
MUST_CHECK int machine_add_debugcon(struct machine *m, struct error *err);
void machine_remove_debugcon(struct machine *m);
/* machine_flash.c: --firmware uefi's variable store, a CFI flash below the CODE image. */
bool machine_is_uefi(const struct machine *m);
MUST_CHECK int machine_open_flash(struct machine *m, struct error *err);
int machine_save_flash(struct machine *m, struct sf_buf *b);
int machine_load_flash(struct machine *m, struct sf_in *in);
void machine_close_flash(struct machine *m);
MUST_CHECK int machine_add_flash(struct machine *m, struct error *err);
void machine_remove_flash(struct machine *m);

/* machine_state.c: the PART_RESTORE parts. Opening checks the file and its fingerprint and
 * maps guest memory from it; loading applies the VM, device and vCPU state. */
MUST_CHECK int machine_open_state(struct machine *m, struct error *err);
void machine_close_state(struct machine *m);
MUST_CHECK int machine_load_state(struct machine *m, struct error *err);
/* machine_state_copy.c: --restore-copy. Moves the regions of (m) in (mask) (bit i: region i)
 * out of the state file they are mapped from into memfds, a chunk per pause on the event
 * loop, then munmaps (map, len) and closes (fd), which it owns from now on (on success).
 * Returns 0 or -errno with (err) set. */
struct state_copy;
MUST_CHECK int state_copy_start(struct machine *m, uint32_t mask, int fd, void *map, size_t len,
                                struct state_copy **out, struct error *err);
/* Bytes moved so far and in all; true once done and the file let go. */
bool state_copy_progress(struct state_copy *c, uint64_t *copied, uint64_t *total);
/* Stops the copy (if it runs) and closes what it still holds. (c) may be NULL. */
void state_copy_stop(struct state_copy *c);
/* The kernel's files opened (and cached for a later reboot) without loading them. */
MUST_CHECK int machine_cache_kernel(struct machine *m, struct error *err);

/* machine_state_dev.c: the save/load hooks of the parts and their presence. */
bool machine_has_ioapic(const struct machine *m);
bool machine_has_debug_exit(const struct machine *m);
int machine_save_vm(struct machine *m, struct sf_buf *b);
int machine_load_vm(struct machine *m, struct sf_in *in);
int machine_save_ioapic(struct machine *m, struct sf_buf *b);
int machine_load_ioapic(struct machine *m, struct sf_in *in);
int machine_save_com1(struct machine *m, struct sf_buf *b);
int machine_load_com1(struct machine *m, struct sf_in *in);
int machine_save_i8042(struct machine *m, struct sf_buf *b);
int machine_load_i8042(struct machine *m, struct sf_in *in);
int machine_save_port92(struct machine *m, struct sf_buf *b);
int machine_load_port92(struct machine *m, struct sf_in *in);
int machine_save_nothing(struct machine *m, struct sf_buf *b);
int machine_load_nothing(struct machine *m, struct sf_in *in);
int machine_save_acpi_pm(struct machine *m, struct sf_buf *b);
int machine_load_acpi_pm(struct machine *m, struct sf_in *in);
int machine_save_rtc(struct machine *m, struct sf_buf *b);
int machine_load_rtc(struct machine *m, struct sf_in *in);
int machine_save_pci(struct machine *m, struct sf_buf *b);
int machine_load_pci(struct machine *m, struct sf_in *in);
/* machine_virtio_state.c: the save/load hooks of machine_vdev_kinds[], and the wait (event
 * loop thread, vCPUs paused) until no device has block I/O or a virtio request in flight (the
 * virtio functions, the IDE controller, the floppy controller): 0 or -EBUSY. */
MUST_CHECK int machine_quiesce(struct machine *m, struct error *err);
/* For a live save, once gmem tracks writes: marks what the requests in flight may write
 * (virtio_mark_writable of every device). */
void machine_mark_vdevs(struct machine *m);
int machine_save_vblk(struct machine *m, struct machine_vdev *d, struct sf_buf *b);
int machine_load_vblk(struct machine *m, struct machine_vdev *d, struct sf_in *in);
int machine_save_vrng(struct machine *m, struct machine_vdev *d, struct sf_buf *b);
int machine_load_vrng(struct machine *m, struct machine_vdev *d, struct sf_in *in);
int machine_save_vcon(struct machine *m, struct machine_vdev *d, struct sf_buf *b);
int machine_load_vcon(struct machine *m, struct machine_vdev *d, struct sf_in *in);
int machine_save_vinput(struct machine *m, struct machine_vdev *d, struct sf_buf *b);
int machine_load_vinput(struct machine *m, struct machine_vdev *d, struct sf_in *in);
/* machine_state.c: what a restore must match (memory, vCPUs, irqchip, devices); and every
 * section but guest memory (the virtio devices quiesced first; vCPUs paused), appended to (w).
 * machine_state_live.c: the whole file with guest memory copied live (machine.h
 * MACHINE_SAVE_LIVE). Return 0 or -errno with (err) set. */
struct sf_fingerprint;
void machine_fingerprint(const struct machine *m, struct sf_fingerprint *fp);
MUST_CHECK int machine_write_devices(struct machine *m, struct sf_writer *w, struct error *err);
MUST_CHECK int machine_write_live(struct machine *m, int fd, struct error *err);
/* machine_state_zstd.c: RAM region (r) as the compressed section "<name>.zstd" (bytes of it in
 * (*written)), and back into (r)'s own memory from that section's data (p, len). Return 0 or
 * -errno / -EINVAL (a malformed section, named) with (err) set. */
#define MACHINE_ZSTD_VERSION 1
struct gmem_region;
MUST_CHECK int machine_save_region_zstd(const struct gmem_region *r, struct sf_writer *w,
                                        uint64_t *written, struct error *err);
MUST_CHECK int machine_load_region_zstd(struct gmem_region *r, const uint8_t *p, size_t len,
                                        struct error *err);
/* virtio-net (machine_net.c). */
int machine_save_vnet(struct machine *m, struct machine_vdev *d, struct sf_buf *b);
int machine_load_vnet(struct machine *m, struct machine_vdev *d, struct sf_in *in);

#endif
