/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/ctl.h: control API commands (docs/control-api.md) mapped onto the
 * machine. Every op runs on the event-loop thread, where the machine cannot be replaced.
 */
#define LOG_TAG "ctl"
#include "vmm/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/log.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "dev/input/keymap.h"
#include "net/net.h"
#include "net/slirp.h"
#include "vmm/machine.h"
#include "vmm/machine_display.h"

static enum control_run_state query_state(void *opaque)
{
    struct vmm_ctl *c = opaque;
    return c->state;
}

static int query_config(void *opaque, struct control_config *out, struct error *err)
{
    struct vmm_ctl *c = opaque;
    const struct vmm_options *o = c->opts;
    (void)err;
    out->name = o->name;
    out->cpus = o->cpus;
    out->memory_bytes = o->memory_bytes;
    out->kernel = o->kernel;
    out->initrd = o->initrd;
    out->cmdline = o->cmdline;
    out->cdrom = o->cdrom;
    out->floppy = o->floppy;
    out->uuid = o->uuid;
    out->disk_count = 0;
    for (unsigned i = 0; i < o->ndisks && out->disk_count < CONTROL_MAX_DISKS; i++)
        if (!o->disks[i].is_cdrom)
            out->disks[out->disk_count++] = o->disks[i].spec;
    return 0;
}

static struct vm *running_vm(struct vmm_ctl *c, struct error *err)
{
    if (c->machine == NULL || c->state == CONTROL_RUN_STARTING) {
        error_set(err, -EAGAIN, "the machine is %s: try again",
                  c->machine == NULL ? "being reset" : "starting");
        return NULL;
    }
    return machine_vm(c->machine);
}

static int power_button(void *opaque, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (running_vm(c, err) == NULL)
        return -EAGAIN;
    machine_press_power_button(c->machine);
    return 0;
}

/* True between two machines (a reset is rebuilding it) or before the first one runs. */
static bool is_between(const struct vmm_ctl *c)
{
    return c->machine == NULL || c->state == CONTROL_RUN_STARTING;
}

static int poweroff(void *opaque, struct error *err)
{
    struct vmm_ctl *c = opaque;
    (void)err;
    /*
     * Recorded as well as requested: a reset posted first wins the machine's request box, and
     * between two machines there is nothing to request; main.c then exits with status 0
     * instead of starting the next machine.
     */
    c->has_poweroff = true;
    c->state = CONTROL_RUN_STOPPING;
    if (!is_between(c))
        vm_request(machine_vm(c->machine), VM_REQ_POWEROFF, 0);
    return 0;
}

static int reset(void *opaque, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (c->state == CONTROL_RUN_STOPPING)
        return error_set(err, -EINVAL, "the machine is stopping");
    if (is_between(c))
        return 0; /* a reset is rebuilding the machine already */
    vm_request(machine_vm(c->machine), VM_REQ_RESET, 0);
    return 0;
}

static int pause_vm(void *opaque, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (c->state == CONTROL_RUN_PAUSED)
        return error_set(err, -EBUSY, "already paused");
    if (c->state != CONTROL_RUN_RUNNING)
        return error_set(err, -EINVAL, "the machine is %s",
                         c->state == CONTROL_RUN_STARTING ? "starting" : "stopping");
    if (!is_between(c))
        vm_pause(machine_vm(c->machine));
    c->state = CONTROL_RUN_PAUSED; /* between two machines: the next one starts paused */
    return 0;
}

static int resume_vm(void *opaque, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (c->state != CONTROL_RUN_PAUSED)
        return error_set(err, -EBUSY, "not paused");
    if (!is_between(c))
        vm_resume(machine_vm(c->machine));
    c->state = CONTROL_RUN_RUNNING;
    return 0;
}

/*
 * save: pause (if running), write the state to (path) or the passed file (fd), then stop the
 * monitor as a poweroff does (status 0). On failure the VM goes on in the state it had.
 */
static int do_save(struct vmm_ctl *c, const char *path, int fd, unsigned flags, struct error *err)
{
    bool was_paused = c->state == CONTROL_RUN_PAUSED;
    struct vm *vm;
    int ret;
    if (path != NULL && c->opts->is_sandbox)
        return error_set(err, -ENOTSUP,
                         "save with --sandbox: a path cannot be opened in the jail; pass the "
                         "state file's descriptor with the request");
    if (c->state == CONTROL_RUN_STOPPING)
        return error_set(err, -EINVAL, "the machine is stopping");
    if ((vm = running_vm(c, err)) == NULL)
        return -EAGAIN;
    ret = machine_check_savable(c->machine, err); /* before the guest notices a pause */
    if (ret < 0)
        return ret;
    if (was_paused)
        flags &= ~MACHINE_SAVE_LIVE; /* nothing runs: a plain save is the same */
    if (!was_paused && !(flags & MACHINE_SAVE_LIVE))
        vm_pause(vm); /* a live save pauses the vCPUs itself, for its last round */
    ret = path != NULL ? machine_save(c->machine, path, flags, err)
                       : machine_save_fd(c->machine, fd, flags, err);
    if (ret < 0) {
        if (!was_paused && vm_is_paused(vm))
            vm_resume(vm);
        return ret;
    }
    log_info("state saved to %s", path != NULL ? path : "the file passed with the request");
    c->has_poweroff = true;
    c->state = CONTROL_RUN_STOPPING;
    vm_request(vm, VM_REQ_POWEROFF, 0);
    return 0;
}

static int save_vm(void *opaque, const char *path, int fd, bool is_zstd, bool is_live,
                   struct error *err)
{
    unsigned flags = (is_zstd ? MACHINE_SAVE_ZSTD : 0) | (is_live ? MACHINE_SAVE_LIVE : 0);
    int ret = do_save(opaque, path, fd, flags, err);
    if (fd >= 0)
        close(fd);
    return ret;
}

/* Through the descriptor cache: the sandboxed monitor has no /proc and may not open files. */
static uint64_t rss_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    char buf[128];
    int fd = fdcache_open("/proc/self/statm", O_RDONLY);
    ssize_t n;
    if (fd < 0)
        return CONTROL_STAT_UNKNOWN;
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    if (n <= 0)
        return CONTROL_STAT_UNKNOWN;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int stats(void *opaque, struct control_stats *out, struct error *err)
{
    struct vmm_ctl *c = opaque;
    struct vm *vm = running_vm(c, err);
    uint64_t copied, total;
    bool done;
    if (vm == NULL)
        return -EAGAIN;
    out->uptime_ns = machine_uptime_ns(c->machine);
    out->vcpu_count = vm->ncpus;
    out->vcpu_time_ns = out->exits = out->exits_io = out->exits_mmio = 0;
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu_stats *s = &vm->vcpus[i]->stats;
        out->vcpu_time_ns += atomic_load(&s->run_ns);
        out->exits += atomic_load(&s->exits);
        out->exits_io += atomic_load(&s->exits_io);
        out->exits_mmio += atomic_load(&s->exits_mmio);
    }
    out->rss_bytes = rss_bytes();
    out->guest_mem_bytes = machine_ram_bytes(c->machine);
    if (machine_restore_copy(c->machine, &copied, &total, &done)) {
        out->restore_copy_bytes = copied;
        out->restore_copy_total_bytes = total;
        out->restore_copy_done = done;
    }
    out->disk_count = machine_disk_stats(c->machine, out->disks, CONTROL_MAX_DISKS);
    return 0;
}

static int query_net(void *opaque, struct control_nic_stats *out, unsigned max, unsigned *n,
                     struct error *err)
{
    struct vmm_ctl *c = opaque;
    (void)err;
    *n = 0;
    for (unsigned i = 0; i < c->nnics && i < max; i++) {
        const struct net_backend *be = c->nics[i];
        const uint8_t *mac = c->opts->nics[i].mac;
        struct control_nic_stats *s = &out[(*n)++];

        memset(s, 0, sizeof(*s));
        s->index = i;
        s->type = be->type;
        s->link = net_backend_link_is_up(be);
        if (c->machine != NULL) /* the device's counters and the MAC the guest set */
            mac = machine_nic_stats(c->machine, i, s);
        snprintf(s->mac, sizeof(s->mac), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                 mac[3], mac[4], mac[5]);
        s->rx_dropped += be->stats.rx_dropped;
        s->tx_dropped += be->stats.tx_dropped;
        s->errors += be->stats.errors;
        if (net_backend_is_nat(be))
            s->nhostfwd = net_slirp_hostfwds(be, s->hostfwd, CONTROL_MAX_HOSTFWD);
        s->nhostfwd = s->nhostfwd > CONTROL_MAX_HOSTFWD ? CONTROL_MAX_HOSTFWD : s->nhostfwd;
    }
    return 0;
}

/* Adapter (i) in (*out). Returns 0 or -ENODEV with (err) set. */
static int nic(struct vmm_ctl *c, unsigned i, struct net_backend **out, struct error *err)
{
    if (i >= c->nnics)
        return error_set(err, -ENODEV, "no network adapter %u (the VM has %u)", i, c->nnics);
    *out = c->nics[i];
    return 0;
}

/* NAT adapter (i) in (*out). Returns 0, -ENODEV or -ENOTSUP with (err) set. */
static int nat_nic(struct vmm_ctl *c, unsigned i, struct net_backend **out, struct error *err)
{
    int ret = nic(c, i, out, err);
    if (ret == 0 && !net_backend_is_nat(*out))
        return error_set(err, -ENOTSUP, "network adapter %u is %s: forwards are for nat adapters",
                         i, (*out)->type);
    return ret;
}

static int hostfwd_add(void *opaque, unsigned i, const char *rule, struct error *err)
{
    struct net_backend *be = NULL;
    int ret = nat_nic(opaque, i, &be, err);
    return ret < 0 ? ret : net_slirp_hostfwd_add(be, rule, err);
}

static int hostfwd_remove(void *opaque, unsigned i, const char *rule, struct error *err)
{
    struct net_backend *be = NULL;
    int ret = nat_nic(opaque, i, &be, err);
    return ret < 0 ? ret : net_slirp_hostfwd_remove(be, rule, err);
}

static int net_link(void *opaque, unsigned i, bool up, struct error *err)
{
    struct net_backend *be = NULL;
    int ret = nic(opaque, i, &be, err);
    if (ret == 0)
        net_backend_set_link(be, up);
    return ret;
}

/* ---- input: send-key, input-pointer ---- */

/* Room for the events of the longest request: four per character of text (Shift around the
 * key), two per key of a combination. */
#define MAX_KEY_EVENTS (4 * CONTROL_INPUT_MAX_TEXT)

/* Appends the events of one combination "ctrl-alt-delete" (cut in place) to ev[*n]: every
 * key pressed in order, then released in reverse. */
static int combo_events(char *combo, struct machine_key_event *ev, size_t *n, struct error *err)
{
    const struct keymap_entry *keys[CONTROL_INPUT_MAX_KEYS];
    size_t nkeys = 0;
    char *save = NULL;
    if (combo[0] == '-' || combo[strlen(combo) - 1] == '-' || strstr(combo, "--") != NULL)
        return error_set(err, -EINVAL, "an empty key name in '%s'", combo);
    for (char *name = strtok_r(combo, "-", &save); name != NULL;
         name = strtok_r(NULL, "-", &save)) {
        const struct keymap_entry *e = keymap_find_name(name);
        if (e == NULL)
            return error_set(err, -EINVAL, "unknown key '%s'", name);
        keys[nkeys++] = e;
    }
    for (size_t i = 0; i < nkeys; i++)
        ev[(*n)++] = (struct machine_key_event){keys[i]->keysym, true};
    for (size_t i = nkeys; i-- > 0;)
        ev[(*n)++] = (struct machine_key_event){keys[i]->keysym, false};
    return 0;
}

/* The events of "keys": combinations separated by spaces. */
static int keys_events(const char *keys, struct machine_key_event *ev, size_t *n, struct error *err)
{
    char buf[CONTROL_INPUT_MAX_KEYS + 1], *save = NULL;
    int ret = 0;
    snprintf(buf, sizeof(buf), "%s", keys); /* the caller checked the length */
    for (char *combo = strtok_r(buf, " ", &save); combo != NULL && ret == 0;
         combo = strtok_r(NULL, " ", &save))
        ret = combo_events(combo, ev, n, err);
    if (ret == 0 && *n == 0)
        return error_set(err, -EINVAL, "no key in \"keys\"");
    return ret;
}

/* The events typing (text) on a US layout. */
static int text_events(const char *text, struct machine_key_event *ev, size_t *n, struct error *err)
{
    for (size_t i = 0; text[i] != '\0'; i++) {
        uint32_t sym = keymap_keysym_of_char(text[i]);
        const struct keymap_entry *e = sym != 0 ? keymap_find_keysym(sym) : NULL;
        if (e == NULL)
            return error_set(err, -EINVAL, "cannot type character 0x%02x at offset %zu",
                             (unsigned char)text[i], i);
        if (e->is_shifted)
            ev[(*n)++] = (struct machine_key_event){KEYSYM_SHIFT_L, true};
        ev[(*n)++] = (struct machine_key_event){sym, true};
        ev[(*n)++] = (struct machine_key_event){sym, false};
        if (e->is_shifted)
            ev[(*n)++] = (struct machine_key_event){KEYSYM_SHIFT_L, false};
    }
    return 0;
}

static int send_key(void *opaque, const char *keys, const char *text, struct error *err)
{
    struct vmm_ctl *c = opaque;
    struct machine_key_event *ev;
    size_t n = 0;
    int ret;
    if (running_vm(c, err) == NULL)
        return -EAGAIN;
    if ((keys != NULL && strlen(keys) > CONTROL_INPUT_MAX_KEYS) ||
        (text != NULL && strlen(text) > CONTROL_INPUT_MAX_TEXT))
        return error_set(err, -EINVAL, "too many keys");
    ev = malloc(MAX_KEY_EVENTS * sizeof(*ev));
    if (ev == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = keys != NULL ? keys_events(keys, ev, &n, err) : text_events(text, ev, &n, err);
    if (ret == 0) {
        ret = machine_input_type(c->machine, ev, n);
        if (ret == -ENOSPC)
            error_set(err, ret, "too much typed input is waiting (at most %d key events)",
                      MACHINE_TYPING_MAX);
        else if (ret < 0)
            error_set(err, ret, "cannot type: %s", strerror(-ret));
    }
    free(ev);
    return ret;
}

static int input_pointer(void *opaque, const struct control_pointer *p, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (running_vm(c, err) == NULL)
        return -EAGAIN;
    machine_input_pointer(c->machine, p->x, p->y, p->width, p->height, p->buttons);
    return 0;
}

/* Whether the descriptor a media-change sent has the access mode the disk's open asks for:
 * read-write, or read-only for a write-protected medium. */
static int check_medium_fd(const char *path, int fd, bool is_readonly, struct error *err)
{
    int fl = fcntl(fd, F_GETFL), want = is_readonly ? O_RDONLY : O_RDWR;
    if (fl < 0 || (fl & O_ACCMODE) != want || (fl & O_DIRECT))
        return error_set(err, -EINVAL,
                         "the descriptor sent for %s must be open %s, without O_DIRECT", path,
                         is_readonly ? "read-only" : "read-write");
    return 0;
}

/* Takes the descriptor into the descriptor cache, where the disk's open finds it (the running
 * monitor opens no new file). The ones kept for (path) before go: one of another mode would
 * hold the file's lock. */
static int adopt_medium(const char *path, int fd, struct error *err)
{
    int dup, ret;
    fdcache_forget(path);
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0)
        return error_set(err, -errno, "cannot keep the descriptor sent: %s", strerror(errno));
    ret = fdcache_adopt(path, dup);
    return ret < 0 ? error_set(err, ret, "cannot keep the descriptor sent: %s", strerror(-ret)) : 0;
}

/* media-change on the floppy drive: the machine's, and the options for the next machine. */
static int floppy_change(struct vmm_ctl *c, const struct control_media_change *req,
                         struct error *err)
{
    struct vmm_options *o = c->opts;
    int ret;
    if (!o->has_floppy)
        return error_set(err, -ENODEV, "the VM has no floppy drive (start it with --floppy)");
    if (req->path != NULL && strlen(req->path) >= sizeof(o->floppy_path))
        return error_set(err, -EINVAL, "path too long");
    if (req->path != NULL && req->fd >= 0 &&
        (ret = check_medium_fd(req->path, req->fd, req->is_readonly, err)) < 0)
        return ret;
    if (c->machine == NULL && req->path != NULL && req->fd >= 0 &&
        (ret = adopt_medium(req->path, req->fd, err)) < 0)
        return ret;
    if (c->machine != NULL) { /* else between two machines: the next one takes the options */
        struct error e = {0};
        /* out first, so the old image's descriptors and lock can go before the new open */
        ret = machine_floppy_change(c->machine, NULL, false, &e);
        if (ret == 0 && req->path != NULL && req->fd >= 0)
            ret = adopt_medium(req->path, req->fd, &e);
        if (ret == 0 && req->path != NULL)
            ret = machine_floppy_change(c->machine, req->path, req->is_readonly, &e);
        if (ret == -EACCES && req->fd < 0)
            error_set(err, ret,
                      "%.300s (a running monitor opens no new file: send the image's descriptor "
                      "with the request)",
                      e.message);
        else if (ret < 0)
            error_set(err, ret, "%s", e.message);
        if (ret < 0) { /* the drive is empty now */
            o->floppy = NULL;
            return ret;
        }
    }
    o->is_floppy_readonly = req->is_readonly;
    o->floppy = NULL;
    if (req->path != NULL) {
        snprintf(o->floppy_path, sizeof(o->floppy_path), "%s", req->path);
        o->floppy = o->floppy_path;
    }
    return 0;
}

/*
 * Records the CD-ROM's new medium (path; NULL: none) in the options, so that the machine of the
 * next guest reboot has it too: the --cdrom entry of the disks is renamed or marked ejected, or
 * added behind the others (the running machine only looks at the entries it was built with).
 */
static void record_cdrom(struct vmm_options *o, const char *path)
{
    struct vmm_disk *d = NULL;
    for (unsigned i = 0; i < o->ndisks && d == NULL; i++)
        if (o->disks[i].is_cdrom)
            d = &o->disks[i];
    if (d == NULL && path != NULL && o->ndisks < VM_MAX_DISKS) {
        d = &o->disks[o->ndisks++];
        *d = (struct vmm_disk){
            .format = VMM_DISK_RAW, .is_readonly = true, .is_cdrom = true, .bus = VMM_DISK_BUS_IDE};
    }
    if (d == NULL)
        return;
    d->is_ejected = path == NULL;
    if (path != NULL)
        snprintf(d->path, sizeof(d->path), "%s", path);
    d->spec = d->path;
    o->cdrom = path != NULL ? d->path : NULL;
}

/* media-change on the IDE CD-ROM drive: the machine's, and the options for the next machine. A
 * disc the guest locked (PREVENT MEDIUM REMOVAL) stays: EBUSY. */
static int cdrom_change(struct vmm_ctl *c, const struct control_media_change *req,
                        struct error *err)
{
    struct vmm_options *o = c->opts;
    int ret;
    if (!o->has_cdrom_drive)
        return error_set(
            err, -ENODEV,
            "the VM has no CD-ROM drive (start it with --cdrom FILE or --cdrom empty)");
    if (req->path != NULL && strlen(req->path) >= sizeof(o->disks[0].path))
        return error_set(err, -EINVAL, "path too long");
    if (req->path != NULL && req->fd >= 0 &&
        ((ret = check_medium_fd(req->path, req->fd, true, err)) < 0 ||
         (ret = adopt_medium(req->path, req->fd, err)) < 0))
        return ret;
    if (c->machine != NULL) { /* else between two machines: the next one takes the options */
        struct error e = {0};
        ret = machine_change_media(c->machine, req->path, false, &e);
        if (ret < 0)
            return error_set(err, ret, "%s", e.message);
    }
    record_cdrom(o, req->path);
    return 0;
}

static int media_change(void *opaque, const struct control_media_change *req, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (strcmp(req->drive, "floppy") == 0)
        return floppy_change(c, req, err);
    if (strcmp(req->drive, "cdrom") == 0)
        return cdrom_change(c, req, err);
    return error_set(err, -ENOTSUP, "media-change: drive \"%s\" is not supported by this monitor",
                     req->drive);
}

/* The machine for a display op, or NULL with (err) set: none between two machines, none
 * without --video. */
static struct machine *display_machine(struct vmm_ctl *c, struct error *err)
{
    if (c->opts->video == VMM_VIDEO_NONE) {
        error_set(err, -ENOENT, "the VM has no display adapter (--video none)");
        return NULL;
    }
    if (c->machine == NULL)
        error_set(err, -EAGAIN, "the machine is being reset: try again");
    return c->machine;
}

static int screenshot_png(void *opaque, const char *path, struct error *err)
{
    struct machine *m = display_machine(opaque, err);
    return m == NULL ? err->code : machine_screenshot_png(m, path, err);
}

static int screenshot_text(void *opaque, char *buf, size_t size, unsigned *rows, unsigned *cols,
                           struct error *err)
{
    struct machine *m = display_machine(opaque, err);
    return m == NULL ? err->code : machine_screenshot_text(m, buf, size, rows, cols, err);
}

static int screenshot_data(void *opaque, uint64_t offset, const uint8_t **data, size_t *len,
                           uint64_t *total, struct error *err)
{
    struct vmm_ctl *c = opaque;
    if (offset == 0) {
        struct machine *m = display_machine(c, err);
        uint8_t *png = NULL;
        size_t n = 0;
        if (m == NULL)
            return err->code;
        int ret = machine_screenshot_png_mem(m, &png, &n, err);
        if (ret < 0)
            return ret;
        free(c->png);
        c->png = png;
        c->png_bytes = n;
    }
    if (c->png == NULL || offset > c->png_bytes)
        return error_set(err, -EINVAL, "screenshot-data: offset %llu outside the image",
                         (unsigned long long)offset);
    *data = c->png + offset;
    *len = c->png_bytes - (size_t)offset;
    *total = c->png_bytes;
    return 0;
}

static int query_display(void *opaque, struct control_display *out, struct error *err)
{
    struct vmm_ctl *c = opaque;
    struct machine *m = display_machine(c, err);
    struct machine_display_info info;
    int ret;
    if (m == NULL)
        return err->code;
    if ((ret = machine_display_info(m, &info, err)) < 0)
        return ret;
    out->adapter = c->opts->video == VMM_VIDEO_STD ? "std" : "bochs-display";
    out->mode = info.mode;
    out->width = info.width;
    out->height = info.height;
    out->bpp = info.bpp;
    out->vram_bytes = info.vram_bytes;
    out->viewers = info.viewers;
    out->bytes_sent = info.bytes_sent;
    out->vnc = NULL;
    if (c->opts->display == VMM_DISPLAY_VNC_UNIX) {
        snprintf(c->vnc_address, sizeof(c->vnc_address), "unix:%s", c->opts->display_path);
        out->vnc = c->vnc_address;
    } else if (c->opts->display == VMM_DISPLAY_VNC_TCP) {
        snprintf(c->vnc_address, sizeof(c->vnc_address),
                 strchr(c->opts->display_host, ':') ? "[%s]:%u" : "%s:%u", c->opts->display_host,
                 c->opts->display_port);
        out->vnc = c->vnc_address;
    }
    return 0;
}

const struct control_ops vmm_ctl_ops = {
    .query_state = query_state,
    .query_config = query_config,
    .power_button = power_button,
    .poweroff = poweroff,
    .reset = reset,
    .pause = pause_vm,
    .resume = resume_vm,
    .stats = stats,
    .save = save_vm,
    .query_net = query_net,
    .net_hostfwd_add = hostfwd_add,
    .net_hostfwd_remove = hostfwd_remove,
    .net_link = net_link,
    .send_key = send_key,
    .input_pointer = input_pointer,
    .media_change = media_change,
    .screenshot_png = screenshot_png,
    .screenshot_text = screenshot_text,
    .query_display = query_display,
    .screenshot_data = screenshot_data,
};
