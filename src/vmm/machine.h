/* SPDX-License-Identifier: MIT */
/*
 * A bareiron PC put together by plain code for a direct kernel boot: guest RAM laid out by
 * gmem_add_pc_ram, the e820 map and ACPI tables (core/x86/e820.h, acpi.h), the kernel loaded by
 * boot/boot.h, then a KVM VM with the legacy devices (COM1 16550A, i8042, CMOS RTC, port 0x92,
 * isa-debug-exit, ACPI PM block), the PCI host bridge with virtio-blk disks and the optional
 * virtio-rng and virtio-console, and the boot vCPU state (core/x86/regs.h).
 *
 * Building is split in two so that bad input is reported before /dev/kvm is touched:
 * machine_load() needs no KVM (memory, tables, kernel); machine_attach() creates the VM and
 * the devices. A reboot destroys the machine and builds a new one from the same options.
 */
#ifndef BAREIRON_VMM_MACHINE_H
#define BAREIRON_VMM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "core/vm.h"
#include "mgr/control_server.h"
#include "vmm/options.h"

struct kvm;
struct evloop;
struct console;
struct machine;
struct net_backend;

/*
 * Allocates guest memory for (o), writes the e820 map, ACPI tables, boot tables, loads the
 * kernel/initrd and opens the disks (completions on (loop)). No KVM. Returns 0 and (*out);
 * -ENOEXEC/-ENOENT/-EINVAL/-ENOSPC (bad kernel or input, message in (err)) or -ENOMEM.
 */
MUST_CHECK int machine_load(const struct vmm_options *o, struct evloop *loop, struct machine **out,
                            struct error *err);

/*
 * Writes the format each disk without format= was opened with (the probe of a read-only disk,
 * raw for a writable one) into (o), the options (m) was built from, so that the machines of
 * later reboots open them the same way instead of probing again.
 */
void machine_pin_disk_formats(struct machine *m, struct vmm_options *o);

/*
 * Creates the VM on (kvm), the devices (event-loop work on (loop), COM1 on (con), the
 * virtio-console of --vconsole on (vcon), NULL when none), puts the disks machine_load opened
 * behind virtio-blk and sets the boot vCPU state. Returns 0 or -errno with (err) set.
 */
MUST_CHECK int machine_attach(struct machine *m, struct kvm *kvm, struct evloop *loop,
                              struct console *con, struct console *vcon, struct error *err);

/* Gives (m) the backends of its --nic adapters, (n) of them, before machine_attach; they stay
 * (main.c's) and must outlive the machine. */
void machine_set_nics(struct machine *m, struct net_backend *const *nics, unsigned n);
/* Sets the device counters of adapter (i) in (out) and returns the MAC the guest uses now.
 * Event-loop thread. */
const uint8_t *machine_nic_stats(struct machine *m, unsigned i, struct control_nic_stats *out);

/* Starts the vCPUs, paused when (is_paused) (a reset of a paused VM); (notify) is called on
 * any thread when the machine wants to stop. */
MUST_CHECK int machine_start(struct machine *m, bool is_paused, vm_notify_fn notify, void *opaque);
/* True once a stop request is pending or every vCPU has stopped. Thread-safe. */
bool machine_is_done(struct machine *m);
/* Stops and joins the vCPUs; returns why the machine stopped and the exit code. */
enum vm_request machine_wait(struct machine *m, int *code);
/* Flags of machine_save: guest memory compressed (a restore then reads it instead of mapping
 * it); memory copied live, with KVM's dirty log, while the vCPUs run (machine_state_live.c). */
#define MACHINE_SAVE_ZSTD 1u
#define MACHINE_SAVE_LIVE 2u
/*
 * Writes the machine's state to (path) (docs/vmm.md "Saved state"): a temporary file next to
 * it, fsync, rename, fsync of the directory. The vCPUs must be paused, except with
 * MACHINE_SAVE_LIVE: then they may run, memory is copied while they do, and they are paused
 * (vm_pause) for the rest, and stay paused on success (on failure vm_is_paused tells). Returns 0,
 * -ENOTSUP (a device that cannot be saved yet, named in (err)) or -errno; on failure (path) is left
 * as it was. (flags): MACHINE_SAVE_*.
 */
MUST_CHECK int machine_save(struct machine *m, const char *path, unsigned flags, struct error *err);
/*
 * machine_save into (fd), a regular file open for writing (not O_APPEND) that the caller
 * created and will move into place (the control client's, passed on the socket): truncated,
 * written and fsynced. The descriptor stays the caller's. Returns as machine_save; -EINVAL
 * for a descriptor that is not such a file.
 */
MUST_CHECK int machine_save_fd(struct machine *m, int fd, unsigned flags, struct error *err);
/* -ENOTSUP with (err) naming the first part or device that cannot be saved yet, else 0. */
MUST_CHECK int machine_check_savable(struct machine *m, struct error *err);
/* Destroys everything (vCPUs stopped first). NULL allowed. */
void machine_destroy(struct machine *m);

/*
 * Host input (a VNC viewer, the send-key and input-pointer control ops), on the event-loop
 * thread (vmm/machine_input.c). A key is an X11 keysym (dev/input/keymap.h) going down or up;
 * it goes to the virtio-input keyboard when the guest's driver runs it, else to the PS/2
 * keyboard. A pointer event is an absolute position (x, y) in a (width x height) screen with
 * RFB's button mask (bit 0 left, 1 middle, 2 right, 3 wheel up, 4 wheel down); it goes to the
 * virtio-input tablet when the guest drives it (scaled to 0..32767), else to the PS/2 mouse as
 * the move from the previous position. Unknown keysyms and a zero width or height are ignored;
 * input a device cannot take (its queue full) is dropped.
 */
void machine_input_key(struct machine *m, uint32_t keysym, bool is_down);
void machine_input_pointer(struct machine *m, uint32_t x, uint32_t y, uint32_t width,
                           uint32_t height, uint32_t buttons);
/* One key event of a typed sequence (machine_input_type). */
struct machine_key_event {
    uint32_t keysym;
    bool is_down;
};
/*
 * Types (n) key events in order, paced: each waits until the keyboard has room, so a long
 * text is not lost to the keyboard's small buffer (the monitor keeps at most
 * MACHINE_TYPING_MAX events waiting; the rest of a sequence that makes no progress for 2
 * seconds is dropped with a warning). Returns 0 or -ENOSPC (not queued: too many waiting), or
 * -ENOMEM (no timer). Event-loop thread.
 */
#define MACHINE_TYPING_MAX 4096
MUST_CHECK int machine_input_type(struct machine *m, const struct machine_key_event *ev, size_t n);

/* For the control API (event-loop thread). */
struct vm *machine_vm(struct machine *m);
void machine_press_power_button(struct machine *m);
/*
 * Media change of the floppy drive (machine_fdc.c): puts image (path) in (read-only when
 * (is_readonly)), or ejects with (path) NULL; the guest sees the disk change line. Event loop
 * thread. The old disk goes out first: when the new one cannot be opened, the drive stays
 * empty. Returns 0, -ENODEV (no drive), or the open's error (a file of no floppy size:
 * -ENOEXEC) with (err) set.
 */
MUST_CHECK int machine_floppy_change(struct machine *m, const char *path, bool is_readonly,
                                     struct error *err);
/* Fills (out) with the counters of each disk, at most (max) of them (the paths point into the
 * options). Returns how many. Event-loop thread. */
size_t machine_disk_stats(struct machine *m, struct control_disk_stats *out, size_t max);
/*
 * Media change on the CD-ROM drive: opens (path) read-only raw and puts it in the drive, or
 * ejects with (path) NULL. (is_forced) ignores the guest's PREVENT MEDIUM REMOVAL. Returns 0,
 * -ENODEV (no CD-ROM drive on IDE), -EBUSY (locked or busy) or an open error, with (err) set.
 * Event-loop thread.
 */
MUST_CHECK int machine_change_media(struct machine *m, const char *path, bool is_forced,
                                    struct error *err);
/* Uptime since machine_attach, and guest RAM size. */
uint64_t machine_uptime_ns(struct machine *m);
uint64_t machine_ram_bytes(struct machine *m);
/* --restore-copy's progress (docs/vmm.md "Saved state"): false when this machine runs no
 * such copy; else the bytes copied and in all, and (*done) once the state file is let go. */
bool machine_restore_copy(struct machine *m, uint64_t *copied, uint64_t *total, bool *done);

#endif
