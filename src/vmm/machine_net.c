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
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/log.h"

#include "dev/virtio/virtio_net.h"
#include "dev/virtio/virtio_pci.h"
#include "net/net.h"

void machine_set_nics(struct machine *m, struct net_backend *const *nics, unsigned n)
{
    m->nic_be = nics;
    m->nnic_be = n;
}

#define NET_ROM_MAX_BYTES (1u << 20) /* iPXE's ROMs are 64 to 256 KiB */

bool machine_boots_from_net(const struct machine *m)
{
    for (unsigned i = 0; i < m->opts->nboot; i++)
        if (m->opts->boot[i] == VMM_BOOT_NET)
            return true;
    return false;
}

/* Reads iPXE's ROM while opens are allowed (a reboot gets it from the descriptor cache). */
int machine_read_net_rom(struct machine *m, struct error *err)
{
    const char *path = VMM_IPXE_VIRTIO_PATH;
    ssize_t n = -1;
    int fd = fdcache_open(path, O_RDONLY);
    if (fd < 0)
        return error_set(err, fd, "--boot net: the network boot ROM %s: %s (Debian's ipxe-qemu)",
                         path, strerror(-fd));
    m->net_rom = malloc(NET_ROM_MAX_BYTES);
    if (m->net_rom != NULL)
        n = pread(fd, m->net_rom, NET_ROM_MAX_BYTES, 0);
    close(fd);
    if (n < 512 || n == NET_ROM_MAX_BYTES) {
        machine_free_net_rom(m);
        return error_set(err, -EINVAL, "--boot net: %s is not an option ROM of 512 B to 1 MiB",
                         path);
    }
    m->net_rom_bytes = (size_t)n;
    return 0;
}

void machine_free_net_rom(struct machine *m)
{
    free(m->net_rom);
    m->net_rom = NULL;
    m->net_rom_bytes = 0;
}

/* The boot ROM of adapter (d), freshly plugged, when the boot order names the network. */
int machine_net_add_rom(struct machine *m, struct machine_vdev *d)
{
    if (m->net_rom == NULL)
        return 0;
    return pci_dev_set_rom(&d->vpci->pci, m->net_rom, m->net_rom_bytes);
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
