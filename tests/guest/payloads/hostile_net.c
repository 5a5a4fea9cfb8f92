/* SPDX-License-Identifier: MIT */
/*
 * The malicious-guest payload's network classes (docs/security.md): a virtio-net driver that
 * breaks virtio 1.2 §5.1.6 on purpose against the first 1af4:1041 function, with the NAT
 * backend behind it, one class per `mode=` word (a comma list runs several):
 *   txshort     a transmit chain shorter than the 12-byte header
 *   txempty     a header and no frame (0 bytes)
 *   txhuge      a frame of 70000 bytes (over 64 KiB + Ethernet)
 *   txloop      a transmit chain whose descriptors loop
 *   txaboveram  a frame above guest RAM
 *   txlapic     a frame at the LAPIC (MMIO, not RAM)
 *   rxsmall     an 8-byte receive buffer for the NAT's ARP answer
 *   ctrlnoack   a control command without a device-writable ack byte
 *   ctrlshort   a control command of one byte (no command byte)
 *   ctrltable   MAC_TABLE_SET announcing 1000 entries with room for one
 *   ctrlmq      VQ_PAIRS_SET without MQ negotiated
 *   ctrltrail   RX PROMISC with a byte too many
 * Each ends with the outcome bareiron promises under `strict=1` (NEEDS_RESET for a broken chain,
 * the frame dropped and the chain returned for a bad frame or buffer, VIRTIO_NET_ERR for a bad
 * command), then a reset and an ARP exchange with the NAT's gateway: the device and its
 * backend still work.
 */
#include "pci.h"
#include "virtio.h"

const char payload_name[] = "hostile_net";

#define Q_RX 0
#define Q_TX 1
#define Q_CTRL 2
#define HDR 12

static struct vdev nd;
static uint16_t bdf;
static bool strict;
static uint8_t mac[6];

static uint8_t hdr[HDR] __attribute__((aligned(16)));
static uint8_t frame[2048] __attribute__((aligned(16)));
static uint8_t rxbuf[2048] __attribute__((aligned(16)));
static uint8_t big[72 * 1024] __attribute__((aligned(4096)));
static uint8_t ctrl[64] __attribute__((aligned(16)));
static volatile uint8_t ack;

static bool open_dev(const char *what)
{
    uint64_t want =
        1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_CTRL_RX;
    if (!vdev_open_queues(&nd, bdf, want, 3, what))
        return false;
    for (unsigned i = 0; i < 6; i++)
        mac[i] = mmio_read8(nd.devcfg + i);
    return true;
}

static uint8_t status(void)
{
    return mmio_read8(nd.common + VIRTIO_PCI_COMMON_STATUS);
}

/* An ARP request for 10.0.2.2 from 10.0.2.15, padded to 60 bytes. */
static uint32_t arp_request(uint8_t *f)
{
    static const uint8_t tail[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    memcpy(f + 12, tail, sizeof(tail));
    memcpy(f + 22, mac, 6);
    f[28] = 10, f[29] = 0, f[30] = 2, f[31] = 15;
    f[38] = 10, f[39] = 0, f[40] = 2, f[41] = 2;
    return 60;
}

/* A receive buffer of (len) bytes on the receive queue, not waited for. */
static void post_rx(uint32_t len)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    uint16_t *ai, *ui;
    uint64_t notify;
    vdev_rings_q(&nd, Q_RX, &desc, &avail, &used, &ai, &ui, &notify);
    desc[0] = (struct vdev_desc){(uintptr_t)rxbuf, len, VIRTQ_DESC_F_WRITE, 0};
    avail[2 + *ai % nd.qsize] = 0;
    barrier();
    avail[1] = ++*ai;
    barrier();
    mmio_write16(notify, 0);
}

/* Waits up to 2 s for the receive buffer; its used length or -1. */
static int64_t wait_rx(void)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    uint16_t *ai, *ui;
    uint64_t notify, t0 = rt_now_us();
    vdev_rings_q(&nd, Q_RX, &desc, &avail, &used, &ai, &ui, &notify);
    while ((uint16_t)(used[0] >> 16) == *ui) {
        if (rt_now_us() - t0 > 2000000)
            return -1;
        cpu_relax();
    }
    barrier();
    uint32_t len = used[2 + 2 * (*ui % nd.qsize)];
    ++*ui;
    return len;
}

static int send_frame(void *f, uint32_t len)
{
    memset(hdr, 0, sizeof(hdr));
    struct vbuf chain[2] = {{hdr, HDR, false}, {f, len, false}};
    return vdev_submit_q(&nd, Q_TX, chain, 2, NULL);
}

/* The device and the NAT behind it answer: an ARP request to 10.0.2.2 gets its reply. */
static bool arp_works(const char *what)
{
    post_rx(sizeof(rxbuf));
    if (!rt_check(send_frame(frame, arp_request(frame)) == 0, what, "ARP request not sent"))
        return false;
    int64_t n = wait_rx();
    return rt_check(n >= HDR + 42 && rxbuf[HDR + 12] == 0x08 && rxbuf[HDR + 13] == 0x06 &&
                        rxbuf[HDR + 21] == 2,
                    what, "no ARP reply from 10.0.2.2 (used length %ld)", (long)n);
}

static bool recover(const char *what)
{
    return rt_check(vdev_reset(&nd), what, "status does not read 0 after a reset") &&
           open_dev(what) && arp_works(what);
}

enum outcome { OUT_NOTHING, OUT_NEEDS_RESET, OUT_USED };
static const char *const outcome_names[] = {"nothing within 1 s", "NEEDS_RESET", "used"};

/* Publishes chain (head) of queue (q), kicks and waits for what the device does with it. */
static enum outcome post_wait(unsigned q, uint16_t head, uint32_t *used_len)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    uint16_t *ai, *ui;
    uint64_t notify, t0;
    vdev_rings_q(&nd, q, &desc, &avail, &used, &ai, &ui, &notify);
    avail[2 + *ai % nd.qsize] = head;
    barrier();
    avail[1] = ++*ai;
    barrier();
    mmio_write16(notify, 0);
    for (t0 = rt_now_us(); rt_now_us() - t0 < 1000000;) {
        if (status() & VIRTIO_STATUS_NEEDS_RESET)
            return OUT_NEEDS_RESET;
        if ((uint16_t)(used[0] >> 16) != *ui) {
            barrier();
            *used_len = used[2 + 2 * (*ui % nd.qsize) + 1];
            ++*ui;
            return OUT_USED;
        }
        cpu_relax();
    }
    return OUT_NOTHING;
}

static struct vdev_desc *ring(unsigned q)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    uint16_t *ai, *ui;
    uint64_t notify;
    vdev_rings_q(&nd, q, &desc, &avail, &used, &ai, &ui, &notify);
    return desc;
}

/* A transmit chain: the header, then (len) bytes at (gpa) (none when len is 0). */
static void tx_chain(uint64_t gpa, uint32_t len)
{
    struct vdev_desc *d = ring(Q_TX);
    memset(hdr, 0, sizeof(hdr));
    d[0] = (struct vdev_desc){(uintptr_t)hdr, HDR, len ? VIRTQ_DESC_F_NEXT : 0, 1};
    d[1] = (struct vdev_desc){gpa, len, 0, 0};
}

/* A control command: (n) readable bytes of ctrl, then the ack unless (no_ack). */
static void ctrl_chain(uint32_t n, bool no_ack)
{
    struct vdev_desc *d = ring(Q_CTRL);
    ack = 0xee;
    d[0] = (struct vdev_desc){(uintptr_t)ctrl, n, no_ack ? 0 : VIRTQ_DESC_F_NEXT, 1};
    d[1] = (struct vdev_desc){(uintptr_t)&ack, 1, VIRTQ_DESC_F_WRITE, 0};
}

/* Builds mode (m); returns the queue it targets and what bareiron must do, or -1. */
static int build(const char *m, enum outcome *want, uint8_t *want_ack)
{
    *want_ack = 0xee;
    *want = OUT_USED;
    if (!strcmp(m, "txshort")) {
        struct vdev_desc *d = ring(Q_TX);
        d[0] = (struct vdev_desc){(uintptr_t)hdr, 4, 0, 0};
        *want = OUT_NEEDS_RESET;
    } else if (!strcmp(m, "txempty")) {
        tx_chain(0, 0);
    } else if (!strcmp(m, "txhuge")) {
        memcpy(big, frame, 12);
        tx_chain((uintptr_t)big, 70000);
    } else if (!strcmp(m, "txloop")) {
        tx_chain((uintptr_t)frame, 60);
        ring(Q_TX)[1] = (struct vdev_desc){(uintptr_t)frame, 60, VIRTQ_DESC_F_NEXT, 0};
        *want = OUT_NEEDS_RESET;
    } else if (!strcmp(m, "txaboveram")) {
        tx_chain(0x100000000ULL, 60);
        *want = OUT_NEEDS_RESET;
    } else if (!strcmp(m, "txlapic")) {
        tx_chain(0xfee00000u, 60);
        *want = OUT_NEEDS_RESET;
    } else if (!strcmp(m, "ctrlnoack")) {
        ctrl[0] = VIRTIO_NET_CTRL_RX, ctrl[1] = VIRTIO_NET_CTRL_RX_PROMISC, ctrl[2] = 1;
        ctrl_chain(3, true);
        *want = OUT_NEEDS_RESET;
        return Q_CTRL;
    } else if (!strcmp(m, "ctrlshort")) {
        ctrl[0] = VIRTIO_NET_CTRL_RX;
        ctrl_chain(1, false);
    } else if (!strcmp(m, "ctrltable")) {
        uint32_t n = 1000;
        ctrl[0] = VIRTIO_NET_CTRL_MAC, ctrl[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
        memcpy(ctrl + 2, &n, 4);
        memcpy(ctrl + 6, mac, 6);
        ctrl_chain(12, false);
    } else if (!strcmp(m, "ctrlmq")) {
        uint16_t pairs = 2;
        ctrl[0] = VIRTIO_NET_CTRL_MQ, ctrl[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
        memcpy(ctrl + 2, &pairs, 2);
        ctrl_chain(4, false);
    } else if (!strcmp(m, "ctrltrail")) {
        ctrl[0] = VIRTIO_NET_CTRL_RX, ctrl[1] = VIRTIO_NET_CTRL_RX_PROMISC, ctrl[2] = 1;
        ctrl_chain(4, false);
    } else {
        return -1;
    }
    if (!strncmp(m, "ctrl", 4)) {
        *want_ack = VIRTIO_NET_ERR;
        return Q_CTRL;
    }
    return Q_TX;
}

/* rxsmall: the NAT's ARP answer meets an 8-byte buffer; it comes back empty. */
static void run_rxsmall(void)
{
    post_rx(8);
    int ok = send_frame(frame, arp_request(frame)) == 0;
    int64_t n = wait_rx();
    rt_printf("  rxsmall: receive buffer used with %ld bytes (status 0x%x)\n", (long)n, status());
    bool good = ok && (!strict || (n == 0 && !(status() & VIRTIO_STATUS_NEEDS_RESET)));
    rt_check(good, "rxsmall", "the 8-byte buffer came back with %ld bytes", (long)n);
    if (recover("rxsmall") && good)
        rt_pass("rxsmall");
}

static void run_mode(const char *m)
{
    enum outcome want, o;
    uint8_t want_ack;
    uint32_t used_len = 0;

    if (!strcmp(m, "rxsmall")) {
        run_rxsmall();
        return;
    }
    int q = build(m, &want, &want_ack);
    if (q < 0) {
        rt_fail("mode", "unknown mode '%s'", m);
        return;
    }
    o = post_wait((unsigned)q, 0, &used_len);
    barrier();
    rt_printf("  %s: %s (status 0x%x, ack 0x%x)\n", m, outcome_names[o], status(), ack);
    bool good = !strict || (o == want && (want_ack == 0xee || ack == want_ack));
    rt_check(good, m, "expected %s%s, got %s, ack 0x%x", outcome_names[want],
             want_ack == VIRTIO_NET_ERR ? " with VIRTIO_NET_ERR" : "", outcome_names[o], ack);
    if (recover(m) && good)
        rt_pass(m);
}

void payload_main(void)
{
    char modes[200];
    strict = rt_cmdline_u64("strict", 0) != 0;
    if (!rt_cmdline_get("mode", modes, sizeof(modes))) {
        rt_fail("mode", "no mode= on the command line");
        return;
    }
    if (!rt_check(pci_find_device(0x1af4, 0x1041, &bdf), "device", "no virtio-net device") ||
        !open_dev("open") || !arp_works("open"))
        return;
    rt_pass("open");
    for (char *m = modes, *end; *m; m = end) {
        end = m;
        while (*end && *end != ',')
            end++;
        if (*end)
            *end++ = 0;
        run_mode(m);
    }
}
