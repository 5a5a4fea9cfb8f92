/* SPDX-License-Identifier: MIT */
/*
 * Fake platform_ops for unit tests (see fake_platform.h): everything a device asks of the
 * machine is recorded under one mutex.
 */
#include "fake_platform.h"

#include <errno.h>
#include <string.h>

static void fake_set_irq(void *opaque, uint32_t gsi, bool level)
{
    struct fake_platform *fp = opaque;
    if (gsi >= FAKE_PLATFORM_GSIS)
        return;
    pthread_mutex_lock(&fp->lock);
    if (level && !fp->irq_level[gsi])
        fp->irq_raises[gsi]++;
    fp->irq_level[gsi] = level;
    fp->irq_calls[gsi]++;
    pthread_mutex_unlock(&fp->lock);
}

static int fake_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct fake_platform *fp = opaque;
    int ret;
    pthread_mutex_lock(&fp->lock);
    ret = fp->send_msi_result;
    if (ret == 0) {
        if (fp->n_msis < FAKE_PLATFORM_MAX_MSIS)
            fp->msis[fp->n_msis] = (struct fake_msi){addr, data};
        fp->n_msis++;
    }
    pthread_mutex_unlock(&fp->lock);
    return ret;
}

static int fake_set_msi_routes(void *opaque, const struct platform_msi_route *routes, unsigned n)
{
    struct fake_platform *fp = opaque;
    if (n > FAKE_PLATFORM_MAX_ROUTES)
        return -EINVAL;
    pthread_mutex_lock(&fp->lock);
    memcpy(fp->routes, routes, n * sizeof(routes[0]));
    fp->n_routes = n;
    fp->n_route_updates++;
    pthread_mutex_unlock(&fp->lock);
    return 0;
}

static int fake_irqfd_msi(void *opaque, int fd, uint64_t addr, uint32_t data, bool is_assign)
{
    struct fake_platform *fp = opaque;
    pthread_mutex_lock(&fp->lock);
    if (is_assign) {
        fp->irqfd_fd = fd;
        fp->irqfd_addr = addr;
        fp->irqfd_data = data;
        fp->n_irqfd_assigns++;
    } else if (fp->irqfd_fd == fd) {
        fp->irqfd_fd = -1;
    }
    pthread_mutex_unlock(&fp->lock);
    return 0;
}

static int fake_ioeventfd(void *opaque, uint64_t addr, unsigned len, bool is_pio, int fd,
                          bool is_assign)
{
    struct fake_platform *fp = opaque;
    int ret;
    pthread_mutex_lock(&fp->lock);
    ret = fp->ioeventfd_result;
    if (ret != 0)
        goto out;
    if (is_assign) {
        if (fp->n_ioeventfds == FAKE_PLATFORM_MAX_IOEVENTFDS) {
            ret = -ENOSPC;
            goto out;
        }
        fp->ioeventfds[fp->n_ioeventfds++] = (struct fake_ioeventfd){addr, len, is_pio, fd};
        goto out;
    }
    ret = -ENOENT;
    for (unsigned i = 0; i < fp->n_ioeventfds; i++) {
        struct fake_ioeventfd *e = &fp->ioeventfds[i];
        if (e->addr == addr && e->len == len && e->is_pio == is_pio && e->fd == fd) {
            *e = fp->ioeventfds[--fp->n_ioeventfds];
            ret = 0;
            break;
        }
    }
out:
    pthread_mutex_unlock(&fp->lock);
    return ret;
}

static void fake_poweroff(void *opaque)
{
    struct fake_platform *fp = opaque;
    pthread_mutex_lock(&fp->lock);
    fp->n_poweroff++;
    pthread_mutex_unlock(&fp->lock);
}

static void fake_reset(void *opaque)
{
    struct fake_platform *fp = opaque;
    pthread_mutex_lock(&fp->lock);
    fp->n_reset++;
    pthread_mutex_unlock(&fp->lock);
}

static void fake_exit(void *opaque, int code)
{
    struct fake_platform *fp = opaque;
    pthread_mutex_lock(&fp->lock);
    fp->n_exit++;
    fp->last_exit_code = code;
    pthread_mutex_unlock(&fp->lock);
}

static const struct platform_ops fake_ops = {
    .set_irq = fake_set_irq,
    .send_msi = fake_send_msi,
    .set_msi_routes = fake_set_msi_routes,
    .ioeventfd = fake_ioeventfd,
    .irqfd_msi = fake_irqfd_msi,
    .request_poweroff = fake_poweroff,
    .request_reset = fake_reset,
    .request_exit = fake_exit,
};

void fake_platform_init(struct fake_platform *fp)
{
    memset(fp, 0, sizeof(*fp));
    pthread_mutex_init(&fp->lock, NULL);
    fp->plat.ops = &fake_ops;
    fp->plat.opaque = fp;
    fp->irqfd_fd = -1;
}

void fake_platform_fini(struct fake_platform *fp)
{
    pthread_mutex_destroy(&fp->lock);
}

void fake_platform_clear(struct fake_platform *fp)
{
    pthread_mutex_lock(&fp->lock);
    memset(fp->irq_raises, 0, sizeof(fp->irq_raises));
    memset(fp->irq_calls, 0, sizeof(fp->irq_calls));
    fp->n_msis = 0;
    fp->n_poweroff = 0;
    fp->n_reset = 0;
    fp->n_exit = 0;
    fp->last_exit_code = 0;
    pthread_mutex_unlock(&fp->lock);
}

bool fake_platform_irq(struct fake_platform *fp, uint32_t gsi)
{
    bool level;
    if (gsi >= FAKE_PLATFORM_GSIS)
        return false;
    pthread_mutex_lock(&fp->lock);
    level = fp->irq_level[gsi];
    pthread_mutex_unlock(&fp->lock);
    return level;
}
