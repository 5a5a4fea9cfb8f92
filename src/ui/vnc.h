/* SPDX-License-Identifier: MIT */
/*
 * The VNC server (RFB 3.8, RFC 6143) over libvncserver: one listening socket (TCP on the
 * address asked for, or a unix socket), at most (max_clients) viewers, VNC authentication with
 * a password when one is given. All libvncserver calls stay in ui/vnc.c.
 *
 * A thread of its own (started by ui_vnc_start, joined by ui_vnc_destroy) accepts viewers,
 * runs libvncserver's message processing and, while a viewer is connected, asks the source for
 * a refresh about 30 times a second; with no viewer it sleeps in poll. The source reports the
 * screen size and the changed rectangles through ui_vnc_resize and ui_vnc_damage, which copy
 * the pixels into the server's own framebuffer (so the source's frame is read only during its
 * refresh). Hostile viewers are bounded: connections over the cap are closed at once, and so
 * are those still in the handshake after UI_VNC_HANDSHAKE_MS; cut text is dropped (libvncserver
 * closes a viewer that announces more than 1 MiB); bad pixel formats and update requests are
 * libvncserver's to reject or clip.
 */
#ifndef BAREIRON_UI_VNC_H
#define BAREIRON_UI_VNC_H

#include <stdbool.h>
#include <stddef.h>

#include "base/compiler.h"
#include "base/error.h"
#include "ui/ui.h"

#define UI_VNC_MAX_CLIENTS 4
#define UI_VNC_REFRESH_MS 33
#define UI_VNC_HANDSHAKE_MS 10000 /* a viewer not past the RFB handshake by then is closed */

struct ui_vnc;

struct ui_vnc_config {
    const char *unix_path; /* a unix socket (mode 0600), or NULL for TCP */
    const char *host;      /* TCP: numeric address to bind ("127.0.0.1", "::1", "0.0.0.0") */
    unsigned port;         /* TCP port */
    const char *password;  /* VNC authentication (first 8 characters), or NULL: none */
    const char *name;      /* desktop name (the VM's --name), or NULL: "bareiron" */
};

struct ui_vnc_source_ops {
    /* On the VNC thread, about every UI_VNC_REFRESH_MS while a viewer is connected: refresh
     * the screen and report it with ui_vnc_resize / ui_vnc_damage. Must not block long. */
    void (*refresh)(void *opaque, struct ui_vnc *vnc);
};

/*
 * Listens as (cfg) says with a black 640x480 screen; viewers are served once ui_vnc_start
 * runs (a monitor entering its jail must stay single-threaded until then). Returns 0 and the
 * server in (*out), or -errno with (err) set (-ENOTSUP: built without libvncserver).
 */
MUST_CHECK int ui_vnc_create(const struct ui_vnc_config *cfg, struct ui_vnc **out,
                             struct error *err);
/* Starts the VNC thread. Returns 0 or -errno with (err) set. */
MUST_CHECK int ui_vnc_start(struct ui_vnc *vnc, struct error *err);
/* Stops and joins the thread, closes every viewer and the listener (removing a unix socket)
 * and frees (vnc). NULL is allowed. */
void ui_vnc_destroy(struct ui_vnc *vnc);

/* Connects the screen source (ops NULL: none, the screen stays as it was). Waits for a
 * refresh in progress to end, so after it returns the old source is no longer called. */
void ui_vnc_set_source(struct ui_vnc *vnc, const struct ui_vnc_source_ops *ops, void *opaque);
/* Connects the input receiver (ops NULL: viewers' keys and pointer are dropped). */
void ui_vnc_set_input(struct ui_vnc *vnc, const struct ui_input_ops *ops, void *opaque);

/* From refresh: makes the screen (width x height) (viewers that support it are told). */
void ui_vnc_resize(struct ui_vnc *vnc, unsigned width, unsigned height);
/* From refresh: copies rectangle (x, y, w, h) of (img) (same size as the screen) and marks it
 * for the viewers. Out-of-screen parts are clipped. */
void ui_vnc_damage(struct ui_vnc *vnc, const struct ui_image *img, unsigned x, unsigned y,
                   unsigned w, unsigned h);

/* Connected viewers (any thread). */
unsigned ui_vnc_client_count(struct ui_vnc *vnc);
/* Bytes sent to viewers so far (any thread; libvncserver's counters, summed). */
unsigned long long ui_vnc_bytes_sent(struct ui_vnc *vnc);

#endif
