/* SPDX-License-Identifier: MIT */
/*
 * The command-line side of mgr/config.h: config_set_option() turns one setting of `create` or
 * `set` ("--cpus 2", "--disk PATH,format=qcow2", "--serial unix:PATH") into the definition,
 * with the same checks as the vm.json reader (mgr/config_util.h). Syntax in docs/cli.md.
 * A disk without format= gets the format its header really has (the block layer's probe of
 * block/image.h), and a setting the monitor cannot honour yet is refused, never stored.
 */
#include "mgr/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "block/image.h"
#include "mgr/config_util.h"

typedef int (*opt_fn)(struct vm_config *cfg, const char *key, const char *val, struct error *err);

static bool is_none(const char *v)
{
    return strcmp(v, "none") == 0 || v[0] == '\0';
}

int config_parse_onoff(const char *s, bool *out)
{
    static const char *const on[] = {"on", "true", "yes", "1", NULL};
    static const char *const off[] = {"off", "false", "no", "0", NULL};
    if (config_find_name(on, s) >= 0)
        *out = true;
    else if (config_find_name(off, s) >= 0)
        *out = false;
    else
        return -EINVAL;
    return 0;
}

/* Makes (val) absolute against the current directory and checks that it names an existing
 * file (or block device). Returns a malloc'd path in (*out). */
static int abs_existing_path(const char *key, const char *val, char **out, struct error *err)
{
    char cwd[PATH_MAX], buf[PATH_MAX];
    struct stat st;
    const char *why;
    if (val[0] != '/') {
        if (getcwd(cwd, sizeof(cwd)) == NULL ||
            snprintf(buf, sizeof(buf), "%s/%s", cwd, val) >= (int)sizeof(buf))
            return error_set(err, -ENAMETOOLONG, "--%s: path too long", key);
        val = buf;
    }
    why = config_check_path(val);
    if (why)
        return error_set(err, -EINVAL, "--%s: %s", key, why);
    if (stat(val, &st) < 0)
        return error_set(err, -errno, "--%s: %s: %s", key, val, strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) /* bad input (6), as for `disk` */
        return error_set(err, -ENOEXEC, "--%s: %s: not a regular file or block device", key, val);
    *out = strdup(val);
    return *out ? 0 : -ENOMEM;
}

static int set_text(char **field, const char *key, const char *val, size_t max, bool allow_none,
                    struct error *err)
{
    const char *why;
    char *s = NULL;
    if (!(allow_none && is_none(val))) {
        why = config_check_text(val, strlen(val), max);
        if (why)
            return error_set(err, -EINVAL, "--%s: %s", key, why);
        if ((s = strdup(val)) == NULL)
            return -ENOMEM;
    }
    free(*field);
    *field = s;
    return 0;
}

static int o_description(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    return set_text(&cfg->description, key, val, CONFIG_MAX_DESCRIPTION, false, err);
}

static int o_os_type(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    char list[64];
    if (config_find_name(config_os_types, val) < 0) {
        config_join_names(config_os_types, list, sizeof(list));
        return error_set(err, -EINVAL, "--%s: must be one of %s", key, list);
    }
    return set_text(&cfg->os_type, key, val, 16, false, err);
}

static int o_cpus(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    uint64_t n;
    if (parse_u64(val, &n) < 0 || n < 1 || n > VM_MAX_CPUS)
        return error_set(err, -EINVAL, "--%s: must be a number from 1 to %d", key, VM_MAX_CPUS);
    cfg->cpus = (uint32_t)n;
    return 0;
}

static int o_memory(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    uint64_t bytes;
    if (parse_size(val, 1024 * 1024, &bytes) < 0 || bytes % (1024 * 1024) != 0 ||
        bytes / (1024 * 1024) < VM_MIN_MEMORY_MIB || bytes / (1024 * 1024) > VM_MAX_MEMORY_MIB)
        return error_set(err, -EINVAL,
                         "--%s: must be a whole number of MiB from %dM to 1T (e.g. 512M, 2G)", key,
                         VM_MIN_MEMORY_MIB);
    cfg->memory_mib = bytes / (1024 * 1024);
    return 0;
}

static int o_boot(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    enum boot_dev order[CONFIG_MAX_BOOT];
    char buf[128], *save = NULL, *tok;
    size_t n = 0;
    unsigned seen = 0;
    if (snprintf(buf, sizeof(buf), "%s", val) >= (int)sizeof(buf))
        return error_set(err, -EINVAL, "--%s: too long", key);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int d = config_find_name(config_boot_names, tok);
        if (d < 0 || n == CONFIG_MAX_BOOT || (seen & (1u << d)))
            return error_set(err, -EINVAL,
                             "--%s: a comma-separated list of distinct floppy, cdrom, disk, "
                             "net, kernel",
                             key);
        seen |= 1u << d;
        order[n++] = (enum boot_dev)d;
    }
    if (n == 0)
        return error_set(err, -EINVAL, "--%s: needs at least one device", key);
    memcpy(cfg->boot, order, sizeof(order[0]) * n);
    cfg->boot_count = n;
    return 0;
}

static int o_firmware(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    int f = config_find_name(config_fw_names, val);
    if (f < 0)
        return error_set(err, -EINVAL, "--%s: must be auto, none, bios or uefi", key);
    cfg->firmware = (enum fw_kind)f;
    return 0;
}

/*
 * Sets (d)'s format to what the image at its path really is, read from its header by the block
 * layer's probe (the one the monitor uses): a qcow2 image attached as raw would show the guest
 * the qcow2 container and let it write there. A header that cannot be read, or a qcow2 header
 * the block layer refuses, fails here rather than at start.
 */
static int probe_format(const char *key, struct disk_config *d, struct error *err)
{
    struct disk_info di;
    struct error perr = {0};
    int ret = disk_info_get(d->path, BLK_FORMAT_AUTO, &di, &perr);
    if (ret == -ENOMEM)
        return ret;
    if (ret < 0) /* a bad header is bad content (status 6), not a bad command line */
        return error_set(err, ret == -EINVAL ? -ENOEXEC : ret, "--%s: %s", key, perr.message);
    d->format = di.format == BLK_FORMAT_QCOW2 ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
    return 0;
}

/* A floppy image is raw and has the size of a format the floppy controller knows
 * (dev/legacy/fdc.h: 720K, 1.2M, 1.44M, 2.88M). */
static int check_floppy_size(const char *key, const char *path, struct error *err)
{
    static const off_t sizes[] = {737280, 1228800, 1474560, 2949120};
    struct stat stb;
    if (stat(path, &stb) < 0)
        return error_set(err, -errno, "--%s: %s: %s", key, path, strerror(errno));
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
        if (S_ISREG(stb.st_mode) && stb.st_size == sizes[i])
            return 0;
    return error_set(err, -ENOEXEC,
                     "--%s: %s is not a floppy image: %lld bytes (a raw file of 720K, 1.2M, "
                     "1.44M or 2.88M: 737280, 1228800, 1474560 or 2949120 bytes)",
                     key, path, (long long)stb.st_size);
}

/* The CD-ROM drive (file or empty) takes an IDE drive, and a disc one of the disks. */
static int check_cdrom_room(const struct vm_config *cfg, const char *key, bool is_empty,
                            struct error *err)
{
    if (!is_empty && !config_has_disc(cfg->cdrom) && cfg->disk_count >= VM_MAX_DISKS)
        return error_set(err, -EINVAL, "--%s: at most %d disks, the CD-ROM included", key,
                         VM_MAX_DISKS);
    if (cfg->cdrom == NULL && config_ide_drives(cfg) >= CONFIG_MAX_IDE_DRIVES)
        return error_set(err, -EINVAL,
                         "--%s: at most %d IDE drives, the CD-ROM drive included (the disks "
                         "with bus=ide take them all)",
                         key, CONFIG_MAX_IDE_DRIVES);
    return 0;
}

/* --kernel, --initrd, --cdrom, --floppy: an existing file, or "none" to clear; the CD-ROM and
 * floppy drives also take "empty" (a drive without a disc) and "eject" (the same: the drive
 * stays, empty). */
static int o_file(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    char **field = strcmp(key, "kernel") == 0   ? &cfg->kernel
                   : strcmp(key, "initrd") == 0 ? &cfg->initrd
                   : strcmp(key, "cdrom") == 0  ? &cfg->cdrom
                                                : &cfg->floppy;
    bool is_drive = field == &cfg->floppy || field == &cfg->cdrom;
    char *path = NULL;
    int ret;
    if (is_drive && (strcmp(val, "eject") == 0 || strcmp(val, CONFIG_EMPTY_DRIVE) == 0)) {
        if (field == &cfg->cdrom && (ret = check_cdrom_room(cfg, key, true, err)) < 0)
            return ret;
        if ((path = strdup(CONFIG_EMPTY_DRIVE)) == NULL)
            return -ENOMEM;
        free(*field);
        *field = path;
        return 0;
    }
    if (field == &cfg->cdrom && !is_none(val) && (ret = check_cdrom_room(cfg, key, false, err)) < 0)
        return ret;
    if (!is_none(val)) {
        struct disk_config d = {0};
        ret = abs_existing_path(key, val, &path, err);
        if (ret == 0 && field == &cfg->cdrom) {
            /* The monitor attaches the CD-ROM raw: a qcow2 image there would show the guest
             * its container. */
            d.path = path;
            ret = probe_format(key, &d, err);
            if (ret == 0 && d.format != DISK_FORMAT_RAW)
                ret = error_set(err, -ENOTSUP,
                                "--%s: a qcow2 image cannot be the CD-ROM yet (it is attached "
                                "raw); use --disk %s,readonly",
                                key, path);
        }
        if (ret == 0 && field == &cfg->floppy)
            ret = check_floppy_size(key, path, err);
        if (ret < 0) {
            free(path);
            return ret;
        }
    }
    free(*field);
    *field = path;
    return 0;
}

static int o_cmdline(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    return set_text(&cfg->cmdline, key, val, VM_MAX_CMDLINE_BYTES, true, err);
}

/* One "key=value" or "flag" of a --disk spec; (has_format) is set by format=. */
static int disk_attr(struct disk_config *d, const char *attr, bool *has_format, struct error *err)
{
    int i;
    if (strcmp(attr, "readonly") == 0 || strcmp(attr, "ro") == 0) {
        d->is_readonly = true;
    } else if (strncmp(attr, "format=", 7) == 0) {
        if ((i = config_find_name(config_format_names, attr + 7)) < 0)
            return error_set(err, -EINVAL, "--disk: format must be raw or qcow2");
        d->format = (enum disk_format)i;
        *has_format = true;
    } else if (strncmp(attr, "cache=", 6) == 0) {
        if ((i = config_find_name(config_cache_names, attr + 6)) < 0)
            return error_set(err, -EINVAL, "--disk: cache must be none or writeback");
        d->cache = (enum disk_cache)i;
    } else if (strncmp(attr, "backing=", 8) == 0) {
        if ((i = config_find_name(config_backing_names, attr + 8)) < 0)
            return error_set(err, -EINVAL, "--disk: backing must be same-dir, none or any");
        d->backing = (enum disk_backing)i;
    } else if (strncmp(attr, "bus=", 4) == 0) {
        if ((i = config_find_name(config_disk_bus_names, attr + 4)) < 0)
            return error_set(err, -EINVAL, "--disk: bus must be virtio or ide");
        d->bus = (enum disk_bus)i;
    } else {
        return error_set(err, -EINVAL,
                         "--disk: unknown attribute '%.64s' (format=, readonly, cache=, backing=, "
                         "bus=)",
                         attr);
    }
    return 0;
}

static int o_disk(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    struct disk_config d = {0};
    char buf[PATH_MAX + 64], *save = NULL, *tok;
    bool has_format = false;
    int ret;
    if (cfg->disk_count + config_has_disc(cfg->cdrom) >= VM_MAX_DISKS)
        return error_set(err, -EINVAL, "--%s: at most %d disks, the CD-ROM included", key,
                         VM_MAX_DISKS);
    if (snprintf(buf, sizeof(buf), "%s", val) >= (int)sizeof(buf))
        return error_set(err, -EINVAL, "--%s: too long", key);
    tok = strtok_r(buf, ",", &save);
    if (tok == NULL)
        return error_set(err, -EINVAL, "--%s: needs PATH[,format=raw|qcow2][,readonly][,cache=]",
                         key);
    if ((ret = abs_existing_path(key, tok, &d.path, err)) < 0)
        return ret;
    if (strchr(d.path, ',')) /* only possible through the cwd */
        ret = error_set(err, -EINVAL, "--%s: a disk path cannot contain ','", key);
    while (ret == 0 && (tok = strtok_r(NULL, ",", &save)))
        ret = disk_attr(&d, tok, &has_format, err);
    for (size_t i = 0; ret == 0 && i < cfg->disk_count; i++)
        if (strcmp(cfg->disks[i].path, d.path) == 0)
            ret = error_set(err, -EEXIST, "--%s: %s is attached already", key, d.path);
    if (ret == 0 && d.bus == DISK_BUS_IDE && config_ide_drives(cfg) >= CONFIG_MAX_IDE_DRIVES)
        ret = error_set(err, -EINVAL,
                        "--%s: at most %d IDE drives, the CD-ROM drive included (use bus=virtio "
                        "for more)",
                        key, CONFIG_MAX_IDE_DRIVES);
    if (ret == 0 && !has_format)
        ret = probe_format(key, &d, err);
    if (ret < 0) {
        free(d.path);
        return ret;
    }
    cfg->disks[cfg->disk_count++] = d;
    return 0;
}

/* Removes item (idx) of an array of (count) items of (size) bytes. */
static void remove_item(void *arr, size_t size, size_t *count, size_t idx)
{
    char *p = arr;
    memmove(p + idx * size, p + (idx + 1) * size, (*count - idx - 1) * size);
    (*count)--;
}

/* Parses an index below (count) for --remove-*; "all" gives SIZE_MAX. */
static int parse_index(const char *key, const char *val, size_t count, size_t *out,
                       struct error *err)
{
    uint64_t i;
    if (strcmp(val, "all") == 0) {
        *out = SIZE_MAX;
        return 0;
    }
    if (parse_u64(val, &i) < 0 || i >= count)
        return error_set(err, -ENOENT, "--%s: no item %s (there are %zu)", key, val, count);
    *out = (size_t)i;
    return 0;
}

static int o_remove_disk(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    size_t idx = SIZE_MAX - 1;
    for (size_t i = 0; i < cfg->disk_count; i++)
        if (strcmp(cfg->disks[i].path, val) == 0)
            idx = i;
    if (idx == SIZE_MAX - 1) {
        int ret = parse_index(key, val, cfg->disk_count, &idx, err);
        if (ret < 0)
            return ret;
    }
    for (size_t i = cfg->disk_count; i-- > 0;) {
        if (idx != SIZE_MAX && i != idx)
            continue;
        free(cfg->disks[i].path);
        remove_item(cfg->disks, sizeof(cfg->disks[0]), &cfg->disk_count, i);
    }
    return 0;
}

/* --serial console|pty|file:PATH|unix:PATH, or none to remove all ports. */
static int o_serial(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    struct serial_config s = {0};
    const char *colon = strchr(val, ':');
    size_t tlen = colon ? (size_t)(colon - val) : strlen(val);
    char type[16];
    int t;
    if (strcmp(val, "none") == 0) {
        for (size_t i = 0; i < cfg->serial_count; i++)
            free(cfg->serials[i].path);
        cfg->serial_count = 0;
        return 0;
    }
    snprintf(type, sizeof(type), "%.*s", (int)MIN(tlen, sizeof(type) - 1), val);
    t = config_find_name(config_serial_type_names, type);
    s.type = (enum serial_type)t;
    if (t < 0 || ((s.type == SERIAL_FILE || s.type == SERIAL_UNIX) != (colon != NULL)))
        return error_set(err, -EINVAL, "--%s: needs console, pty, file:PATH, unix:PATH or none",
                         key);
    if (s.type == SERIAL_PTY)
        return error_set(err, -ENOTSUP,
                         "--%s: pty: not supported yet by the monitor (use console, file or unix)",
                         key);
    if (cfg->serial_count >= CONFIG_MAX_SUPPORTED_SERIALS)
        return error_set(err, -ENOTSUP,
                         "--%s: not supported yet: the monitor has one serial port (COM1); "
                         "'--%s none' removes the one defined",
                         key, key);
    if (colon) {
        char cwd[PATH_MAX], buf[PATH_MAX];
        const char *p = colon + 1, *why;
        if (p[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
            snprintf(buf, sizeof(buf), "%s/%s", cwd, p) < (int)sizeof(buf))
            p = buf;
        if ((why = config_check_path(p)) != NULL)
            return error_set(err, -EINVAL, "--%s: %s", key, why);
        if ((s.path = strdup(p)) == NULL)
            return -ENOMEM;
    }
    cfg->serials[cfg->serial_count++] = s;
    return 0;
}

static int o_video(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    unsigned w, h;
    char end;
    int a = config_find_name(config_video_adapter_names, val);
    if (a >= 0) {
        cfg->video_adapter = (enum video_adapter)a;
        return 0;
    }
    if (sscanf(val, "%ux%u%c", &w, &h, &end) != 2 || w < 320 || w > 8192 || h < 200 || h > 8192)
        return error_set(err, -EINVAL,
                         "--%s: needs auto, std, bochs-display, none or WIDTHxHEIGHT within "
                         "320x200..8192x8192",
                         key);
    cfg->video_width = w;
    cfg->video_height = h;
    return 0;
}

static int o_vram(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    uint64_t bytes;
    if (parse_size(val, 1024 * 1024, &bytes) < 0 || bytes < 1024 * 1024 ||
        bytes > 512ull * 1024 * 1024 || (bytes & (bytes - 1)) != 0)
        return error_set(err, -EINVAL, "--%s: must be a power of two from 1M to 512M", key);
    cfg->video_vram_mib = (uint32_t)(bytes / (1024 * 1024));
    return 0;
}

static int o_onoff(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    bool *field = strcmp(key, "acpi") == 0        ? &cfg->has_acpi
                  : strcmp(key, "ioapic") == 0    ? &cfg->has_ioapic
                  : strcmp(key, "boot-menu") == 0 ? &cfg->has_boot_menu
                                                  : &cfg->is_autostart;
    if (config_parse_onoff(val, field) < 0)
        return error_set(err, -EINVAL, "--%s: must be on or off", key);
    return 0;
}

/* --mouse ps2|tablet, --keyboard ps2|virtio. */
static int o_input(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    bool is_mouse = strcmp(key, "mouse") == 0;
    const char *other = is_mouse ? "tablet" : "virtio";
    if (strcmp(val, "ps2") != 0 && strcmp(val, other) != 0)
        return error_set(err, -EINVAL, "--%s: must be ps2 or %s", key, other);
    *(is_mouse ? &cfg->is_mouse_tablet : &cfg->is_keyboard_virtio) = strcmp(val, other) == 0;
    return 0;
}

static const struct {
    const char *key;
    opt_fn fn;
    bool is_live; /* may change while the VM runs */
} options[] = {
    {"description", o_description, true},
    {"os-type", o_os_type, true},
    {"autostart", o_onoff, true},
    {"cpus", o_cpus, false},
    {"memory", o_memory, false},
    {"boot", o_boot, false},
    {"firmware", o_firmware, false},
    {"kernel", o_file, false},
    {"initrd", o_file, false},
    {"cmdline", o_cmdline, false},
    {"disk", o_disk, false},
    {"remove-disk", o_remove_disk, false},
    {"cdrom", o_file, true},  /* a running VM's IDE CD-ROM drive gets the new disc */
    {"floppy", o_file, true}, /* a running VM's drive gets the new disk (media-change) */
    {"nic", config_net_option, false},
    {"nic1", config_net_option, false},
    {"nic2", config_net_option, false},
    {"nic3", config_net_option, false},
    {"nic4", config_net_option, false},
    {"nat-forward1", config_net_option, true},
    {"nat-forward2", config_net_option, true},
    {"nat-forward3", config_net_option, true},
    {"nat-forward4", config_net_option, true},
    {"nat-restrict1", config_net_option, false},
    {"nat-restrict2", config_net_option, false},
    {"nat-restrict3", config_net_option, false},
    {"nat-restrict4", config_net_option, false},
    {"nat-tftp1", config_net_option, false},
    {"nat-tftp2", config_net_option, false},
    {"nat-tftp3", config_net_option, false},
    {"nat-tftp4", config_net_option, false},
    {"nat-bootfile1", config_net_option, false},
    {"nat-bootfile2", config_net_option, false},
    {"nat-bootfile3", config_net_option, false},
    {"nat-bootfile4", config_net_option, false},
    {"remove-nic", config_net_option, false},
    {"serial", o_serial, false},
    {"video", o_video, false},
    {"vram", o_vram, false},
    {"mouse", o_input, false},
    {"keyboard", o_input, false},
    {"acpi", o_onoff, false},
    {"ioapic", o_onoff, false},
    {"boot-menu", o_onoff, false},
};

bool config_option_exists(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++)
        if (strcmp(options[i].key, key) == 0)
            return true;
    return false;
}

bool config_option_is_live(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++)
        if (strcmp(options[i].key, key) == 0)
            return options[i].is_live;
    return false;
}

int config_set_option(struct vm_config *cfg, const char *key, const char *value, struct error *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (strcmp(options[i].key, key) == 0) {
            int ret = options[i].fn(cfg, key, value, err);
            if (ret == -ENOMEM)
                error_set(err, ret, "out of memory");
            return ret;
        }
    }
    return error_set(err, -ENOENT, "unknown setting --%s", key);
}
