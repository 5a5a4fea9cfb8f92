/* SPDX-License-Identifier: MIT */
/*
 * Host input through the virtio-input keyboard and tablet (virtio 1.2 §5.8, PCI 1af4:1052) of
 * `--input virtio`, with the polling virtio-pci core (rt/virtio_pci.c, one device at a time).
 * Each device is told apart by its configuration (§5.8.4: the ID_NAME string, and EV_BITS for
 * EV_ABS, which only the tablet has). Then, one after the other:
 *   - the keyboard: eventq buffers posted, `READY virtio_input keyboard`, and the harness
 *     presses and releases the key 'a': EV_KEY KEY_A (30) with value 1, then 0;
 *   - the tablet (the keyboard reset first): `READY virtio_input tablet`, and the harness moves
 *     the pointer with the left button down: EV_ABS X and Y, and EV_KEY BTN_LEFT (0x110) 1.
 *     It prints `TABLET x y` (the last X and Y, 0..32767) for the harness to check.
 * Each waits up to `timeout=` seconds (default 20). Events are printed as they come.
 */
#include "acpi.h"
#include "pci.h"
#include "virtio.h"

const char payload_name[] = "virtio_input";

/* Configuration layout (§5.8.4): select, subsel, size, 5 reserved bytes, then the data. */
#define CFG_SELECT 0
#define CFG_SUBSEL 1
#define CFG_SIZE 2
#define CFG_DATA 8
#define CFG_ID_NAME 0x01
#define CFG_EV_BITS 0x11
/* evdev values (linux/input-event-codes.h) */
#define EV_SYN 0x00
#define EV_KEY 0x01
#define EV_ABS 0x03
#define KEY_A 30
#define BTN_LEFT 0x110
#define ABS_X 0
#define ABS_Y 1

struct event {
    uint16_t type, code;
    uint32_t value;
};

static struct event events[VDEV_QUEUE_SIZE] __attribute__((aligned(64)));
static struct vdev dev;

/* The size of configuration field (select, subsel) of the open device; its first bytes go to
 * (buf) when buf is not NULL. */
static unsigned cfg_query(uint8_t select, uint8_t subsel, char *buf, unsigned size)
{
    mmio_write8(dev.devcfg + CFG_SELECT, select);
    mmio_write8(dev.devcfg + CFG_SUBSEL, subsel);
    unsigned n = mmio_read8(dev.devcfg + CFG_SIZE);
    for (unsigned i = 0; buf && i < size; i++)
        buf[i] = i < n && i + 1 < size ? (char)mmio_read8(dev.devcfg + CFG_DATA + i) : '\0';
    return n;
}

/* Puts an event buffer in every entry of queue 0, device-writable, and notifies. */
static void post_all(void)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    vdev_rings(&desc, &avail, &used);
    for (uint16_t i = 0; i < dev.qsize && i < VDEV_QUEUE_SIZE; i++) {
        desc[i] =
            (struct vdev_desc){(uintptr_t)&events[i], sizeof(events[i]), VIRTQ_DESC_F_WRITE, 0};
        avail[2 + dev.avail_idx % dev.qsize] = i;
        dev.avail_idx++;
    }
    barrier();
    avail[1] = dev.avail_idx;
    barrier();
    mmio_write16(dev.notify_addr, 0);
}

/* The next event, its buffer posted again; false after (deadline) (rt_now_us). */
static bool next_event(struct event *e, uint64_t deadline)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    vdev_rings(&desc, &avail, &used);
    while ((uint16_t)(used[0] >> 16) == dev.used_idx) {
        if (rt_now_us() > deadline)
            return false;
        cpu_relax();
    }
    barrier();
    uint32_t id = used[1 + 2 * (dev.used_idx % dev.qsize)];
    dev.used_idx++;
    if (id >= dev.qsize || id >= VDEV_QUEUE_SIZE)
        return false;
    *e = events[id];
    avail[2 + dev.avail_idx % dev.qsize] = (uint16_t)id;
    barrier();
    avail[1] = ++dev.avail_idx;
    barrier();
    mmio_write16(dev.notify_addr, 0);
    if (e->type != EV_SYN)
        rt_printf("  event type %u code %u value %u\n", e->type, e->code, e->value);
    return true;
}

/* Finds the keyboard (want_abs false) or the tablet and opens it; false if there is none. */
static bool open_device(bool want_abs)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        uint16_t bdf = PCI_BDF(0, slot, 0);
        if (pci_cf8_read32(bdf, PCI_VENDOR) != 0x10521af4)
            continue;
        if (!vdev_open(&dev, bdf, 0, VDEV_NO_VECTOR, "open"))
            continue;
        char name[64];
        (void)cfg_query(CFG_ID_NAME, 0, name, sizeof(name));
        bool has_abs = cfg_query(CFG_EV_BITS, EV_ABS, NULL, 0) > 0;
        rt_printf("  %s: \"%s\"%s\n", dev.tag, name, has_abs ? ", EV_ABS" : "");
        if (has_abs == want_abs)
            return true;
        (void)vdev_reset(&dev);
    }
    return false;
}

static void keyboard(uint64_t timeout_us)
{
    if (!rt_check(open_device(false), "keyboard", "no virtio-input keyboard"))
        return;
    post_all();
    rt_puts("READY virtio_input keyboard\n");
    uint64_t deadline = rt_now_us() + timeout_us;
    bool down = false, up = false;
    struct event e;
    while (!up && next_event(&e, deadline))
        if (e.type == EV_KEY && e.code == KEY_A) {
            down |= e.value == 1;
            up = down && e.value == 0;
        }
    if (rt_check(down && up, "key", "KEY_A pressed %d, released %d", down, up))
        rt_pass("key");
    (void)vdev_reset(&dev);
}

static void tablet(uint64_t timeout_us)
{
    if (!rt_check(open_device(true), "tablet", "no virtio-input tablet"))
        return;
    post_all();
    rt_puts("READY virtio_input tablet\n");
    uint64_t deadline = rt_now_us() + timeout_us;
    bool has_x = false, has_y = false, left = false;
    uint32_t x = 0, y = 0;
    struct event e;
    while (!(has_x && has_y && left) && next_event(&e, deadline)) {
        if (e.type == EV_ABS && e.code == ABS_X) {
            x = e.value;
            has_x = true;
        } else if (e.type == EV_ABS && e.code == ABS_Y) {
            y = e.value;
            has_y = true;
        } else if (e.type == EV_KEY && e.code == BTN_LEFT && e.value == 1) {
            left = true;
        }
    }
    /* the rest of the batch the button came in: its X and Y, if they follow it */
    while (next_event(&e, rt_now_us() + 200000) && e.type != EV_SYN)
        if (e.type == EV_ABS && e.code == ABS_X)
            x = e.value;
        else if (e.type == EV_ABS && e.code == ABS_Y)
            y = e.value;
    rt_printf("TABLET %u %u\n", x, y);
    if (rt_check(has_x && has_y && left, "pointer", "X %d, Y %d, left button %d", has_x, has_y,
                 left))
        rt_pass("pointer");
    (void)vdev_reset(&dev);
}

void payload_main(void)
{
    static struct acpi_info ai;
    char why[120];
    if (!rt_check(acpi_init(&ai, why, sizeof(why)) == 0, "acpi", "%s", why))
        return;
    uint64_t timeout_us = rt_cmdline_u64("timeout", 20) * 1000000;
    keyboard(timeout_us);
    tablet(timeout_us);
}
