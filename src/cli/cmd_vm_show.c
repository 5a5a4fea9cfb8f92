/* SPDX-License-Identifier: MIT */
/*
 * `bareiron show` and `bareiron list`: a VM's settings and state, and the table of all VMs,
 * as aligned text for people or JSON for scripts (--json; docs/cli.md gives the fields).
 * A VM whose vm.json is unreadable is reported (naming the file) without hiding the others.
 */
#include "cli/cmd_vm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/savestate.h"
#include "mgr/snaptree.h"
#include "mgr/store.h"

static void print_json(json_t *obj)
{
    char *s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
}

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

/* "NIC 1:  nat, mac M, virtio, restrict off" and one line per forward. */
static void show_nic(size_t i, const struct nic_config *n)
{
    printf("NIC %zu:         %s%s%s", i + 1, config_nic_mode_name(n->mode), n->ifname ? " " : "",
           n->ifname ? n->ifname : "");
    printf("%s, mac %s, %s", n->mode == NIC_MODE_NONE ? " (link down)" : "",
           n->mac[0] ? n->mac : "not yet generated", config_nic_model_name(n->model));
    if (n->mode == NIC_MODE_NAT)
        printf(", restrict %s", n->is_restricted ? "on" : "off");
    printf("\n");
    if (n->mode == NIC_MODE_NAT && n->tftp[0])
        printf("  TFTP:        %s%s%s\n", n->tftp, n->bootfile[0] ? ", boot file " : "",
               n->bootfile);
    for (size_t j = 0; j < n->forward_count; j++) {
        const struct nic_forward *f = &n->forwards[j];
        printf("  Forward:     %s: %s %s:%u -> %s:%u\n", f->name, config_fwd_proto_name(f->proto),
               f->host_ip, (unsigned)f->host_port, f->guest_ip[0] ? f->guest_ip : "guest",
               (unsigned)f->guest_port);
    }
}

/* "Boot order: cdrom, disk"; the kernel entry only when the VM has a kernel, since firmware
 * boots the drives alone otherwise. */
static void show_boot_order(const struct vm_config *c)
{
    bool is_first = true;
    printf("Boot order:    ");
    for (size_t i = 0; i < c->boot_count; i++) {
        if (c->boot[i] == BOOT_KERNEL && c->kernel == NULL && c->boot_count > 1)
            continue;
        printf("%s%s", is_first ? "" : ", ", config_boot_name(c->boot[i]));
        is_first = false;
    }
    if (c->has_boot_menu)
        printf(" (boot menu on)");
}

static void show_devices(const struct vm_config *c)
{
    for (size_t i = 0; i < c->disk_count; i++)
        printf(
            "Disk %zu:        %s (%s%s, %s, cache=%s%s%s)\n", i, c->disks[i].path,
            config_format_name(c->disks[i].format), c->disks[i].bus == DISK_BUS_IDE ? ", IDE" : "",
            c->disks[i].is_readonly ? "read-only" : "read-write",
            config_cache_name(c->disks[i].cache),
            c->disks[i].backing != DISK_BACKING_SAME_DIR ? ", backing=" : "",
            c->disks[i].backing != DISK_BACKING_SAME_DIR ? config_backing_name(c->disks[i].backing)
                                                         : "");
    if (c->disk_count == 0)
        printf("Disks:         -\n");
    printf("CD-ROM:        %s\n", or_dash(c->cdrom));
    printf("Floppy:        %s\n", or_dash(c->floppy));
    for (size_t i = 0; i < c->nic_count; i++)
        show_nic(i, &c->nics[i]);
    if (c->nic_count == 0)
        printf("Network:       -\n");
    for (size_t i = 0; i < c->serial_count; i++)
        printf("Serial %zu:      %s%s%s\n", i, config_serial_type_name(c->serials[i].type),
               c->serials[i].path ? " " : "", c->serials[i].path ? c->serials[i].path : "");
    if (c->serial_count == 0)
        printf("Serial:        console (default)\n");
}

/* "64.1 MiB written 2026-12-06 08:40:12" of VM (name)'s saved state into (buf); "" if none. */
static void saved_state_info(const struct store *st, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX], when[32];
    struct stat sb;
    struct tm tm;
    buf[0] = '\0';
    if (savestate_path(st, name, path, sizeof(path)) < 0 || stat(path, &sb) < 0)
        return;
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&sb.st_mtime, &tm));
    snprintf(buf, size, "%.1f MiB on disk, written %s", (double)sb.st_blocks * 512 / (1 << 20),
             when);
}

static void show_text(const struct store *st, const struct vm_config *c,
                      const struct proc_status *ps, const struct snap_tree *t)
{
    char mem[32], dir[PATH_MAX];
    printf("Name:          %s\n", c->name);
    if (ps->pid)
        printf("State:         %s (pid %d)\n", vm_state_name(ps->state), (int)ps->pid);
    else if (ps->state == VM_STATE_ABORTED && ps->has_exit)
        printf("State:         aborted (last exit: %s %d)\n", ps->exit_signal ? "signal" : "status",
               ps->exit_signal ? ps->exit_signal : ps->exit_status);
    else if (ps->state == VM_STATE_SAVED) {
        char info[128];
        saved_state_info(st, c->name, info, sizeof(info));
        printf("State:         saved (%s; 'bareiron start' resumes it)\n", info);
    } else
        printf("State:         %s\n", vm_state_name(ps->state));
    printf("UUID:          %s\n", or_dash(c->uuid));
    printf("Description:   %s\n", or_dash(c->description));
    printf("OS type:       %s\n", c->os_type);
    printf("CPUs:          %u\n", c->cpus);
    vm_format_mib(c->memory_mib, mem, sizeof(mem));
    printf("Memory:        %s\n", mem);
    show_boot_order(c);
    printf("\nFirmware:      %s", config_fw_name(c->firmware));
    if (c->firmware == FW_AUTO)
        printf(" (%s)", config_effective_fw(c) == FW_BIOS ? "bios" : "none: the kernel");
    printf("\nKernel:        %s\n", or_dash(c->kernel));
    printf("Initrd:        %s\n", or_dash(c->initrd));
    printf("Command line:  %s\n", or_dash(c->cmdline));
    show_devices(c);
    enum video_adapter va = config_video_adapter(c);
    if (va == VIDEO_NONE)
        printf("Video:         none (%s)", config_video_adapter_name(c->video_adapter));
    else
        printf("Video:         %s, %ux%u, %u MiB VRAM", config_video_adapter_name(va),
               c->video_width, c->video_height, c->video_vram_mib);
    if (va == VIDEO_NONE && /* stored (by hand or an older bareiron), refused at start */
        (c->video_width != CONFIG_DEFAULT_VIDEO_WIDTH ||
         c->video_height != CONFIG_DEFAULT_VIDEO_HEIGHT ||
         c->video_vram_mib != CONFIG_DEFAULT_VRAM_MIB))
        printf("; stored %ux%u, %u MiB VRAM (no adapter to use them)", c->video_width,
               c->video_height, c->video_vram_mib);
    putchar('\n');
    if (va != VIDEO_NONE && vm_state_is_live(ps->state) &&
        store_vm_path(st, c->name, "run/" PROC_VNC_SOCKET, dir, sizeof(dir)) == 0)
        printf("Display:       vnc unix:%s\n", dir);
    printf("Mouse:         %s\n", c->is_mouse_tablet ? "tablet (virtio-input)" : "ps2");
    printf("Keyboard:      %s\n", c->is_keyboard_virtio ? "virtio (virtio-input)" : "ps2");
    printf("ACPI:          %s\n", c->has_acpi ? "on" : "off");
    printf("I/O APIC:      %s\n", c->has_ioapic ? "on" : "off");
    printf("Autostart:     %s\n", c->is_autostart ? "on" : "off");
    printf("Snapshots:     %zu", t->n);
    if (t->current >= 0) {
        printf(" (current: ");
        for (const char *p = t->v[t->current].name; *p; p++)
            putchar(isprint((unsigned char)*p) ? *p : '?');
        putchar(')');
    }
    putchar('\n');
    if (store_vm_path(st, c->name, NULL, dir, sizeof(dir)) == 0)
        printf("Directory:     %s\n", dir);
}

static json_t *state_json(const struct proc_status *ps)
{
    json_t *o = json_pack("{s:s}", "state", vm_state_name(ps->state));
    if (ps->pid)
        json_object_set_new(o, "pid", json_integer(ps->pid));
    if (ps->has_exit) {
        json_object_set_new(o, "last_exit_status", json_integer(ps->exit_status));
        json_object_set_new(o, "last_exit_signal", json_integer(ps->exit_signal));
    }
    return o;
}

int cmd_show(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct vm_config cfg;
    struct proc_status ps;
    struct snap_tree t;
    struct error terr = {0};
    int ret = vm_begin(argc, argv, VM_ARG_NAME | VM_ARG_JSON, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = vm_check_name(a.name, err)) < 0 || (ret = store_load(&st, a.name, &cfg, err)) < 0)
        return ret;
    if (snaptree_load(&st, a.name, &t, &terr) < 0) /* shown without its snapshots */
        cli_err("%s", terr.message);
    if (proc_probe(&st, a.name, &ps) < 0)
        memset(&ps, 0, sizeof(ps));
    if (a.is_json) {
        json_t *o = state_json(&ps), *conf = NULL;
        char dir[PATH_MAX];
        if (config_to_json(&cfg, &conf) == 0)
            json_object_set_new(o, "config", conf);
        if (store_vm_path(&st, cfg.name, NULL, dir, sizeof(dir)) == 0)
            json_object_set_new(o, "directory", json_string(dir));
        json_object_set_new(o, "name", json_string(cfg.name));
        json_object_set_new(o, "uuid", cfg.uuid[0] ? json_string(cfg.uuid) : json_null());
        json_object_set_new(o, "snapshot_count", json_integer((json_int_t)t.n));
        json_object_set_new(o, "current_snapshot",
                            t.current >= 0 ? json_string(t.v[t.current].name) : json_null());
        if (vm_state_is_live(ps.state) && config_video_adapter(&cfg) != VIDEO_NONE &&
            store_vm_path(&st, cfg.name, "run/" PROC_VNC_SOCKET, dir, sizeof(dir)) == 0) {
            char vnc[PATH_MAX + 8];
            snprintf(vnc, sizeof(vnc), "unix:%s", dir);
            json_object_set_new(o, "display", json_string(vnc));
        }
        if (vm_state_is_live(ps.state)) {
            json_t *runtime = NULL;
            /* What the monitor actually runs (it may differ after a live `set`). */
            if (proc_call(&st, cfg.name, "query-config", NULL, &runtime, NULL) == 0)
                json_object_set_new(o, "runtime", runtime);
        }
        print_json(o);
        json_decref(o);
    } else {
        show_text(&st, &cfg, &ps, &t);
    }
    snaptree_free(&t);
    config_fini(&cfg);
    return 0;
}

/* One row of `list`; a VM that cannot be loaded gets state "invalid" and its error. */
static json_t *list_row(const struct store *st, const char *name)
{
    struct vm_config cfg;
    struct proc_status ps;
    struct error err = {0};
    json_t *row;
    if (store_load(st, name, &cfg, &err) < 0) {
        cli_err("%s", err.message);
        return json_pack("{s:s,s:s,s:s}", "name", name, "state", "invalid", "error", err.message);
    }
    if (proc_probe(st, name, &ps) < 0)
        memset(&ps, 0, sizeof(ps));
    row = json_pack("{s:s,s:s,s:i,s:I,s:s,s:b,s:s}", "name", name, "state", vm_state_name(ps.state),
                    "cpus", (int)cfg.cpus, "memory_mib", (json_int_t)cfg.memory_mib, "os_type",
                    cfg.os_type, "autostart", cfg.is_autostart, "description", cfg.description);
    if (row && ps.pid)
        json_object_set_new(row, "pid", json_integer(ps.pid));
    config_fini(&cfg);
    return row;
}

static void list_text(json_t *rows)
{
    size_t i, w = 4;
    json_t *r;
    json_array_foreach(rows, i, r) w =
        MAX(w, strlen(json_string_value(json_object_get(r, "name"))));
    printf("%-*s  %-11s  %4s  %9s  %s\n", (int)w, "NAME", "STATE", "CPUS", "MEMORY", "DESCRIPTION");
    json_array_foreach(rows, i, r)
    {
        char mem[32] = "-", cpus[16] = "-";
        json_t *m = json_object_get(r, "memory_mib"), *c = json_object_get(r, "cpus");
        if (c)
            snprintf(cpus, sizeof(cpus), "%lld", (long long)json_integer_value(c));
        if (m)
            vm_format_mib((unsigned long long)json_integer_value(m), mem, sizeof(mem));
        printf("%-*s  %-11s  %4s  %9s  %s\n", (int)w, json_string_value(json_object_get(r, "name")),
               json_string_value(json_object_get(r, "state")), cpus, mem,
               json_object_get(r, "description")
                   ? json_string_value(json_object_get(r, "description"))
                   : json_string_value(json_object_get(r, "error")));
    }
}

int cmd_list(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    char **names;
    size_t n;
    json_t *rows;
    int ret = vm_begin(argc, argv, VM_ARG_JSON, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = store_list(&st, &names, &n, err)) < 0)
        return ret;
    rows = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rows, list_row(&st, names[i]));
    store_list_free(names, n);
    if (a.is_json)
        print_json(rows);
    else
        list_text(rows);
    json_decref(rows);
    return 0;
}
