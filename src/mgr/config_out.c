/* SPDX-License-Identifier: MIT */
/*
 * Writing vm.json (mgr/config.h, schema version CONFIG_SCHEMA_VERSION), the enum name tables
 * and the value checks shared by the vm.json reader and the command-line settings
 * (mgr/config_util.h).
 */
#include "mgr/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr/config_util.h"

const char *const config_boot_names[] = {"floppy", "cdrom", "disk", "kernel", "net", NULL};
const char *const config_format_names[] = {"raw", "qcow2", NULL};
const char *const config_cache_names[] = {"writeback", "none", NULL};
const char *const config_backing_names[] = {"same-dir", "none", "any", NULL};
const char *const config_nic_model_names[] = {"virtio", "e1000", NULL};
const char *const config_nic_vhost_names[] = {"auto", "on", "off", NULL};
const char *const config_nic_mode_names[] = {"nat", "bridge", "tap", "none", NULL};
const char *const config_serial_type_names[] = {"console", "file", "pty", "unix", NULL};

const char *const config_fw_names[] = {"auto", "none", "bios", "uefi", NULL};

const char *config_fw_name(enum fw_kind f)
{
    return (unsigned)f <= FW_UEFI ? config_fw_names[f] : "?";
}

enum fw_kind config_effective_fw(const struct vm_config *cfg)
{
    if (cfg->firmware != FW_AUTO)
        return cfg->firmware;
    return cfg->kernel != NULL && cfg->boot_count > 0 && cfg->boot[0] == BOOT_KERNEL ? FW_NONE
                                                                                     : FW_BIOS;
}

const char *config_boot_name(enum boot_dev d)
{
    return (unsigned)d < BOOT_DEV_COUNT ? config_boot_names[d] : "?";
}

const char *config_format_name(enum disk_format f)
{
    return f == DISK_FORMAT_QCOW2 ? "qcow2" : "raw";
}

const char *config_cache_name(enum disk_cache c)
{
    return c == DISK_CACHE_NONE ? "none" : "writeback";
}

const char *config_backing_name(enum disk_backing b)
{
    return b == DISK_BACKING_NONE ? "none" : b == DISK_BACKING_ANY ? "any" : "same-dir";
}

const char *config_nic_model_name(enum nic_model m)
{
    return m == NIC_MODEL_E1000 ? "e1000" : "virtio";
}

const char *config_nic_mode_name(enum nic_mode m)
{
    return (unsigned)m <= NIC_MODE_NONE ? config_nic_mode_names[m] : "?";
}

const char *const config_video_adapter_names[] = {"auto", "std", "bochs-display", "none", NULL};

const char *config_video_adapter_name(enum video_adapter a)
{
    return (unsigned)a <= VIDEO_NONE ? config_video_adapter_names[a] : "?";
}

enum video_adapter config_video_adapter(const struct vm_config *cfg)
{
    if (cfg->video_adapter != VIDEO_AUTO)
        return cfg->video_adapter;
    return cfg->kernel != NULL ? VIDEO_NONE : VIDEO_STD;
}

const char *config_serial_type_name(enum serial_type t)
{
    return (unsigned)t <= SERIAL_UNIX ? config_serial_type_names[t] : "?";
}

static bool is_name_char(char c, bool is_first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return !is_first && (c == '.' || c == '_' || c == '-');
}

int config_check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > VM_MAX_NAME)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(name[i], i == 0))
            return -EINVAL;
    /* The first character is alphanumeric, so "." and ".." cannot occur; "a..b" is a
     * harmless name but is refused anyway to keep names obviously safe in paths. */
    return strstr(name, "..") ? -EINVAL : 0;
}

const char *config_check_text(const char *s, size_t len, size_t max_len)
{
    if (len > max_len)
        return "is too long";
    if (strlen(s) != len)
        return "contains a NUL character";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return "contains a control character";
    return NULL;
}

const char *config_check_path(const char *path)
{
    if (path[0] != '/')
        return "must be an absolute path";
    if (strchr(path, '\n'))
        return "contains a newline";
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int config_check_mac(const char *mac)
{
    if (strlen(mac) != 17)
        return -EINVAL;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : hexval(mac[i]) < 0)
            return -EINVAL;
    }
    return (hexval(mac[1]) & 1) ? -EINVAL : 0; /* multicast bit */
}

int config_check_ifname(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 15)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(name[i], false))
            return -EINVAL;
    return 0;
}

void config_join_names(const char *const *names, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "|" : "", names[i]);
}

int config_find_name(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *disks_json(const struct vm_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < cfg->disk_count; i++) {
        const struct disk_config *d = &cfg->disks[i];
        json_t *o =
            json_pack("{s:s,s:s,s:b,s:s}", "path", d->path, "format", config_format_name(d->format),
                      "readonly", d->is_readonly, "cache", config_cache_name(d->cache));
        if (o && d->backing != DISK_BACKING_SAME_DIR) /* the default is left out */
            json_object_set_new(o, "backing", json_string(config_backing_name(d->backing)));
        if (o && d->bus != DISK_BUS_VIRTIO) /* likewise */
            json_object_set_new(o, "bus", json_string(config_disk_bus_name(d->bus)));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *forwards_json(const struct nic_config *n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n->forward_count; i++) {
        const struct nic_forward *f = &n->forwards[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:i,s:o,s:i}", "name", f->name, "proto",
                                           config_fwd_proto_name(f->proto), "host_ip", f->host_ip,
                                           "host_port", (int)f->host_port, "guest_ip",
                                           f->guest_ip[0] ? json_string(f->guest_ip) : json_null(),
                                           "guest_port", (int)f->guest_port));
    }
    return a;
}

static json_t *nics_json(const struct vm_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < cfg->nic_count; i++) {
        const struct nic_config *n = &cfg->nics[i];
        json_t *o = json_pack("{s:s,s:s}", "mode", config_nic_mode_name(n->mode), "model",
                              config_nic_model_name(n->model));
        if (o && n->mac[0])
            json_object_set_new(o, "mac", json_string(n->mac));
        if (o && n->ifname)
            json_object_set_new(o, n->mode == NIC_MODE_TAP ? "tap" : "bridge",
                                json_string(n->ifname));
        if (o && n->mode == NIC_MODE_TAP && n->queues > 1)
            json_object_set_new(o, "queues", json_integer(n->queues));
        if (o && n->mode == NIC_MODE_TAP && n->vhost != NIC_VHOST_AUTO)
            json_object_set_new(o, "vhost", json_string(config_nic_vhost_names[n->vhost]));
        if (o && n->mode == NIC_MODE_NAT) {
            json_object_set_new(o, "restrict", json_boolean(n->is_restricted));
            json_object_set_new(o, "forwards", forwards_json(n));
            if (n->tftp[0])
                json_object_set_new(o, "tftp", json_string(n->tftp));
            if (n->bootfile[0])
                json_object_set_new(o, "bootfile", json_string(n->bootfile));
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *serials_json(const struct vm_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < cfg->serial_count; i++) {
        const struct serial_config *s = &cfg->serials[i];
        json_t *o = json_pack("{s:s}", "type", config_serial_type_name(s->type));
        if (o && s->path)
            json_object_set_new(o, "path", json_string(s->path));
        json_array_append_new(a, o);
    }
    return a;
}

int config_to_json(const struct vm_config *cfg, json_t **out)
{
    json_t *boot = json_array(), *root;
    for (size_t i = 0; boot && i < cfg->boot_count; i++)
        json_array_append_new(boot, json_string(config_boot_name(cfg->boot[i])));
    root = json_pack(
        "{s:i,s:s,s:s,s:s,s:i,s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
        "s:{s:s,s:i,s:i,s:i},s:{s:s,s:s},s:b,s:b,s:b,s:b}",
        "schema", CONFIG_SCHEMA_VERSION, "name", cfg->name, "description", cfg->description,
        "os_type", cfg->os_type, "cpus", (int)cfg->cpus, "memory_mib", (json_int_t)cfg->memory_mib,
        "boot", boot, "firmware", config_fw_name(cfg->firmware), "kernel", str_or_null(cfg->kernel),
        "initrd", str_or_null(cfg->initrd), "cmdline", str_or_null(cfg->cmdline), "disks",
        disks_json(cfg), "cdrom", str_or_null(cfg->cdrom), "floppy", str_or_null(cfg->floppy),
        "network", nics_json(cfg), "serial", serials_json(cfg), "video", "adapter",
        config_video_adapter_name(cfg->video_adapter), "width", (int)cfg->video_width, "height",
        (int)cfg->video_height, "vram_mib", (int)cfg->video_vram_mib, "input", "mouse",
        cfg->is_mouse_tablet ? "tablet" : "ps2", "keyboard",
        cfg->is_keyboard_virtio ? "virtio" : "ps2", "acpi", cfg->has_acpi, "ioapic",
        cfg->has_ioapic, "autostart", cfg->is_autostart, "boot_menu", cfg->has_boot_menu);
    if (root == NULL)
        return -ENOMEM;
    if (cfg->uuid[0] && json_object_set_new(root, "uuid", json_string(cfg->uuid)) < 0) {
        json_decref(root);
        return -ENOMEM;
    }
    *out = root;
    return 0;
}

int config_dump(const struct vm_config *cfg, char **out)
{
    json_t *root;
    char *s, *t;
    size_t n;
    int ret = config_to_json(cfg, &root);
    if (ret < 0)
        return ret;
    s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (s == NULL)
        return -ENOMEM;
    n = strlen(s);
    t = realloc(s, n + 2);
    if (t == NULL) {
        free(s);
        return -ENOMEM;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    *out = t;
    return 0;
}
