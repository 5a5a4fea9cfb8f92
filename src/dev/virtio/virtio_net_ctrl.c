/* SPDX-License-Identifier: MIT */
/*
 * virtio-net control queue (virtio 1.2 §5.1.6.5): a command is class u8, command u8 and its data
 * in the device-readable part, and one ack byte (VIRTIO_NET_OK / VIRTIO_NET_ERR) as the last
 * device-writable byte. Served: RX mode PROMISC and ALLMULTI (§5.1.6.5.1, CTRL_RX), the MAC
 * filter tables and the MAC address (§5.1.6.5.2, CTRL_MAC_ADDR), ANNOUNCE_ACK (§5.1.6.5.4,
 * GUEST_ANNOUNCE) and GUEST_OFFLOADS_SET (§5.1.6.5.6.1). Anything else, a command of a feature
 * not negotiated, short or trailing data, and values out of range are answered ERR and counted;
 * a command without an ack byte cannot be answered: NEEDS_RESET.
 */
#include "dev/virtio/virtio_net.h"

#include <string.h>

#define LOG_TAG "virtio-net"
#include "base/log.h"
#include "net/net.h"

struct cmd {
    uint8_t class_id;
    uint8_t command;
};

/* Reads exactly (len) bytes of data and checks nothing is left. */
static bool read_all(struct virtio_chain *c, void *buf, size_t len)
{
    return iov_iter_to_buf(&c->reader, buf, len) == len && iov_iter_left(&c->reader) == 0;
}

static uint8_t rx_mode(struct virtio_net *vn, uint8_t command, struct virtio_chain *c)
{
    uint8_t on;

    if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_CTRL_RX) || !read_all(c, &on, 1) || on > 1)
        return VIRTIO_NET_ERR;
    switch (command) {
    case VIRTIO_NET_CTRL_RX_PROMISC:
        vn->filter.is_promisc = on;
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_RX_ALLMULTI:
        vn->filter.is_allmulti = on;
        return VIRTIO_NET_OK;
    default: /* ALLUNI, NOMULTI, NOUNI, NOBCAST need CTRL_RX_EXTRA, not offered */
        return VIRTIO_NET_ERR;
    }
}

/* Reads one table (entries u32, then entries * 6 bytes) into (tab), remembering at most
 * VIRTIO_NET_MAC_TABLE_ENTRIES. Returns false when the data is short. */
static bool read_table(struct virtio_chain *c, uint8_t (*tab)[6], unsigned *n, bool *is_overflow)
{
    uint32_t entries;

    if (iov_iter_to_buf(&c->reader, &entries, sizeof(entries)) != sizeof(entries))
        return false;
    if ((uint64_t)entries * 6 > iov_iter_left(&c->reader))
        return false;
    *is_overflow = entries > VIRTIO_NET_MAC_TABLE_ENTRIES;
    *n = *is_overflow ? 0 : entries;
    if (*is_overflow)
        return iov_iter_advance(&c->reader, (uint64_t)entries * 6) == (uint64_t)entries * 6;
    return iov_iter_to_buf(&c->reader, tab, (size_t)entries * 6) == (size_t)entries * 6;
}

static uint8_t mac_cmd(struct virtio_net *vn, uint8_t command, struct virtio_chain *c)
{
    struct virtio_net_filter f = vn->filter;
    uint8_t mac[6];

    switch (command) {
    case VIRTIO_NET_CTRL_MAC_TABLE_SET:
        if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_CTRL_RX) ||
            !read_table(c, f.uni, &f.nuni, &f.is_uni_overflow) ||
            !read_table(c, f.multi, &f.nmulti, &f.is_multi_overflow) ||
            iov_iter_left(&c->reader) != 0)
            return VIRTIO_NET_ERR; /* the old tables stay */
        vn->filter = f;
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_MAC_ADDR_SET:
        if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_CTRL_MAC_ADDR) || !read_all(c, mac, 6))
            return VIRTIO_NET_ERR;
        memcpy(vn->cfg.mac, mac, 6);
        return VIRTIO_NET_OK;
    default:
        return VIRTIO_NET_ERR;
    }
}

/* VQ_PAIRS_SET (§5.1.6.5.5): u16 pairs, 1..max_virtqueue_pairs. */
static uint8_t mq_cmd(struct virtio_net *vn, uint8_t command, struct virtio_chain *c)
{
    uint16_t n;

    if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_MQ) ||
        command != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !read_all(c, &n, sizeof(n)) || n < 1 ||
        n > vn->npairs)
        return VIRTIO_NET_ERR;
    if (n != vn->cur_pairs && net_backend_set_queues(vn->be, n) < 0)
        return VIRTIO_NET_ERR;
    vn->cur_pairs = n;
    return VIRTIO_NET_OK;
}

static uint8_t offloads_cmd(struct virtio_net *vn, uint8_t command, struct virtio_chain *c)
{
    uint64_t want,
        guest_bits = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
                     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) |
                     VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO4) |
                     VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO6);
    uint32_t o;

    if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
        command != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || !read_all(c, &want, sizeof(want)))
        return VIRTIO_NET_ERR;
    /* §5.1.6.5.6.2: only offloads that were negotiated */
    if ((want & ~guest_bits) || (want & ~vn->vd.driver_features))
        return VIRTIO_NET_ERR;
    o = virtio_net_guest_offloads(want);
    if (net_backend_set_offloads(vn->be, o) < 0)
        return VIRTIO_NET_ERR;
    vn->guest_offloads = o;
    return VIRTIO_NET_OK;
}

static uint8_t execute(struct virtio_net *vn, const struct cmd *cmd, struct virtio_chain *c)
{
    switch (cmd->class_id) {
    case VIRTIO_NET_CTRL_RX:
        return rx_mode(vn, cmd->command, c);
    case VIRTIO_NET_CTRL_MAC:
        return mac_cmd(vn, cmd->command, c);
    case VIRTIO_NET_CTRL_ANNOUNCE:
        if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
            cmd->command != VIRTIO_NET_CTRL_ANNOUNCE_ACK || iov_iter_left(&c->reader) != 0)
            return VIRTIO_NET_ERR;
        vn->cfg.status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
        return offloads_cmd(vn, cmd->command, c);
    case VIRTIO_NET_CTRL_MQ:
        return mq_cmd(vn, cmd->command, c);
    default: /* VLAN and the rest: not offered */
        return VIRTIO_NET_ERR;
    }
}

static enum virtio_chain_ret control(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c)
{
    struct virtio_net *vn = container_of(vd, struct virtio_net, vd);
    uint8_t *ack = virtio_chain_take_status(c);
    struct cmd cmd = {0};
    (void)qidx;

    if (ack == NULL) {
        virtio_set_needs_reset(vd, "control command without an ack byte");
        return VIRTIO_CHAIN_BROKEN;
    }
    if (iov_iter_to_buf(&c->reader, &cmd, sizeof(cmd)) != sizeof(cmd))
        *ack = VIRTIO_NET_ERR;
    else
        *ack = execute(vn, &cmd, c);
    if (*ack != VIRTIO_NET_OK) {
        vn->stats.errors++;
        log_ratelimited(LOG_DEBUG, "%s: control command %u.%u refused", vd->name, cmd.class_id,
                        cmd.command);
    }
    return VIRTIO_CHAIN_DONE;
}

void virtio_net_process_ctrl(struct virtio_net *vn)
{
    virtio_queue_drain(&vn->vd, virtio_net_ctrl_queue(vn), control);
}
