/* SPDX-License-Identifier: MIT */
/*
 * The serial console backend of the monitor (--serial stdio|none|file:PATH|unix:PATH). Guest
 * output (from the UART, on vCPU threads) goes to stdout, a file or the connected unix-socket
 * client; input from stdin or the client goes to the UART's receive FIFO, with flow control
 * (reading stops while the FIFO is full and resumes when the UART reports room).
 *
 * On stdio the terminal is put in raw mode when stdin is a tty and restored on every exit path
 * (console_destroy, atexit, and fatal signals). Keys follow QEMU's mux: Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h prints help.
 *
 * On unix:PATH the last CONSOLE_HISTORY_BYTES of output are kept in a ring whether a client is
 * attached or not; a client that attaches gets that history first, then live output. A client
 * whose socket is full is sent the rest when it has room (EPOLLOUT); one that falls a whole ring
 * behind loses the oldest bytes. One client at a time: a second one is sent the line
 * CONTROL_CONSOLE_BUSY and closed. console_set_log() adds a log file that gets all output, on
 * any backend, moved to PATH.old whenever it would pass its size cap.
 *
 * Threads: console_output and console_room may be called from any thread; everything else runs
 * on the event-loop thread.
 */
#ifndef BAREIRON_VMM_CONSOLE_H
#define BAREIRON_VMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "mgr/control_server.h"
#include "vmm/options.h"

/* How much output a unix console keeps for the next client (the last bytes). */
#define CONSOLE_HISTORY_BYTES (64 * 1024)

struct evloop;
struct console;

/* Hands (len) input bytes to the guest; returns how many were taken (0 when full). */
typedef size_t (*console_input_fn)(void *opaque, const uint8_t *buf, size_t len);
/* Ctrl-A x was typed. */
typedef void (*console_quit_fn)(void *opaque);

/*
 * Opens the backend (kind, path) on (loop). Returns 0 and (*out), or -errno with (err) set
 * (file cannot be created, socket cannot be bound).
 */
MUST_CHECK int console_create(struct evloop *loop, enum vmm_serial kind, const char *path,
                              struct console **out, struct error *err);
/*
 * Also writes all output to the file (path), appending; when it would grow past (max_bytes), it
 * is renamed to "(path).old" (replacing the previous one) and a new file is started, so the two
 * together hold at most 2 * (max_bytes). Call once, before output starts. Returns 0 or -errno
 * with (err) set (file cannot be opened, max_bytes 0).
 */
MUST_CHECK int console_set_log(struct console *c, const char *path, uint64_t max_bytes,
                               struct error *err);

/* Restores the terminal, closes fds and frees (c). NULL allowed. */
void console_destroy(struct console *c);

/* Sets where input goes (NULL: input is held back) and who handles Ctrl-A x. */
void console_set_input(struct console *c, console_input_fn fn, void *opaque);
void console_set_quit(struct console *c, console_quit_fn fn, void *opaque);

/* Writes guest output. Thread-safe; may block on a slow stdout/file. */
void console_output(struct console *c, const uint8_t *buf, size_t len);
/* The guest has room for input again. Thread-safe. */
void console_room(struct console *c);

/* Restores the terminal if console_create changed it. Async-signal-safe. */
void console_restore_terminal(void);

#endif
