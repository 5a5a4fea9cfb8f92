/* SPDX-License-Identifier: MIT */
/*
 * The network adapters of a bareiron PC (vmm/machine_internal.h): the virtio-net kind of
 * machine_vdev_kinds[], one PCI function per --nic (dev/virtio/virtio_net.h, virtio 1.2 §5.1),
 * each over its backend (net/net.h), which main.c creates before the first machine and keeps
 * across reboots: a machine's device attaches to the backend when it is created and detaches
 * when it is destroyed. Saved state: the transport's and core's, then the adapter's own
 * (dev/virtio/virtio_net.h); vhost-net is stopped first so the rings' indices are the device's.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>

#include "dev/virtio/virtio_net.h"
#include "dev/virtio/virtio_pci.h"
#include "net/net.h"

void machine_set_nics(struct machine *m, struct net_backend *const *nics, unsigned n)
{
    m->nic_be = nics;
    m->nnic_be = n;
}

unsigned machine_net_count(const struct machine *m)
{
    return m->opts->nnics;
}

int machine_net_create(struct machine *m, struct machine_vdev *d)
{
    struct virtio_net *vn;
    int ret;

    if (d->index >= m->nnic_be || m->nic_be[d->index] == NULL)
        return -EINVAL; /* main.c gives every adapter its backend */
    ret = virtio_net_create(m->opts->nics[d->index].mac, m->nic_be[d->index], m->gm, &vn);
    if (ret < 0)
        return ret;
    d->dev = vn;
    d->vd = &vn->vd;
    return 0;
}

void machine_net_destroy(struct machine *m UNUSED, struct machine_vdev *d)
{
    virtio_net_destroy(d->dev); /* detaches it from its backend; NULL allowed */
}

const char *machine_vhost_user(const struct machine *m)
{
    for (unsigned i = 0; i < m->nvdevs; i++) {
        const struct machine_vdev *d = &m->vdevs[i];
        if (d->kind->create == machine_net_create && d->dev != NULL &&
            ((const struct virtio_net *)d->dev)->is_vhost)
            return "virtio-net";
    }
    return NULL;
}

const uint8_t *machine_nic_stats(struct machine *m, unsigned i, struct control_nic_stats *out)
{
    for (unsigned k = 0; k < m->nvdevs; k++) {
        const struct machine_vdev *d = &m->vdevs[k];
        struct virtio_net_stats st;
        struct virtio_net *vn = d->dev;

        if (d->kind->create != machine_net_create || d->index != i || vn == NULL)
            continue;
        virtio_net_get_stats(vn, &st);
        out->rx_packets = st.rx_packets;
        out->rx_bytes = st.rx_bytes;
        out->tx_packets = st.tx_packets;
        out->tx_bytes = st.tx_bytes;
        out->rx_dropped = st.rx_dropped;
        out->tx_dropped = st.tx_dropped;
        out->errors = st.errors;
        return vn->cfg.mac;
    }
    return m->opts->nics[i].mac;
}

int machine_save_vnet(struct machine *m UNUSED, struct machine_vdev *d, struct sf_buf *b)
{
    int ret = virtio_net_quiesce(d->dev);
    if (ret == 0)
        ret = virtio_pci_save(d->vpci, b);
    if (ret == 0)
        virtio_net_save(d->dev, b);
    return ret;
}

int machine_load_vnet(struct machine *m UNUSED, struct machine_vdev *d, struct sf_in *in)
{
    int ret = virtio_pci_load(d->vpci, in);
    if (ret == 0)
        ret = virtio_net_load(d->dev, in);
    if (ret == 0) {
        virtio_pci_resume(d->vpci);
        virtio_net_resume(d->dev);
    }
    return ret;
}
