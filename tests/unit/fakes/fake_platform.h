/* SPDX-License-Identifier: MIT */
/*
 * A fake struct platform_ops for unit tests: records interrupt line levels (and how many
 * rising edges each line saw), MSIs, the last MSI routing table, ioeventfd (de)assignments, the
 * irqfd of one eventfd at a time and
 * poweroff/reset/exit requests, so that tests can assert what a device asked of the machine.
 * Thread-safe (one mutex), so it also works with devices driven from several threads.
 */
#ifndef BAREIRON_TESTS_FAKE_PLATFORM_H
#define BAREIRON_TESTS_FAKE_PLATFORM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"

#define FAKE_PLATFORM_GSIS 64
#define FAKE_PLATFORM_MAX_MSIS 256
#define FAKE_PLATFORM_MAX_IOEVENTFDS 64
#define FAKE_PLATFORM_MAX_ROUTES 64

struct fake_msi {
    uint64_t addr;
    uint32_t data;
};

struct fake_ioeventfd {
    uint64_t addr;
    unsigned len;
    bool is_pio;
    int fd;
};

struct fake_platform {
    struct platform plat; /* pass &fp->plat to the device under test */
    pthread_mutex_t lock;
    bool irq_level[FAKE_PLATFORM_GSIS];
    unsigned irq_raises[FAKE_PLATFORM_GSIS]; /* low->high transitions */
    unsigned irq_calls[FAKE_PLATFORM_GSIS];  /* set_irq calls, any level */
    struct fake_msi msis[FAKE_PLATFORM_MAX_MSIS];
    unsigned n_msis;     /* total sent; only the first FAKE_PLATFORM_MAX_MSIS are stored */
    int send_msi_result; /* what send_msi returns (0 by default) */
    struct platform_msi_route routes[FAKE_PLATFORM_MAX_ROUTES]; /* the last set_msi_routes */
    unsigned n_routes;
    unsigned n_route_updates;                                       /* set_msi_routes calls */
    struct fake_ioeventfd ioeventfds[FAKE_PLATFORM_MAX_IOEVENTFDS]; /* currently assigned */
    unsigned n_ioeventfds;
    int ioeventfd_result; /* what ioeventfd returns (0 by default) */
    /* irqfd_msi: the eventfd routed now (-1: none) and its message; assignments made */
    int irqfd_fd;
    uint64_t irqfd_addr;
    uint32_t irqfd_data;
    unsigned n_irqfd_assigns;
    unsigned n_poweroff;
    unsigned n_reset;
    unsigned n_exit;
    int last_exit_code;
};

/* Initializes (fp) with everything zero and fp->plat pointing at the fake ops. */
void fake_platform_init(struct fake_platform *fp);
/* Destroys the mutex of (fp). */
void fake_platform_fini(struct fake_platform *fp);
/* Forgets the recorded MSIs, edge counts and requests (levels stay). */
void fake_platform_clear(struct fake_platform *fp);
/* Current level of (gsi) (false for out-of-range gsi). */
bool fake_platform_irq(struct fake_platform *fp, uint32_t gsi);

#endif
