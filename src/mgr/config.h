/* SPDX-License-Identifier: MIT */
/*
 * A VM's definition (its settings) and its on-disk form, vm.json (docs/cli.md, "VM
 * definition"). Parsing is strict: every field is type- and range-checked with a message
 * naming the field, unknown keys are rejected, and a schema version newer than this build
 * understands is refused rather than misread. config_set_option() is the one place where a
 * command-line setting ("cpus", "2") is turned into a field, shared by `create` and `set`.
 */
#ifndef BAREIRON_MGR_CONFIG_H
#define BAREIRON_MGR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/compiler.h"
#include "base/error.h"
#include "base/vm_limits.h"

/* The vm.json schema version written by this build; larger versions are refused. Version 2
 * added the network adapters' "forwards" and "restrict" and mode "none"; a version 1 file
 * reads the same way (its network items have none of them). */
#define CONFIG_SCHEMA_VERSION 2

/* The limits the monitor shares (cpus, memory, disks, name, cmdline) are in base/vm_limits.h. */
#define CONFIG_MAX_DESCRIPTION 1024
/* Network adapters (--nic1..--nic4); the monitor's limit is the same (CONTROL_MAX_NICS). */
#define CONFIG_MAX_NICS 4
/* NAT port forwards per adapter (the monitor reports at most CONTROL_MAX_HOSTFWD). */
#define CONFIG_MAX_FORWARDS 32
/* A forward's name: 1..32 of [A-Za-z0-9._-]. */
#define CONFIG_MAX_FORWARD_NAME 32
#define CONFIG_MAX_SERIALS 4
#define CONFIG_MAX_BOOT 5
/* What the monitor honours today; other values are refused ("not supported yet"). */
#define CONFIG_MAX_SUPPORTED_SERIALS 1 /* COM1 */
#define CONFIG_DEFAULT_VIDEO_WIDTH 1024
#define CONFIG_DEFAULT_VIDEO_HEIGHT 768
#define CONFIG_DEFAULT_VRAM_MIB 16

enum boot_dev { BOOT_FLOPPY = 0, BOOT_CDROM, BOOT_DISK, BOOT_KERNEL, BOOT_NET, BOOT_DEV_COUNT };
/* "firmware": auto (the default, and what a definition without the key gets): a direct kernel
 * boot when the VM has a kernel and "kernel" comes first in the boot order, SeaBIOS otherwise;
 * none: the kernel always; bios: SeaBIOS boots the cdrom and disks; uefi: OVMF does, with the
 * VM's own variable store (CONFIG_UEFI_VARS in its directory, a copy of Debian's template made
 * when the definition is saved with uefi). */
enum fw_kind { FW_AUTO = 0, FW_NONE, FW_BIOS, FW_UEFI };
#define CONFIG_UEFI_VARS "uefi-vars.fd"
/* The store as the monitor names it: it runs in the VM's run/ directory. */
#define CONFIG_UEFI_VARS_ARG "../" CONFIG_UEFI_VARS
#define CONFIG_UEFI_VARS_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define CONFIG_UEFI_VARS_MAX (4u << 20)
enum disk_format { DISK_FORMAT_RAW = 0, DISK_FORMAT_QCOW2 };
enum disk_cache { DISK_CACHE_WRITEBACK = 0, DISK_CACHE_NONE };
/* Which backing files the disk's image may name (the monitor's --disk backing=, docs/security.md).
 */
enum disk_backing { DISK_BACKING_SAME_DIR = 0, DISK_BACKING_NONE, DISK_BACKING_ANY };
/* The controller a disk is on (the monitor's --disk bus=): virtio-blk or the PIIX3 IDE. */
enum disk_bus { DISK_BUS_VIRTIO = 0, DISK_BUS_IDE };
/* The IDE controller's drives (the monitor's VMM_MAX_IDE_DRIVES): the CD-ROM drive, with or
 * without a disc, takes one of them. */
#define CONFIG_MAX_IDE_DRIVES 4
/* The "cdrom" or "floppy" of a drive without a disc (the monitor's --cdrom/--floppy empty). */
#define CONFIG_EMPTY_DRIVE "empty"
enum nic_model { NIC_MODEL_VIRTIO = 0, NIC_MODEL_E1000 };
/* bridge is read from older definitions but refused (a tap the manager would have to create
 * and attach needs root); none is an adapter whose link is down. */
enum nic_mode { NIC_MODE_NAT = 0, NIC_MODE_BRIDGE, NIC_MODE_TAP, NIC_MODE_NONE };
/* vhost= of a tap adapter: the monitor's vhost-net (auto: when /dev/vhost-net opens). */
enum nic_vhost { NIC_VHOST_AUTO = 0, NIC_VHOST_ON, NIC_VHOST_OFF };
/* The most queue pairs a tap adapter may have (the monitor's limit; at most --cpus). */
#define CONFIG_MAX_NIC_QUEUES 8
enum fwd_proto { FWD_PROTO_TCP = 0, FWD_PROTO_UDP };
enum serial_type { SERIAL_CONSOLE = 0, SERIAL_FILE, SERIAL_PTY, SERIAL_UNIX };

struct disk_config {
    char *path; /* absolute */
    enum disk_format format;
    bool is_readonly;
    enum disk_cache cache;
    enum disk_backing backing;
    enum disk_bus bus;
};

/* A host->guest port forward of a NAT adapter (VirtualBox's NAT rule). */
struct nic_forward {
    char name[CONFIG_MAX_FORWARD_NAME + 1];
    enum fwd_proto proto;
    char host_ip[16]; /* dotted IPv4, "127.0.0.1" by default */
    uint16_t host_port;
    char guest_ip[16]; /* dotted IPv4, or "" for the guest's DHCP address */
    uint16_t guest_port;
};

struct nic_config {
    enum nic_model model;
    enum nic_mode mode;
    /* "52:54:00:12:34:56"; "" only in a definition written by hand (config_fill_macs at the
     * next set or start stores one) */
    char mac[18];
    char *ifname;         /* bridge name (bridge) or tap device (tap); NULL otherwise */
    bool is_restricted;   /* NAT only: no outside access (restrict=on) */
    char tftp[256];       /* NAT only: the TFTP directory (absolute), or "" */
    char bootfile[128];   /* NAT only: the file of (tftp) DHCP offers for network boot, or "" */
    uint32_t queues;      /* tap only: queue pairs, 1..CONFIG_MAX_NIC_QUEUES (0 read as 1) */
    enum nic_vhost vhost; /* tap only */
    struct nic_forward forwards[CONFIG_MAX_FORWARDS];
    size_t forward_count; /* NAT only */
};

struct serial_config {
    enum serial_type type;
    char *path; /* file or unix socket path; NULL for console and pty */
};

/* The display adapter: auto is std for a firmware boot and none for a kernel boot. */
enum video_adapter { VIDEO_AUTO, VIDEO_STD, VIDEO_BOCHS, VIDEO_NONE };

struct vm_config {
    char name[VM_MAX_NAME + 1];
    char uuid[37];     /* "" until the definition is first written (store.c generates it) */
    char *description; /* never NULL */
    char *os_type;     /* one of config_os_types */
    uint32_t cpus;
    uint64_t memory_mib;
    enum boot_dev boot[CONFIG_MAX_BOOT];
    size_t boot_count;
    enum fw_kind firmware;
    char *kernel, *initrd, *cmdline; /* NULL when unset */
    struct disk_config disks[VM_MAX_DISKS];
    size_t disk_count;
    /* NULL: no drive; CONFIG_EMPTY_DRIVE: a drive without a disc; else the image's path */
    char *cdrom, *floppy;
    struct nic_config nics[CONFIG_MAX_NICS];
    size_t nic_count;
    struct serial_config serials[CONFIG_MAX_SERIALS];
    size_t serial_count;
    enum video_adapter video_adapter; /* "video.adapter" */
    uint32_t video_width, video_height, video_vram_mib;
    bool is_mouse_tablet;    /* "input.mouse": "tablet" (virtio-input), else "ps2" */
    bool is_keyboard_virtio; /* "input.keyboard": "virtio" (virtio-input), else "ps2" */
    bool has_acpi, has_ioapic, is_autostart;
    bool has_boot_menu; /* "boot_menu": the firmware offers its boot menu (--boot-menu) */
};

/* "auto", "on", "off": the names of enum nic_vhost, NULL-terminated. */
extern const char *const config_nic_vhost_names[];
/* The accepted os_type values, NULL-terminated. */
extern const char *const config_os_types[];
/* The default boot order (kernel, cdrom, disk). */
extern const enum boot_dev config_default_boot[3];

/* Initializes (cfg) to the defaults for a new VM called (name) (not validated here).
 * Returns 0 or -ENOMEM. */
MUST_CHECK int config_init(struct vm_config *cfg, const char *name);
/* Frees what (cfg) owns; (cfg) may then be re-initialized. */
void config_fini(struct vm_config *cfg);

/*
 * Fills (cfg) (which must be uninitialized) from the vm.json object (root). (what) names the
 * source in messages (the file path). Returns 0, -EINVAL (bad field, named in err), -ENOTSUP
 * (schema version from the future) or -ENOMEM. On failure (cfg) holds nothing to free.
 */
MUST_CHECK int config_from_json(json_t *root, const char *what, struct vm_config *cfg,
                                struct error *err);
/* Same, from the text of a vm.json file. Malformed JSON gives -EINVAL naming (what). */
MUST_CHECK int config_parse(const char *text, size_t len, const char *what, struct vm_config *cfg,
                            struct error *err);
/* Builds the vm.json object for (cfg) (new reference in (*out)). Returns 0 or -ENOMEM. */
MUST_CHECK int config_to_json(const struct vm_config *cfg, json_t **out);
/* Serializes (cfg) as indented vm.json text (malloc'd, newline-terminated). */
MUST_CHECK int config_dump(const struct vm_config *cfg, char **out);

/*
 * Checks the rules that span fields (boot from kernel needs a kernel, initrd needs a kernel,
 * unique serial console...). Returns 0 or -EINVAL with the field named in (err).
 */
MUST_CHECK int config_validate(const struct vm_config *cfg, struct error *err);

/*
 * Checks that the monitor can honour every setting of (cfg): no bridge or e1000 network
 * adapter, boot order other than the default, display size or VRAM other than the defaults,
 * pty serial port, or second serial port. `create` and `set` refuse these already; this catches
 * them in a vm.json written by hand or by an older bareiron, at start. Returns 0 or -ENOTSUP
 * with (err) naming the field and how to remove it.
 */
MUST_CHECK int config_check_supported(const struct vm_config *cfg, struct error *err);
/* The boot order against "firmware" and "kernel": without firmware the kernel comes first, and
 * SeaBIOS boots a kernel before any disk. -ENOTSUP ("not supported yet", (err) may be NULL) or 0.
 * create and set check it after their settings; start through config_check_supported. */
MUST_CHECK int config_check_boot(const struct vm_config *cfg, struct error *err);

/*
 * Applies one command-line setting: (key) is an option name without dashes ("cpus", "memory",
 * "disk", "remove-disk", "boot", "acpi"...) and (value) its argument. Relative paths are made
 * absolute against the current directory; a --disk without format= gets the format its header
 * has. Returns 0, -ENOENT for an unknown key or a missing file, -EINVAL with a message naming
 * the option, -ENOTSUP for a setting the monitor cannot honour yet (nothing is stored), or
 * the error of the image probe (-ENOEXEC: not a valid image).
 */
MUST_CHECK int config_set_option(struct vm_config *cfg, const char *key, const char *value,
                                 struct error *err);
/* True if (key) is a known setting. */
bool config_option_exists(const char *key);
/* True if changing (key) is allowed while the VM runs (description, autostart, os-type, and
 * nat-forwardN, which `set` also applies to the running monitor). */
bool config_option_is_live(const char *key);

/*
 * Gives every adapter of (cfg) without a MAC a random locally administered unicast one,
 * 52:54:00:xx:xx:xx, distinct from the others of (cfg). Returns the number filled in (0 if
 * none was missing) or a negative errno (getrandom failed).
 */
MUST_CHECK int config_fill_macs(struct vm_config *cfg);

/* True when (s) is a UUID in its 36-character text form (any version). */
bool config_is_uuid(const char *s);
/* Writes a new random (version 4) UUID into (out). Returns 0 or -EIO (getrandom failed). */
MUST_CHECK int config_new_uuid(char out[37]);

/* Writes forward (f) in the monitor's hostfwd syntax, "tcp:127.0.0.1:2222-:22", into (buf). */
void config_forward_rule(const struct nic_forward *f, char *buf, size_t size);

/* True when the "cdrom" or "floppy" value (p) names an image (not NULL or an empty drive). */
bool config_has_disc(const char *p);
/* The IDE drives (cfg) uses: its bus=ide disks and its CD-ROM drive. */
size_t config_ide_drives(const struct vm_config *cfg);
/*
 * The device settings against each other, as `create` and `set` leave them: a display size
 * or video memory needs a display adapter, and a boot menu needs firmware. -ENOTSUP ("not
 * supported yet", (err) may be NULL) or 0; start checks them through config_check_supported.
 */
MUST_CHECK int config_check_devices(const struct vm_config *cfg, struct error *err);

/* Name helpers for printing. */
const char *config_boot_name(enum boot_dev d);
const char *config_fw_name(enum fw_kind f);
/* What "firmware" means for (cfg) at start (FW_AUTO resolved to FW_NONE or FW_BIOS). */
enum fw_kind config_effective_fw(const struct vm_config *cfg);
const char *config_format_name(enum disk_format f);
const char *config_cache_name(enum disk_cache c);
const char *config_backing_name(enum disk_backing b);
const char *config_disk_bus_name(enum disk_bus b);
const char *config_nic_model_name(enum nic_model m);
const char *config_nic_mode_name(enum nic_mode m);
const char *config_fwd_proto_name(enum fwd_proto p);
const char *config_serial_type_name(enum serial_type t);
const char *config_video_adapter_name(enum video_adapter a);
/* The adapter the monitor gets: auto resolved (std without a kernel, none with one). */
enum video_adapter config_video_adapter(const struct vm_config *cfg);

/* Parses "on"/"off" (also true/false, yes/no, 1/0). Returns 0 or -EINVAL. */
MUST_CHECK int config_parse_onoff(const char *s, bool *out);

#endif
