/* SPDX-License-Identifier: MIT */
/*
 * The generic part of net/net.h: the administrative link state, closing, and the "none" backend
 * (an adapter without a cable: the guest sees its link down and every frame it sends is
 * dropped).
 */
#include "net/net.h"

#include <errno.h>
#include <stdlib.h>

void net_backend_set_link(struct net_backend *be, bool up)
{
    if (be->is_admin_up == up)
        return;
    be->is_admin_up = up;
    if (be->link_changed != NULL)
        be->link_changed(be->opaque);
    if (up)
        net_backend_rx_ready(be);
}

void net_backend_close(struct net_backend *be)
{
    if (be != NULL)
        be->ops->close(be);
}

static int none_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                     unsigned cnt)
{
    (void)hdr;
    (void)iov;
    (void)cnt;
    be->stats.tx_dropped++;
    return 0;
}

static void none_close(struct net_backend *be)
{
    free(be);
}

static const struct net_backend_ops none_ops = {
    .send = none_send,
    .close = none_close,
};

int net_none_create(struct net_backend **out)
{
    struct net_backend *be = calloc(1, sizeof(*be));
    if (be == NULL)
        return -ENOMEM;
    be->ops = &none_ops;
    be->type = "none";
    be->is_admin_up = true;
    *out = be;
    return 0;
}
