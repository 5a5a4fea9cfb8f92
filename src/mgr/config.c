/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/config.h, the vm.json side: defaults, strict reading of every field
 * (type, range, enum, unknown keys, schema version), writing, and the cross-field rules. The
 * command-line side (config_set_option) lives in config_opt.c.
 */
#include "mgr/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr/config_util.h"

const char *const config_os_types[] = {"linux", "windows", "bsd", "other", NULL};
const enum boot_dev config_default_boot[3] = {BOOT_KERNEL, BOOT_CDROM, BOOT_DISK};

int config_init(struct vm_config *cfg, const char *name)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->name, sizeof(cfg->name), "%s", name);
    cfg->description = strdup("");
    cfg->os_type = strdup("linux");
    cfg->cpus = 1;
    cfg->memory_mib = 256;
    memcpy(cfg->boot, config_default_boot, sizeof(config_default_boot));
    cfg->boot_count = ARRAY_SIZE(config_default_boot);
    cfg->video_width = CONFIG_DEFAULT_VIDEO_WIDTH;
    cfg->video_height = CONFIG_DEFAULT_VIDEO_HEIGHT;
    cfg->video_vram_mib = CONFIG_DEFAULT_VRAM_MIB;
    cfg->has_acpi = true;
    cfg->has_ioapic = true;
    if (cfg->description == NULL || cfg->os_type == NULL) {
        config_fini(cfg);
        return -ENOMEM;
    }
    return 0;
}

void config_fini(struct vm_config *cfg)
{
    free(cfg->description);
    free(cfg->os_type);
    free(cfg->kernel);
    free(cfg->initrd);
    free(cfg->cmdline);
    free(cfg->cdrom);
    free(cfg->floppy);
    for (size_t i = 0; i < cfg->disk_count; i++)
        free(cfg->disks[i].path);
    for (size_t i = 0; i < cfg->nic_count; i++)
        free(cfg->nics[i].ifname);
    for (size_t i = 0; i < cfg->serial_count; i++)
        free(cfg->serials[i].path);
    memset(cfg, 0, sizeof(*cfg));
}

/* Reader context: the source name for messages and the field being read. */
struct rd {
    const char *what;
    char field[128];
    struct error *err;
};

PRINTF_FMT(2, 3) static int bad(struct rd *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return error_set(r->err, -EINVAL, "%s: field \"%s\": %s", r->what, r->field, msg);
}

static int rd_uint(struct rd *r, json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char range[64];
    snprintf(range, sizeof(range), "%llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
        (uint64_t)json_integer_value(v) > max)
        return bad(r, "must be an integer from %s", range);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int rd_bool(struct rd *r, json_t *v, bool *out)
{
    if (!json_is_boolean(v))
        return bad(r, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

/* Reads a string (or null when (allow_null), giving NULL) checked by config_check_text. */
static int rd_str(struct rd *r, json_t *v, size_t max_len, bool allow_null, char **out)
{
    const char *why;
    char *s;
    if (allow_null && json_is_null(v)) {
        free(*out);
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return bad(r, "must be a string%s", allow_null ? " or null" : "");
    why = config_check_text(json_string_value(v), json_string_length(v), max_len);
    if (why)
        return bad(r, "%s", why);
    s = strdup(json_string_value(v));
    if (s == NULL)
        return -ENOMEM;
    free(*out);
    *out = s;
    return 0;
}

static int rd_path(struct rd *r, json_t *v, bool allow_null, char **out)
{
    const char *why;
    int ret = rd_str(r, v, PATH_MAX - 1, allow_null, out);
    if (ret < 0 || *out == NULL)
        return ret;
    why = config_check_path(*out);
    return why ? bad(r, "%s", why) : 0;
}

static int rd_enum(struct rd *r, json_t *v, const char *const *names, int *out)
{
    char list[128] = "";
    if (json_is_string(v))
        for (int i = 0; names[i]; i++)
            if (strcmp(json_string_value(v), names[i]) == 0) {
                *out = i;
                return 0;
            }
    config_join_names(names, list, sizeof(list));
    return bad(r, "must be one of %s", list);
}

/* Checks that object (v) has only the keys in (keys). */
static int rd_keys(struct rd *r, json_t *v, const char *const *keys)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return bad(r, "must be an object");
    json_object_foreach(v, key, val)
    {
        int i;
        for (i = 0; keys[i]; i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (keys[i] == NULL)
            return bad(r, "unknown key \"%.64s\"", key);
    }
    return 0;
}

static void subfield(struct rd *r, const char *base, size_t idx, const char *key)
{
    snprintf(r->field, sizeof(r->field), "%s[%zu].%s", base, idx, key);
}

static int rd_disk(struct rd *r, json_t *v, size_t idx, struct disk_config *d)
{
    static const char *const keys[] = {"path",    "format", "readonly", "cache",
                                       "backing", "bus",    NULL};
    int ret, e;
    snprintf(r->field, sizeof(r->field), "disks[%zu]", idx);
    if ((ret = rd_keys(r, v, keys)) < 0)
        return ret;
    subfield(r, "disks", idx, "path");
    if (json_object_get(v, "path") == NULL)
        return bad(r, "is required");
    if ((ret = rd_path(r, json_object_get(v, "path"), false, &d->path)) < 0)
        return ret;
    if (strchr(d->path, ','))
        return bad(r, "%s", "a disk path cannot contain ','");
    subfield(r, "disks", idx, "format");
    if (json_object_get(v, "format")) {
        if ((ret = rd_enum(r, json_object_get(v, "format"), config_format_names, &e)) < 0)
            return ret;
        d->format = (enum disk_format)e;
    }
    subfield(r, "disks", idx, "readonly");
    if (json_object_get(v, "readonly") &&
        (ret = rd_bool(r, json_object_get(v, "readonly"), &d->is_readonly)) < 0)
        return ret;
    subfield(r, "disks", idx, "cache");
    if (json_object_get(v, "cache")) {
        if ((ret = rd_enum(r, json_object_get(v, "cache"), config_cache_names, &e)) < 0)
            return ret;
        d->cache = (enum disk_cache)e;
    }
    subfield(r, "disks", idx, "backing");
    if (json_object_get(v, "backing")) {
        if ((ret = rd_enum(r, json_object_get(v, "backing"), config_backing_names, &e)) < 0)
            return ret;
        d->backing = (enum disk_backing)e;
    }
    subfield(r, "disks", idx, "bus");
    if (json_object_get(v, "bus")) {
        if ((ret = rd_enum(r, json_object_get(v, "bus"), config_disk_bus_names, &e)) < 0)
            return ret;
        d->bus = (enum disk_bus)e;
    }
    return 0;
}

/* "cdrom" and "floppy": null (no drive), "empty" (a drive without a disc) or an image. */
static int rd_drive(struct rd *r, json_t *v, char **out)
{
    if (json_is_string(v) && strcmp(json_string_value(v), CONFIG_EMPTY_DRIVE) == 0)
        return rd_str(r, v, sizeof(CONFIG_EMPTY_DRIVE), false, out);
    return rd_path(r, v, true, out);
}

/* Reads the string (v) checked by (check) into the fixed buffer (buf). */
static int rd_fixed(struct rd *r, json_t *v, int (*check)(const char *), const char *rule,
                    char *buf, size_t size)
{
    if (!json_is_string(v) || json_string_length(v) >= size || check(json_string_value(v)) != 0)
        return bad(r, "%s", rule);
    snprintf(buf, size, "%s", json_string_value(v));
    return 0;
}

static int rd_forward(struct rd *r, json_t *v, size_t nic, size_t idx, struct nic_forward *f)
{
    static const char *const keys[] = {"name",     "proto",      "host_ip", "host_port",
                                       "guest_ip", "guest_port", NULL};
    uint64_t port;
    int ret, e;
    snprintf(r->field, sizeof(r->field), "network[%zu].forwards[%zu]", nic, idx);
    if ((ret = rd_keys(r, v, keys)) < 0)
        return ret;
    for (int k = 0; keys[k]; k++) {
        json_t *x = json_object_get(v, keys[k]);
        snprintf(r->field, sizeof(r->field), "network[%zu].forwards[%zu].%s", nic, idx, keys[k]);
        if (x == NULL && (k == 2 || k == 4))
            continue; /* host_ip 127.0.0.1, guest_ip the guest's DHCP address */
        if (x == NULL)
            return bad(r, "is required");
        if (k == 0)
            ret =
                rd_fixed(r, x, config_check_forward_name,
                         "must be 1 to 32 characters of [A-Za-z0-9._-]", f->name, sizeof(f->name));
        else if (k == 1 && (ret = rd_enum(r, x, config_fwd_proto_names, &e)) == 0)
            f->proto = (enum fwd_proto)e;
        else if (k == 2)
            ret = rd_fixed(r, x, config_check_ipv4, "must be an IPv4 address", f->host_ip,
                           sizeof(f->host_ip));
        else if (k == 4 && !json_is_null(x))
            ret = rd_fixed(r, x, config_check_guest_ip, "must be null or an address in 10.0.2.0/24",
                           f->guest_ip, sizeof(f->guest_ip));
        else if ((k == 3 || k == 5) && (ret = rd_uint(r, x, 1, 65535, &port)) == 0)
            *(k == 3 ? &f->host_port : &f->guest_port) = (uint16_t)port;
        if (ret < 0)
            return ret;
    }
    if (f->host_ip[0] == '\0')
        snprintf(f->host_ip, sizeof(f->host_ip), "127.0.0.1");
    return 0;
}

/* A NAT adapter's "tftp" (an absolute path) and "bootfile" into their fixed-size fields;
 * config_validate_net checks what they may contain. */
static int rd_nic_tftp(struct rd *r, json_t *v, size_t idx, struct nic_config *n)
{
    static const char *const keys[] = {"tftp", "bootfile"};
    for (int k = 0; k < 2; k++) {
        json_t *j = json_object_get(v, keys[k]);
        char *s = NULL, *dst = k ? n->bootfile : n->tftp;
        size_t size = k ? sizeof(n->bootfile) : sizeof(n->tftp);
        int ret;
        subfield(r, "network", idx, keys[k]);
        if (j == NULL)
            continue;
        if (n->mode != NIC_MODE_NAT)
            return bad(r, "%s", "is only allowed with mode \"nat\"");
        ret = k ? rd_str(r, j, size - 1, false, &s) : rd_path(r, j, false, &s);
        if (ret == 0 && strlen(s) >= size)
            ret = bad(r, "must be at most %zu characters", size - 1);
        if (ret == 0)
            snprintf(dst, size, "%s", s);
        free(s);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int rd_nic_net(struct rd *r, json_t *v, size_t idx, struct nic_config *n)
{
    json_t *jfw = json_object_get(v, "forwards"), *jr = json_object_get(v, "restrict");
    int ret;
    subfield(r, "network", idx, "restrict");
    if (jr && (ret = rd_bool(r, jr, &n->is_restricted)) < 0)
        return ret;
    if ((ret = rd_nic_tftp(r, v, idx, n)) < 0)
        return ret;
    subfield(r, "network", idx, "forwards");
    if (jfw == NULL)
        return 0;
    if (!json_is_array(jfw) || json_array_size(jfw) > CONFIG_MAX_FORWARDS)
        return bad(r, "must be an array of at most %d forwards", CONFIG_MAX_FORWARDS);
    for (size_t i = 0; i < json_array_size(jfw); i++) {
        if ((ret = rd_forward(r, json_array_get(jfw, i), idx, i, &n->forwards[i])) < 0)
            return ret;
        n->forward_count++;
    }
    return 0;
}

/* A tap adapter's "queues" and "vhost" (absent: 1 and "auto"; only on a tap). */
static int rd_nic_tap(struct rd *r, json_t *v, size_t idx, struct nic_config *n)
{
    json_t *jq = json_object_get(v, "queues"), *jv = json_object_get(v, "vhost");
    uint64_t q;
    int ret, e;
    n->queues = 1;
    subfield(r, "network", idx, jq ? "queues" : "vhost");
    if ((jq || jv) && n->mode != NIC_MODE_TAP)
        return bad(r, "%s", "is only allowed with mode \"tap\"");
    if (jq && (ret = rd_uint(r, jq, 1, CONFIG_MAX_NIC_QUEUES, &q)) < 0)
        return ret;
    if (jq)
        n->queues = (uint32_t)q;
    subfield(r, "network", idx, "vhost");
    if (jv && (ret = rd_enum(r, jv, config_nic_vhost_names, &e)) < 0)
        return ret;
    if (jv)
        n->vhost = (enum nic_vhost)e;
    return 0;
}

static int rd_nic(struct rd *r, json_t *v, size_t idx, struct nic_config *n)
{
    static const char *const keys[] = {"model", "mode",     "mac",      "bridge",
                                       "tap",   "restrict", "forwards", "queues",
                                       "vhost", "tftp",     "bootfile", NULL};
    json_t *jmac = json_object_get(v, "mac");
    int ret, e;
    snprintf(r->field, sizeof(r->field), "network[%zu]", idx);
    if ((ret = rd_keys(r, v, keys)) < 0)
        return ret;
    subfield(r, "network", idx, "model");
    if (json_object_get(v, "model")) {
        if ((ret = rd_enum(r, json_object_get(v, "model"), config_nic_model_names, &e)) < 0)
            return ret;
        n->model = (enum nic_model)e;
    }
    subfield(r, "network", idx, "mode");
    if (json_object_get(v, "mode")) {
        if ((ret = rd_enum(r, json_object_get(v, "mode"), config_nic_mode_names, &e)) < 0)
            return ret;
        n->mode = (enum nic_mode)e;
    }
    subfield(r, "network", idx, "mac");
    if (jmac) {
        if (!json_is_string(jmac) || config_check_mac(json_string_value(jmac)) != 0)
            return bad(r, "%s", "must be a unicast MAC address like \"52:54:00:12:34:56\"");
        snprintf(n->mac, sizeof(n->mac), "%s", json_string_value(jmac));
    }
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "tap" : "bridge";
        bool is_wanted = (k == 0 && n->mode == NIC_MODE_BRIDGE) || (k && n->mode == NIC_MODE_TAP);
        json_t *jif = json_object_get(v, key);
        subfield(r, "network", idx, key);
        if (jif && !is_wanted)
            return bad(r, "is only allowed with mode \"%s\"", key);
        if (!jif && is_wanted)
            return bad(r, "is required with mode \"%s\"", key);
        if (jif && json_is_string(jif) && config_check_ifname(json_string_value(jif)) != 0)
            return bad(r, "%s", "must be an interface name of 1 to 15 characters");
        if (jif && (ret = rd_str(r, jif, 15, false, &n->ifname)) < 0)
            return ret;
    }
    return rd_nic_tap(r, v, idx, n) < 0 ? -EINVAL : rd_nic_net(r, v, idx, n);
}

static int rd_serial(struct rd *r, json_t *v, size_t idx, struct serial_config *s)
{
    static const char *const keys[] = {"type", "path", NULL};
    json_t *jpath = json_object_get(v, "path");
    bool needs_path;
    int ret, e;
    snprintf(r->field, sizeof(r->field), "serial[%zu]", idx);
    if ((ret = rd_keys(r, v, keys)) < 0)
        return ret;
    subfield(r, "serial", idx, "type");
    if (json_object_get(v, "type") == NULL)
        return bad(r, "is required");
    if ((ret = rd_enum(r, json_object_get(v, "type"), config_serial_type_names, &e)) < 0)
        return ret;
    s->type = (enum serial_type)e;
    needs_path = s->type == SERIAL_FILE || s->type == SERIAL_UNIX;
    subfield(r, "serial", idx, "path");
    if (needs_path && jpath == NULL)
        return bad(r, "is required for type \"%s\"", config_serial_type_name(s->type));
    if (!needs_path && jpath != NULL)
        return bad(r, "is not allowed for type \"%s\"", config_serial_type_name(s->type));
    return jpath ? rd_path(r, jpath, false, &s->path) : 0;
}

/* Reads the array (v) of at most (max) items with (fn) into the items of (base). */
#define RD_ARRAY(r, v, fieldname, max, arr, count, fn)                                             \
    ({                                                                                             \
        int ret_ = 0;                                                                              \
        snprintf((r)->field, sizeof((r)->field), "%s", fieldname);                                 \
        if (!json_is_array(v) || json_array_size(v) > (max))                                       \
            ret_ = bad((r), "must be an array of at most %d items", (int)(max));                   \
        for (size_t i_ = 0; ret_ == 0 && i_ < json_array_size(v); i_++) {                          \
            (count)++;                                                                             \
            ret_ = fn((r), json_array_get((v), i_), i_, &(arr)[i_]);                               \
        }                                                                                          \
        ret_;                                                                                      \
    })

static int rd_boot(struct rd *r, json_t *v, struct vm_config *cfg)
{
    unsigned seen = 0;
    int ret, e;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CONFIG_MAX_BOOT)
        return bad(r, "%s", "must be an array of 1 to 4 boot devices");
    cfg->boot_count = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        if ((ret = rd_enum(r, json_array_get(v, i), config_boot_names, &e)) < 0)
            return ret;
        if (seen & (1u << e))
            return bad(r, "lists \"%s\" twice", config_boot_names[e]);
        seen |= 1u << e;
        cfg->boot[cfg->boot_count++] = (enum boot_dev)e;
    }
    return 0;
}

static int rd_video(struct rd *r, json_t *v, struct vm_config *cfg)
{
    static const char *const keys[] = {"adapter", "width", "height", "vram_mib", NULL};
    uint64_t x;
    int ret, e;
    if ((ret = rd_keys(r, v, keys)) < 0)
        return ret;
    snprintf(r->field, sizeof(r->field), "video.adapter");
    if (json_object_get(v, "adapter")) {
        if ((ret = rd_enum(r, json_object_get(v, "adapter"), config_video_adapter_names, &e)) < 0)
            return ret;
        cfg->video_adapter = (enum video_adapter)e;
    }
    snprintf(r->field, sizeof(r->field), "video.width");
    if (json_object_get(v, "width")) {
        if ((ret = rd_uint(r, json_object_get(v, "width"), 320, 8192, &x)) < 0)
            return ret;
        cfg->video_width = (uint32_t)x;
    }
    snprintf(r->field, sizeof(r->field), "video.height");
    if (json_object_get(v, "height")) {
        if ((ret = rd_uint(r, json_object_get(v, "height"), 200, 8192, &x)) < 0)
            return ret;
        cfg->video_height = (uint32_t)x;
    }
    snprintf(r->field, sizeof(r->field), "video.vram_mib");
    if (json_object_get(v, "vram_mib")) {
        if ((ret = rd_uint(r, json_object_get(v, "vram_mib"), 1, 512, &x)) < 0)
            return ret;
        cfg->video_vram_mib = (uint32_t)x;
    }
    return 0;
}

/* "input": {"mouse": "ps2"|"tablet", "keyboard": "ps2"|"virtio"}, both optional. */
static int rd_input(struct rd *r, json_t *v, struct vm_config *cfg)
{
    static const char *const keys[] = {"mouse", "keyboard", NULL};
    static const char *const mice[] = {"ps2", "tablet", NULL};
    static const char *const keyboards[] = {"ps2", "virtio", NULL};
    int ret, e = 0;
    if ((ret = rd_keys(r, v, keys)) < 0)
        return ret;
    snprintf(r->field, sizeof(r->field), "input.mouse");
    if (json_object_get(v, "mouse")) {
        if ((ret = rd_enum(r, json_object_get(v, "mouse"), mice, &e)) < 0)
            return ret;
        cfg->is_mouse_tablet = e == 1;
    }
    snprintf(r->field, sizeof(r->field), "input.keyboard");
    if (json_object_get(v, "keyboard")) {
        if ((ret = rd_enum(r, json_object_get(v, "keyboard"), keyboards, &e)) < 0)
            return ret;
        cfg->is_keyboard_virtio = e == 1;
    }
    return 0;
}

/* Reads one top-level member (key)=(v). */
static int rd_member(struct rd *r, const char *key, json_t *v, struct vm_config *cfg)
{
    uint64_t x;
    int ret, e;
    snprintf(r->field, sizeof(r->field), "%.60s", key);
    if (strcmp(key, "schema") == 0)
        return 0; /* checked first by config_from_json */
    if (strcmp(key, "name") == 0) {
        if (!json_is_string(v) || config_check_name(json_string_value(v)) != 0)
            return bad(r, "%s", CONFIG_NAME_RULE);
        snprintf(cfg->name, sizeof(cfg->name), "%s", json_string_value(v));
        return 0;
    }
    if (strcmp(key, "uuid") == 0) {
        if (!json_is_string(v) || !config_is_uuid(json_string_value(v)))
            return bad(r, "must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
        snprintf(cfg->uuid, sizeof(cfg->uuid), "%s", json_string_value(v));
        return 0;
    }
    if (strcmp(key, "description") == 0)
        return rd_str(r, v, CONFIG_MAX_DESCRIPTION, false, &cfg->description);
    if (strcmp(key, "os_type") == 0) {
        if ((ret = rd_enum(r, v, config_os_types, &e)) < 0)
            return ret;
        return rd_str(r, v, 16, false, &cfg->os_type);
    }
    if (strcmp(key, "cpus") == 0) {
        ret = rd_uint(r, v, 1, VM_MAX_CPUS, &x);
        cfg->cpus = (uint32_t)x;
        return ret;
    }
    if (strcmp(key, "memory_mib") == 0)
        return rd_uint(r, v, VM_MIN_MEMORY_MIB, VM_MAX_MEMORY_MIB, &cfg->memory_mib);
    if (strcmp(key, "boot") == 0)
        return rd_boot(r, v, cfg);
    if (strcmp(key, "firmware") == 0) {
        ret = rd_enum(r, v, config_fw_names, &e);
        cfg->firmware = ret < 0 ? FW_AUTO : (enum fw_kind)e;
        return ret;
    }
    if (strcmp(key, "kernel") == 0)
        return rd_path(r, v, true, &cfg->kernel);
    if (strcmp(key, "initrd") == 0)
        return rd_path(r, v, true, &cfg->initrd);
    if (strcmp(key, "cmdline") == 0)
        return rd_str(r, v, VM_MAX_CMDLINE_BYTES, true, &cfg->cmdline);
    if (strcmp(key, "cdrom") == 0)
        return rd_drive(r, v, &cfg->cdrom);
    if (strcmp(key, "floppy") == 0)
        return rd_drive(r, v, &cfg->floppy);
    if (strcmp(key, "boot_menu") == 0)
        return rd_bool(r, v, &cfg->has_boot_menu);
    if (strcmp(key, "disks") == 0)
        return RD_ARRAY(r, v, "disks", VM_MAX_DISKS, cfg->disks, cfg->disk_count, rd_disk);
    if (strcmp(key, "network") == 0)
        return RD_ARRAY(r, v, "network", CONFIG_MAX_NICS, cfg->nics, cfg->nic_count, rd_nic);
    if (strcmp(key, "serial") == 0)
        return RD_ARRAY(r, v, "serial", CONFIG_MAX_SERIALS, cfg->serials, cfg->serial_count,
                        rd_serial);
    if (strcmp(key, "video") == 0)
        return rd_video(r, v, cfg);
    if (strcmp(key, "input") == 0)
        return rd_input(r, v, cfg);
    if (strcmp(key, "acpi") == 0)
        return rd_bool(r, v, &cfg->has_acpi);
    if (strcmp(key, "ioapic") == 0)
        return rd_bool(r, v, &cfg->has_ioapic);
    if (strcmp(key, "autostart") == 0)
        return rd_bool(r, v, &cfg->is_autostart);
    return error_set(r->err, -EINVAL, "%s: unknown key \"%.64s\"", r->what, key);
}

int config_from_json(json_t *root, const char *what, struct vm_config *cfg, struct error *err)
{
    struct rd r = {.what = what, .err = err};
    json_t *schema, *v;
    const char *key;
    int ret;
    if (!json_is_object(root))
        return error_set(err, -EINVAL, "%s: not a JSON object", what);
    schema = json_object_get(root, "schema");
    if (!json_is_integer(schema) || json_integer_value(schema) < 1)
        return error_set(err, -EINVAL, "%s: field \"schema\": must be a positive integer", what);
    if (json_integer_value(schema) > CONFIG_SCHEMA_VERSION)
        return error_set(err, -ENOTSUP,
                         "%s: schema version %lld is newer than this bareiron understands (%d)",
                         what, (long long)json_integer_value(schema), CONFIG_SCHEMA_VERSION);
    if (!json_is_string(json_object_get(root, "name")))
        return error_set(err, -EINVAL, "%s: field \"name\": is required", what);
    if ((ret = config_init(cfg, "")) < 0)
        return error_set(err, ret, "out of memory");
    json_object_foreach(root, key, v)
    {
        ret = rd_member(&r, key, v, cfg);
        if (ret < 0)
            goto fail;
    }
    {
        struct error verr = {0};
        ret = config_validate(cfg, &verr);
        if (ret == 0)
            return 0;
        error_set(err, ret, "%s: %s", what, verr.message);
    }
fail:
    config_fini(cfg);
    if (ret == -ENOMEM)
        error_set(err, ret, "out of memory");
    return ret;
}

int config_parse(const char *text, size_t len, const char *what, struct vm_config *cfg,
                 struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int ret;
    if (root == NULL)
        return error_set(err, -EINVAL, "%s: malformed JSON at line %d column %d: %s", what,
                         jerr.line, jerr.column, jerr.text);
    ret = config_from_json(root, what, cfg, err);
    json_decref(root);
    return ret;
}

int config_validate(const struct vm_config *cfg, struct error *err)
{
    bool has_console = false;
    int ret;
    if (config_check_name(cfg->name) != 0)
        return error_set(err, -EINVAL, "name: %s", CONFIG_NAME_RULE);
    if (cfg->initrd && !cfg->kernel)
        return error_set(err, -EINVAL, "initrd: needs a kernel");
    if (cfg->cmdline && !cfg->kernel)
        return error_set(err, -EINVAL, "cmdline: needs a kernel");
    if ((ret = config_validate_net(cfg, err)) < 0)
        return ret;
    if (cfg->disk_count + config_has_disc(cfg->cdrom) > VM_MAX_DISKS)
        return error_set(err, -EINVAL, "disks: at most %d disks, the CD-ROM included",
                         VM_MAX_DISKS);
    if (config_ide_drives(cfg) > CONFIG_MAX_IDE_DRIVES)
        return error_set(err, -EINVAL, "disks: at most %d IDE drives, the CD-ROM drive included",
                         CONFIG_MAX_IDE_DRIVES);
    for (size_t i = 0; i < cfg->disk_count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->disks[i].path, cfg->disks[j].path) == 0)
                return error_set(err, -EINVAL, "disks: %s is attached twice", cfg->disks[i].path);
    for (size_t i = 0; i < cfg->serial_count; i++) {
        if (cfg->serials[i].type == SERIAL_CONSOLE && has_console)
            return error_set(err, -EINVAL, "serial: only one port can be the console");
        has_console |= cfg->serials[i].type == SERIAL_CONSOLE;
    }
    return 0;
}

/* The first adapter of (cfg) the monitor cannot run (bridge, e1000): its description in
 * (*what) and the `set` option that removes it in (fix). */
static bool nic_unsupported(const struct vm_config *cfg, const char **what, char *fix, size_t size)
{
    for (size_t i = 0; i < cfg->nic_count; i++) {
        if (cfg->nics[i].mode != NIC_MODE_BRIDGE && cfg->nics[i].model != NIC_MODEL_E1000)
            continue;
        snprintf(fix, size, "--remove-nic %zu", i + 1);
        *what = cfg->nics[i].mode == NIC_MODE_BRIDGE ? "a bridged network adapter (\"network\")"
                                                     : "an e1000 network adapter (\"network\")";
        return true;
    }
    return false;
}

int config_check_boot(const struct vm_config *cfg, struct error *err)
{
    enum fw_kind fw = config_effective_fw(cfg);
    if (fw == FW_NONE && cfg->boot[0] != BOOT_KERNEL)
        return error_set(err, -ENOTSUP,
                         "--boot: not supported yet: without firmware (--firmware none) the "
                         "kernel boots directly, so kernel must come first");
    if (fw == FW_BIOS && cfg->kernel != NULL && cfg->boot[0] != BOOT_KERNEL)
        return error_set(err, -ENOTSUP,
                         "--boot: not supported yet: a kernel after other boot devices (SeaBIOS "
                         "boots the kernel first); put kernel first or remove it (--kernel "
                         "none)");
    for (size_t i = 0; i < cfg->boot_count; i++)
        if (cfg->boot[i] == BOOT_NET && cfg->nic_count == 0)
            return error_set(err, -EINVAL,
                             "--boot net needs a network adapter (--nic1 nat, with --nat-tftp1 "
                             "and --nat-bootfile1 for a boot file of your own)");
    if (fw != FW_NONE && (!cfg->has_acpi || !cfg->has_ioapic))
        return error_set(err, -ENOTSUP,
                         "--%s off: not supported yet with a firmware boot (the pc machine has "
                         "ACPI and an IOAPIC); turn it on, or boot a kernel with --firmware none",
                         cfg->has_acpi ? "ioapic" : "acpi");
    return 0;
}

int config_check_supported(const struct vm_config *cfg, struct error *err)
{
    const char *what = NULL, *fix = NULL;
    char nic_fix[48];
    if (nic_unsupported(cfg, &what, nic_fix, sizeof(nic_fix)))
        fix = nic_fix;
    else if (config_effective_fw(cfg) == FW_UEFI && cfg->kernel != NULL)
        what = "a kernel under UEFI firmware (\"kernel\")", fix = "--kernel none";
    else if (config_effective_fw(cfg) != FW_NONE && (!cfg->has_acpi || !cfg->has_ioapic))
        what = "ACPI or the IOAPIC off with a firmware boot (\"acpi\", \"ioapic\")",
        fix = "--acpi on --ioapic on";
    else if (config_check_boot(cfg, NULL) < 0)
        what = "a boot order that does not start with its kernel (\"boot\")",
        fix = "--boot kernel,cdrom,disk";
    else if (config_video_adapter(cfg) == VIDEO_NONE &&
             (cfg->video_width != CONFIG_DEFAULT_VIDEO_WIDTH ||
              cfg->video_height != CONFIG_DEFAULT_VIDEO_HEIGHT))
        what = "a display size (\"video\") but no display adapter", fix = "--video none";
    else if (config_video_adapter(cfg) == VIDEO_NONE &&
             cfg->video_vram_mib != CONFIG_DEFAULT_VRAM_MIB)
        what = "video memory (\"video.vram_mib\") but no display adapter", fix = "--video none";
    else if (config_check_devices(cfg, NULL) < 0) /* the boot menu */
        what = "a boot menu but no firmware (\"boot_menu\")", fix = "--boot-menu off";
    else if (config_video_adapter(cfg) != VIDEO_NONE &&
             (cfg->video_vram_mib & (cfg->video_vram_mib - 1)) != 0)
        what = "video memory (\"video.vram_mib\") that is not a power of two", fix = "--vram 16M";
    else if (cfg->serial_count > CONFIG_MAX_SUPPORTED_SERIALS)
        what = "a second serial port (\"serial\")", fix = "--serial none";
    else if (cfg->serial_count > 0 && cfg->serials[0].type == SERIAL_PTY)
        what = "a pty serial port (\"serial\")", fix = "--serial none";
    if (what == NULL)
        return 0;
    return error_set(err, -ENOTSUP,
                     "VM '%s' has %s, which the monitor does not support yet: remove it with "
                     "'bareiron set %s %s'",
                     cfg->name, what, cfg->name, fix);
}
