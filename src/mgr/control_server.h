/* SPDX-License-Identifier: MIT */
/*
 * The per-VM control socket server that runs inside `bareiron-vmm` on the monitor's event loop
 * (docs/control-api.md). It listens on a unix SOCK_STREAM socket (mode 0600),
 * reads newline-delimited JSON requests {"id":N,"cmd":"...","args":{}} of at most 64 KiB,
 * and answers each with {"id":N,"ok":true,"result":{}} or {"id":N,"ok":false,"error":{...}}.
 * Malformed input, unknown commands and wrong argument types get typed errors; nothing a
 * client sends can crash the monitor. The server reaches the machine only through the
 * struct control_ops the monitor provides, so it is unit-tested with a fake machine. It
 * depends on base and jansson only (the codec is mgr/api.c, linked into control_server_lib).
 */
#ifndef BAREIRON_MGR_CONTROL_SERVER_H
#define BAREIRON_MGR_CONTROL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

struct evloop;
struct control_server;

/* The machine's run state as the monitor sees it (reported by query-state). */
enum control_run_state {
    CONTROL_RUN_STARTING = 0, /* building the machine, vCPUs not yet running */
    CONTROL_RUN_RUNNING,      /* vCPUs running */
    CONTROL_RUN_PAUSED,       /* vCPUs paused (pause), resume continues */
    CONTROL_RUN_STOPPING,     /* the guest is shutting down (power button pressed) or exiting */
};

/* A counter the monitor does not track: the server leaves it out of the stats reply. */
#define CONTROL_STAT_UNKNOWN UINT64_MAX

#define CONTROL_MAX_DISKS 16

/* Counters of one disk (the virtio-blk device's count of what the guest asked, since the
 * machine was built: a reset starts them again). */
struct control_disk_stats {
    const char *path; /* the image; copied by the server before the op's caller returns */
    uint64_t read_ops;
    uint64_t write_ops;
    uint64_t read_bytes;
    uint64_t write_bytes;
    uint64_t flush_ops;
    uint64_t discard_ops; /* discard and write-zeroes */
    uint64_t errors;      /* requests answered with an error */
    uint64_t in_flight;   /* requests being served right now */
};

/* Counters for the `stats` command; set unknown ones to CONTROL_STAT_UNKNOWN. */
struct control_stats {
    uint64_t uptime_ns;       /* since the machine was built */
    uint64_t vcpu_count;      /* number of vCPUs */
    uint64_t vcpu_time_ns;    /* CPU time used by all vCPU threads together */
    uint64_t exits;           /* KVM_RUN exits, all vCPUs, all reasons */
    uint64_t exits_io;        /* KVM_EXIT_IO */
    uint64_t exits_mmio;      /* KVM_EXIT_MMIO */
    uint64_t rss_bytes;       /* resident set size of the monitor process */
    uint64_t guest_mem_bytes; /* guest RAM size */
    /* --restore-copy: guest memory moved out of the state file so far, in all, and 1 once
     * the file is let go (docs/vmm.md "Saved state") */
    uint64_t restore_copy_bytes, restore_copy_total_bytes, restore_copy_done;
    size_t disk_count; /* entries of disks[] (the server sets 0 before the op) */
    struct control_disk_stats disks[CONTROL_MAX_DISKS];
};

/* What the monitor runs, for `query-config`. Strings may be NULL; they are copied by the
 * server before the op returns control. */
struct control_config {
    const char *name;
    uint32_t cpus;
    uint64_t memory_bytes;
    const char *kernel;
    const char *initrd;
    const char *cmdline;
    const char *cdrom;
    const char *floppy; /* the disk in the floppy drive */
    const char *uuid;   /* the SMBIOS system UUID (--uuid), NULL when none */
    size_t disk_count;
    const char *disks[CONTROL_MAX_DISKS]; /* as given to --disk: "PATH[,format=..][,...]" */
};

/*
 * How the server reaches the machine. Every op runs on the event-loop thread, with (opaque)
 * from control_server_create(). Ops should return quickly; they may wait briefly (for
 * example until the vCPUs have acknowledged a pause). Ops that fail return a negative errno
 * and may fill (err) with a message for the client; the errno becomes the reply's error code
 * ("EBUSY" for "already paused", "EINVAL" for a wrong-state request and so on). Any op left
 * NULL answers "ENOTSUP".
 *
 * The server writes the reply before it returns to the loop, so poweroff/reset may schedule
 * the machine's exit or reset (e.g. through evloop_call or platform request_poweroff) and the
 * client still gets its reply; they must not exit() synchronously.
 */
#define CONTROL_MAX_NICS 4
#define CONTROL_MAX_HOSTFWD 32

/* One network adapter (query-net). The strings must stay valid until the op's caller returns. */
struct control_nic_stats {
    unsigned index;
    const char *type; /* "nat", "tap" or "none" */
    char mac[18];     /* "52:54:00:12:34:56" */
    bool link;
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t rx_dropped, tx_dropped, errors;
    unsigned nhostfwd;
    const char *hostfwd[CONTROL_MAX_HOSTFWD]; /* "tcp:127.0.0.1:2222-:22" */
};

/* Longest "keys" and "text" of send-key. */
#define CONTROL_INPUT_MAX_KEYS 255
#define CONTROL_INPUT_MAX_TEXT 1024

/* An absolute pointer event (input-pointer): (x, y) in a (width x height) screen, buttons as
 * RFB's mask (bit 0 left, 1 middle, 2 right, 3 wheel up, 4 wheel down). */
struct control_pointer {
    uint32_t x, y, width, height, buttons;
};

/* A media-change request (mgr/control_media.h), checked by the server. */
struct control_media_change {
    const char *drive; /* "floppy" or "cdrom" */
    const char *path;  /* the new medium, NULL to eject */
    bool is_readonly;  /* write-protect the new medium */
    int fd;            /* (path) opened by the client and sent along, -1: none; the server
                          closes it after the op (which duplicates it to keep it) */
};

/* The display (query-display). Strings may be NULL and must stay valid until the op's caller
 * returns. */
struct control_display {
    const char *adapter; /* "std", "bochs-display" */
    const char *mode;    /* "text", "vga", "vbe" or "off" */
    unsigned width, height, bpp;
    uint64_t vram_bytes;
    const char *vnc; /* "unix:PATH" or "HOST:PORT", NULL without a VNC server */
    unsigned viewers;
    uint64_t bytes_sent; /* to VNC viewers since the monitor started */
};

struct control_ops {
    /* Returns the current run state. */
    enum control_run_state (*query_state)(void *opaque);
    /* Fills (out); the pointers in it must stay valid until the op's caller returns. */
    int (*query_config)(void *opaque, struct control_config *out, struct error *err);
    /* Presses the ACPI power button (the guest decides to shut down; an SCI is raised). */
    int (*power_button)(void *opaque, struct error *err);
    /* Hard power-off: the monitor exits with status 0 soon after the reply. */
    int (*poweroff)(void *opaque, struct error *err);
    /* Hard reset of the machine (like the reset button). */
    int (*reset)(void *opaque, struct error *err);
    /* Pauses all vCPUs; returns -EBUSY if already paused. */
    int (*pause)(void *opaque, struct error *err);
    /* Resumes paused vCPUs; returns -EBUSY if not paused. */
    int (*resume)(void *opaque, struct error *err);
    /* Fills (out) (pre-set to CONTROL_STAT_UNKNOWN everywhere by the server, disk_count 0). */
    int (*stats)(void *opaque, struct control_stats *out, struct error *err);
    /* The network ops: NULL in a monitor without network adapters (the server answers
     * ENOTSUP). Each returns 0 or -errno with (err) set: -ENODEV for no such adapter. */
    /* Fills out[0..*n), at most (max) adapters. */
    int (*query_net)(void *opaque, struct control_nic_stats *out, unsigned max, unsigned *n,
                     struct error *err);
    /* Adds/removes a host->guest forward (rule as --nic nat,hostfwd=) on NAT adapter (nic). */
    int (*net_hostfwd_add)(void *opaque, unsigned nic, const char *rule, struct error *err);
    int (*net_hostfwd_remove)(void *opaque, unsigned nic, const char *rule, struct error *err);
    /* Sets adapter (nic)'s link up or down (the guest sees VIRTIO_NET_S_LINK_UP change). */
    int (*net_link)(void *opaque, unsigned nic, bool up, struct error *err);
    /* Pauses the VM, writes its state (docs/vmm.md "Saved state") to (path), or when (path) is
     * NULL to (fd), a file the client created and passed with the request (the op owns and
     * closes it), and once it is safely on disk makes the monitor exit with status 0 soon
     * after the reply. On failure the VM runs on as before. (is_zstd): guest memory
     * compressed ("compress": "zstd"); (is_live): memory copied while the guest runs, which
     * is paused only at the end ("live": true). */
    int (*save)(void *opaque, const char *path, int fd, bool is_zstd, bool is_live,
                struct error *err);
    /* Input (docs/control-api.md "Input"). Presses and releases keys: (keys) names a
     * combination ("ctrl-alt-delete"; several separated by spaces), or (text) is typed
     * character by character; exactly one is non-NULL. Returns 0, or -EINVAL (an unknown key
     * or character, named in (err)), -ENOSPC (too much typed input waiting), -EAGAIN. */
    int (*send_key)(void *opaque, const char *keys, const char *text, struct error *err);
    /* Moves the pointer (checked: width, height >= 1, the point inside). */
    int (*input_pointer)(void *opaque, const struct control_pointer *p, struct error *err);
    /* Changes the medium of a removable drive (or ejects it); the guest sees the change.
     * -ENODEV when the VM has no such drive, -ENOTSUP for a kind of drive the monitor does not
     * implement. */
    int (*media_change)(void *opaque, const struct control_media_change *req, struct error *err);
    /* The display ops (NULL: ENOTSUP). -ENOENT: the VM has no display adapter. */
    /* Writes the screen as a PNG file at (path) (relative to the monitor's directory). */
    int (*screenshot_png)(void *opaque, const char *path, struct error *err);
    /* Writes the text screen to (buf) ((size) bytes, lines ending in '\n'); returns its length
     * and the screen's (rows, cols), or -ENOTSUP when the screen is not in a text mode. */
    int (*screenshot_text)(void *opaque, char *buf, size_t size, unsigned *rows, unsigned *cols,
                           struct error *err);
    /* Fills (out). */
    int (*query_display)(void *opaque, struct control_display *out, struct error *err);
    /* The screen as a PNG held by the monitor: (offset) 0 encodes the screen now, a later
     * offset reads on in the image the last call encoded. Sets (*data) to the bytes from
     * (offset) (valid until the next call), (*len) to their number, (*total) to the size. */
    int (*screenshot_data)(void *opaque, uint64_t offset, const uint8_t **data, size_t *len,
                           uint64_t *total, struct error *err);
};

/* Longest state-file path accepted by the save command. */
#define CONTROL_MAX_PATH 4095

/*
 * The monitor's console socket (--serial unix:PATH) serves one client at a time; a second one
 * is sent this line and closed (`bareiron console` recognises it). Kept here because this
 * header is what the monitor and the CLI share.
 */
#define CONTROL_CONSOLE_BUSY "bareiron-vmm: the console is in use by another client\r\n"

/* Protocol version reported by `hello`/`version`; bumped on incompatible changes. */
#define CONTROL_PROTOCOL_VERSION 1
/* Maximum size of one request or reply line, newline included. */
#define CONTROL_MAX_MESSAGE_BYTES (64 * 1024)
/* Maximum number of simultaneously connected clients; more are refused (closed at once). */
#define CONTROL_MAX_CLIENTS 16

/*
 * Creates a server on (loop) that listens on the unix socket (path) (a stale socket file
 * there is removed; the socket is made mode 0600), answers with (ops)/(opaque) and tags
 * `hello` replies with (vm_name) (may be NULL). (path) may be NULL to create a server with no
 * listener (tests then use control_server_add_client). Call on the loop thread or before
 * the loop runs. Returns 0 and the server in (*out), or a negative errno with (err) filled.
 */
MUST_CHECK int control_server_create(struct evloop *loop, const char *path, const char *vm_name,
                                     const struct control_ops *ops, void *opaque,
                                     struct control_server **out, struct error *err);

/*
 * Adopts an already connected stream socket (fd) as a client (made non-blocking, closed by
 * the server when the peer hangs up or on destroy). Used by tests over a socketpair.
 * Returns 0 or a negative errno (fd is closed on failure too).
 */
MUST_CHECK int control_server_add_client(struct control_server *srv, int fd);

/* Number of connected clients (for tests). */
size_t control_server_client_count(const struct control_server *srv);

/*
 * Closes all clients and the listener, removes the socket file and frees (srv). NULL is
 * allowed. Call on the loop thread or after the loop has stopped.
 */
void control_server_destroy(struct control_server *srv);

#endif
