/* SPDX-License-Identifier: MIT */
/*
 * The display adapter of the machine (--video, docs/vmm.md "Display"): two rows of
 * machine_parts[]: "the VGA BIOS" reads the option ROM while files may still be opened, and
 * "the display adapter" creates the device (dev/display/vga.h), plugs its PCI function, maps
 * video memory as RAM with dirty logging wherever the guest puts the framebuffer BAR, registers
 * the legacy VGA ports, the dispi ports and (when no RAM is there) the legacy memory window,
 * and gives the screen to the VNC server (ui/vnc.h) of --display, whose viewers' keys and
 * pointer go (through the event loop) to machine_input_key/pointer. Also the screenshots.
 */
#define LOG_TAG "display"
#include "vmm/machine_display.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/fdcache.h"
#include "base/log.h"
#include "core/gmem.h"
#include "core/vm.h"
#include "dev/display/vga_pci.h"
#include "ui/screenshot.h"
#include "ui/vnc.h"
#include "vmm/machine_internal.h"

#define ROM_STD "/usr/share/seabios/vgabios-stdvga.bin"
#define ROM_BOCHS "/usr/share/seabios/vgabios-bochs-display.bin"
#define ROM_MAX_BYTES (256u << 10)
#define LFB_SLOT 0     /* the device memory slot of the framebuffer (core/vm.h) */
#define INPUT_RING 256 /* viewer events waiting for the event loop; more are dropped */

/* One viewer event on its way from the VNC thread to the event loop. */
struct input_event {
    bool is_key, is_down;
    uint32_t keysym;
    uint32_t x, y, width, height, buttons;
};

struct machine_display {
    struct machine *m;
    struct vga *vga;
    struct vga_pci pci;
    bool is_plugged, has_ports, has_window;
    pthread_mutex_t map_lock; /* is_mapped */
    bool is_mapped;
    uint64_t *log;           /* KVM's dirty bitmap of the framebuffer */
    pthread_mutex_t in_lock; /* the ring below */
    struct input_event ring[INPUT_RING];
    unsigned head, count;
    bool is_queued; /* a drain is queued on the event loop */
};

bool machine_has_display(const struct machine *m)
{
    return m->opts->video != VMM_VIDEO_NONE;
}

void machine_set_display(struct machine *m, struct ui_vnc *vnc)
{
    m->vnc = vnc;
}

/* Reads the VGA BIOS while opens are allowed (a reboot gets it from the descriptor cache). A
 * missing file only costs the firmware its video BIOS: direct boots never run it. */
int machine_read_vga_rom(struct machine *m, struct error *err)
{
    const char *path = m->opts->video == VMM_VIDEO_STD ? ROM_STD : ROM_BOCHS;
    (void)err;
    if (m->opts->video == VMM_VIDEO_NONE)
        return 0;
    int fd = fdcache_open(path, O_RDONLY);
    if (fd < 0) {
        log_info("no VGA BIOS (%s: %s): the adapter has no option ROM", path, strerror(-fd));
        return 0;
    }
    m->vga_rom = malloc(ROM_MAX_BYTES);
    ssize_t n = m->vga_rom ? pread(fd, m->vga_rom, ROM_MAX_BYTES, 0) : -1;
    close(fd);
    if (n <= 0) {
        free(m->vga_rom);
        m->vga_rom = NULL;
        return 0;
    }
    m->vga_rom_bytes = (size_t)n;
    return 0;
}

void machine_free_vga_rom(struct machine *m)
{
    free(m->vga_rom);
    m->vga_rom = NULL;
}

static int get_dirty(void *opaque, uint64_t *bitmap, size_t npages)
{
    struct machine_display *d = opaque;
    int ret = -ENOENT;
    pthread_mutex_lock(&d->map_lock);
    if (d->is_mapped)
        ret = vm_get_dirty_log(d->m->vm, LFB_SLOT, d->log);
    pthread_mutex_unlock(&d->map_lock);
    for (size_t i = 0; ret == 0 && i < (npages + 63) / 64; i++)
        bitmap[i] |= d->log[i];
    return ret;
}

static const struct vga_host_ops vga_host = {.get_dirty = get_dirty};

/* BAR0 moved: video memory follows it as RAM (the trapped BAR serves it meanwhile). */
static void map_lfb(void *opaque, uint64_t gpa, bool is_mapped)
{
    struct machine_display *d = opaque;
    uint64_t size = vga_vram_bytes(d->vga);
    int ret = 0;
    pthread_mutex_lock(&d->map_lock);
    if (d->is_mapped)
        ret = vm_set_devmem(d->m->vm, LFB_SLOT, 0, NULL, 0, false);
    d->is_mapped = false;
    if (ret == 0 && is_mapped) {
        ret = vm_set_devmem(d->m->vm, LFB_SLOT, gpa, vga_vram(d->vga), size, true);
        d->is_mapped = ret == 0;
    }
    pthread_mutex_unlock(&d->map_lock);
    if (ret < 0)
        log_ratelimited(LOG_WARN, "framebuffer at 0x%llx not mapped as RAM (%s): trapped",
                        (unsigned long long)gpa, strerror(-ret));
    vga_invalidate(d->vga); /* the dirty log of the old mapping is gone */
}

static const struct vga_pci_ops vga_pci_host = {.map_lfb = map_lfb};

struct damage_ctx {
    struct ui_vnc *vnc;
    struct ui_image img;
};

static void damage(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
    struct damage_ctx *c = opaque;
    ui_vnc_damage(c->vnc, &c->img, x, y, w, h);
}

/* On the VNC thread: the changed tiles go to the viewers. */
static void vnc_refresh(void *opaque, struct ui_vnc *vnc)
{
    struct machine_display *d = opaque;
    struct vga_frame f;
    bool is_resized;
    vga_refresh(d->vga);
    vga_frame_lock(d->vga, &f);
    struct damage_ctx c = {vnc, {f.pixels, f.width, f.height, f.width}};
    if (f.pixels != NULL) {
        ui_vnc_resize(vnc, f.width, f.height);
        vga_take_dirty(d->vga, damage, &c, &is_resized);
    }
    vga_frame_unlock(d->vga);
}

static const struct ui_vnc_source_ops vnc_source = {.refresh = vnc_refresh};

/* On the event-loop thread: the viewer's events to the keyboard and pointer devices. */
static void drain_input(void *opaque)
{
    struct machine_display *d = opaque;
    struct input_event ev[INPUT_RING];
    unsigned n;
    pthread_mutex_lock(&d->in_lock);
    n = d->count;
    for (unsigned i = 0; i < n; i++)
        ev[i] = d->ring[(d->head + i) % INPUT_RING];
    d->head = (d->head + n) % INPUT_RING;
    d->count = 0;
    d->is_queued = false;
    pthread_mutex_unlock(&d->in_lock);
    for (unsigned i = 0; i < n; i++) {
        if (ev[i].is_key)
            machine_input_key(d->m, ev[i].keysym, ev[i].is_down);
        else
            machine_input_pointer(d->m, ev[i].x, ev[i].y, ev[i].width, ev[i].height, ev[i].buttons);
    }
}

/* On the VNC thread: queues (ev) for the event loop (the input devices live there). */
static void push_input(struct machine_display *d, const struct input_event *ev)
{
    bool needs_call = false;
    pthread_mutex_lock(&d->in_lock);
    if (d->count == INPUT_RING) {
        pthread_mutex_unlock(&d->in_lock);
        log_ratelimited(LOG_INFO, "viewer input dropped: %d events waiting", INPUT_RING);
        return;
    }
    d->ring[(d->head + d->count++) % INPUT_RING] = *ev;
    needs_call = !d->is_queued;
    d->is_queued = true;
    pthread_mutex_unlock(&d->in_lock);
    if (needs_call && evloop_call(d->m->loop, drain_input, d) < 0) {
        pthread_mutex_lock(&d->in_lock);
        d->is_queued = false;
        pthread_mutex_unlock(&d->in_lock);
    }
}

static void vnc_key(void *opaque, uint32_t keysym, bool is_down)
{
    struct input_event ev = {.is_key = true, .is_down = is_down, .keysym = keysym};
    push_input(opaque, &ev);
}

static void vnc_pointer(void *opaque, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                        uint32_t buttons)
{
    struct input_event ev = {.x = x, .y = y, .width = width, .height = height, .buttons = buttons};
    push_input(opaque, &ev);
}

static const struct ui_input_ops vnc_input = {.key = vnc_key, .pointer = vnc_pointer};

static int register_legacy(struct machine *m, struct machine_display *d)
{
    int ret = bus_register(m->pio, VGA_PORT_BASE, VGA_PORT_COUNT, &vga_port_ops, d->vga, "vga");
    if (ret == 0)
        ret = bus_register(m->pio, VGA_PORT_DISPI, VGA_PORT_DISPI_COUNT, &vga_dispi_port_ops,
                           d->vga, "vga-dispi");
    if (ret < 0)
        return ret;
    d->has_ports = true;
    /* The window exists only in a hole of low RAM: the pc machine leaves one with --video std
     * (vmm/machine.c), microvm has RAM there. */
    if (gmem_find(m->gm, VGA_LEGACY_MEM_GPA) != NULL ||
        gmem_find(m->gm, VGA_LEGACY_MEM_GPA + VGA_LEGACY_MEM_BYTES - 1) != NULL)
        return 0;
    ret = bus_register(m->mmio, VGA_LEGACY_MEM_GPA, VGA_LEGACY_MEM_BYTES, &vga_mem_ops, d->vga,
                       "vga-mem");
    d->has_window = ret == 0;
    return ret;
}

int machine_add_display(struct machine *m, struct error *err)
{
    bool has_legacy = m->opts->video == VMM_VIDEO_STD;
    struct vga_config cfg = {.vram_bytes = m->opts->vram_bytes,
                             .has_legacy = has_legacy,
                             .edid_width = m->opts->video_width,
                             .edid_height = m->opts->video_height};
    struct machine_display *d;
    int ret;
    if (m->opts->video == VMM_VIDEO_NONE)
        return 0;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    m->display = d;
    d->m = m;
    pthread_mutex_init(&d->map_lock, NULL);
    pthread_mutex_init(&d->in_lock, NULL);
    d->log = calloc((cfg.vram_bytes / VGA_PAGE_BYTES + 63) / 64, sizeof(uint64_t));
    if (d->log == NULL)
        return -ENOMEM;
    ret = vga_create(&cfg, &vga_host, d, &d->vga);
    if (ret == 0)
        ret = vga_pci_init(&d->pci, d->vga, has_legacy, m->vga_rom, m->vga_rom_bytes, &vga_pci_host,
                           d);
    /* pc: 02.0, as QEMU has it (machine_pc.c keeps the slot free) */
    if (ret == 0 && (ret = pci_host_add_dev(m->pci, &d->pci.pci, machine_is_pc(m) ? 2 : -1)) == 0)
        d->is_plugged = true;
    if (ret == 0 && has_legacy)
        ret = register_legacy(m, d);
    if (ret < 0)
        return error_set(err, ret, "cannot create the display adapter: %s", strerror(-ret));
    if (m->vnc != NULL) {
        ui_vnc_set_source(m->vnc, &vnc_source, d);
        ui_vnc_set_input(m->vnc, &vnc_input, d);
    }
    log_info("%s adapter, %llu MiB of video memory", has_legacy ? "std-VGA" : "bochs-display",
             (unsigned long long)(cfg.vram_bytes >> 20));
    return 0;
}

void machine_remove_display(struct machine *m)
{
    struct machine_display *d = m->display;
    if (d == NULL)
        return;
    if (m->vnc != NULL) { /* after this no refresh or input callback runs on (d) */
        ui_vnc_set_source(m->vnc, NULL, NULL);
        ui_vnc_set_input(m->vnc, NULL, NULL);
    }
    if (m->loop != NULL)
        evloop_cancel(m->loop, d); /* a queued drain_input */
    if (d->has_window)
        bus_unregister(m->mmio, VGA_LEGACY_MEM_GPA, d->vga);
    if (d->has_ports) {
        bus_unregister(m->pio, VGA_PORT_BASE, d->vga);
        bus_unregister(m->pio, VGA_PORT_DISPI, d->vga);
    }
    if (d->is_plugged)
        pci_host_remove_dev(m->pci, &d->pci.pci); /* unmaps the framebuffer */
    vga_destroy(d->vga);
    pthread_mutex_destroy(&d->map_lock);
    pthread_mutex_destroy(&d->in_lock);
    free(d->log);
    free(d);
    m->display = NULL;
}

/* The device, or NULL with (err) set. */
static struct vga *display_vga(struct machine *m, struct error *err)
{
    if (m->display == NULL || m->display->vga == NULL) {
        error_set(err, -ENOENT, "the VM has no display adapter (--video none)");
        return NULL;
    }
    return m->display->vga;
}

int machine_screenshot_png(struct machine *m, const char *path, struct error *err)
{
    struct vga *v = display_vga(m, err);
    struct vga_frame f;
    if (v == NULL)
        return -ENOENT;
    vga_refresh(v);
    vga_frame_lock(v, &f);
    struct ui_image img = {f.pixels, f.width, f.height, f.width};
    int ret = ui_screenshot_png(path, &img, err);
    vga_frame_unlock(v);
    return ret;
}

int machine_screenshot_png_mem(struct machine *m, uint8_t **out, size_t *len, struct error *err)
{
    struct vga *v = display_vga(m, err);
    struct vga_frame f;
    if (v == NULL)
        return -ENOENT;
    vga_refresh(v);
    vga_frame_lock(v, &f);
    struct ui_image img = {f.pixels, f.width, f.height, f.width};
    int ret = ui_screenshot_png_mem(&img, out, len, err);
    vga_frame_unlock(v);
    return ret;
}

int machine_screenshot_text(struct machine *m, char *buf, size_t size, unsigned *rows,
                            unsigned *cols, struct error *err)
{
    struct vga *v = display_vga(m, err);
    if (v == NULL)
        return -ENOENT;
    int ret = vga_text(v, buf, size, rows, cols);
    if (ret == -ENOTSUP && m->opts->video == VMM_VIDEO_BOCHS)
        return error_set(err, ret, "bochs-display has no text mode (--text needs --video std)");
    if (ret == -ENOTSUP) {
        unsigned w, h, bpp;
        const char *kind = vga_mode_name(v, &w, &h, &bpp);
        if (strcmp(kind, "off") == 0)
            return error_set(err, ret,
                             "the screen is not in a text mode: VGA off (no mode set yet)");
        return error_set(err, ret, "the screen is not in a text mode: graphics %ux%ux%u (%s)", w, h,
                         bpp, strcmp(kind, "vbe") == 0 ? "VBE" : "VGA");
    }
    if (ret < 0)
        return error_set(err, ret, "cannot read the text screen: %s", strerror(-ret));
    return ret;
}

int machine_display_info(struct machine *m, struct machine_display_info *out, struct error *err)
{
    struct vga *v = display_vga(m, err);
    if (v == NULL)
        return -ENOENT;
    out->mode = vga_mode_name(v, &out->width, &out->height, &out->bpp);
    out->vram_bytes = vga_vram_bytes(v);
    out->viewers = m->vnc ? ui_vnc_client_count(m->vnc) : 0;
    out->bytes_sent = m->vnc ? ui_vnc_bytes_sent(m->vnc) : 0;
    return 0;
}

/* Saved state: the adapter's registers and video memory (dev/display/vga.h); its PCI config
 * space is in the "pci" section, whose load maps the framebuffer where the BAR points. */
int machine_save_display(struct machine *m, struct sf_buf *b)
{
    vga_save_state(m->display->vga, b);
    return 0;
}

int machine_load_display(struct machine *m, struct sf_in *in)
{
    return vga_load_state(m->display->vga, in);
}
