/* SPDX-License-Identifier: MIT */
/*
 * `bareiron console`: attaches the terminal to a running VM's serial console, the unix socket
 * run/console.sock that the monitor serves (--serial unix:console.sock). The terminal is put
 * in raw mode; Ctrl-A x detaches (the VM keeps running), Ctrl-A Ctrl-A sends one Ctrl-A.
 * With a non-terminal stdin, end of input detaches once the console has been quiet for
 * half a second. The monitor sends the output it kept while nobody was attached first, and
 * refuses a second client (reported with status 4).
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "mgr/api.h"
#include "mgr/control_server.h"
#include "mgr/proc.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */

static int connect_console(const struct store *st, const char *name)
{
    char path[PATH_MAX];
    struct sockaddr_un sa;
    int fd, dirfd, ret;
    if (store_vm_path(st, name, "run/console.sock", path, sizeof(path)) < 0 ||
        api_unix_addr(path, &sa, &dirfd) < 0)
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ret = fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : fd;
    if (ret < 0 && fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    return ret;
}

/* Filters keyboard input for the escape sequence. Returns 1 to detach, 0 or -errno. */
static int from_keyboard(int sock, const char *in, size_t n, bool *is_escaped)
{
    char out[512];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (*is_escaped) {
            *is_escaped = false;
            if (c == 'x' || c == 'X')
                return 1;
            if (c != ESCAPE_CHAR)
                continue; /* unknown escape: dropped */
        } else if (c == ESCAPE_CHAR) {
            *is_escaped = true;
            continue;
        }
        out[m++] = c;
    }
    return send_full(sock, out, m);
}

/* How long output is still relayed after the end of a non-terminal stdin, so that
 * "echo cmd | bareiron console vm" shows the answer. */
#define DRAIN_MS 500

/*
 * The monitor refuses a second client by sending CONTROL_CONSOLE_BUSY and hanging up. The
 * first bytes of a connection are held back while they match that line, so a refusal is
 * reported as such instead of being printed as console output.
 */
struct busy_check {
    char held[sizeof(CONTROL_CONSOLE_BUSY)];
    size_t nheld;
    bool is_done; /* the connection is not a refusal: write straight through */
};

/* Not a refusal: writes what was held back. Returns 0 or -errno. */
static int release_held(struct busy_check *b)
{
    if (b->is_done)
        return 0;
    b->is_done = true;
    return write_full(1, b->held, b->nheld);
}

/* Writes console output (buf, n) to stdout, or holds it back (see struct busy_check). */
static int to_terminal(struct busy_check *b, const char *buf, size_t n)
{
    size_t len = strlen(CONTROL_CONSOLE_BUSY);
    int ret;
    if (!b->is_done && b->nheld + n <= len &&
        memcmp(&CONTROL_CONSOLE_BUSY[b->nheld], buf, n) == 0) {
        memcpy(b->held + b->nheld, buf, n);
        b->nheld += n;
        return 0;
    }
    ret = release_held(b);
    return ret < 0 ? ret : write_full(1, buf, n);
}

/* The monitor hung up: -EBUSY if it was a refusal, else -EPIPE (held bytes written). */
static int on_hangup(struct busy_check *b)
{
    int ret;
    if (!b->is_done && b->nheld == strlen(CONTROL_CONSOLE_BUSY))
        return -EBUSY;
    ret = release_held(b);
    return ret < 0 ? ret : -EPIPE;
}

/* How long a new connection waits for the monitor's refusal before saying "connected". */
#define REFUSAL_MS 100

/*
 * Whether the monitor refused this connection: it sends CONTROL_CONSOLE_BUSY right after
 * accepting a second client, so a short look (without consuming) tells before anything is
 * printed. A quiet console just costs the wait; a refusal that comes later is still caught by
 * the relay's busy_check.
 */
static bool is_refused(int sock)
{
    char buf[sizeof(CONTROL_CONSOLE_BUSY)];
    size_t len = strlen(CONTROL_CONSOLE_BUSY);
    struct pollfd p = {.fd = sock, .events = POLLIN};
    ssize_t n;
    if (poll(&p, 1, REFUSAL_MS) <= 0)
        return false;
    n = recv(sock, buf, len, MSG_PEEK);
    return n == (ssize_t)len && memcmp(buf, CONTROL_CONSOLE_BUSY, len) == 0;
}

/* Relays until detach, end of input (plus DRAIN_MS of quiet) or the monitor closing. */
static int relay(int sock, bool is_tty)
{
    bool is_escaped = false, is_input_done = false;
    struct busy_check busy = {0};
    char buf[512];
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        ssize_t n;
        int r = poll(p, is_input_done ? 1 : 2, is_input_done ? DRAIN_MS : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0) /* drained */
            return release_held(&busy);
        if (p[0].revents) {
            n = recv(sock, buf, sizeof(buf), 0);
            if (n <= 0)
                return on_hangup(&busy);
            r = to_terminal(&busy, buf, (size_t)n);
            if (r < 0)
                return r;
        }
        if (!is_input_done && p[1].revents) {
            n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                is_input_done = true;
                continue;
            }
            r = is_tty ? from_keyboard(sock, buf, (size_t)n, &is_escaped)
                       : send_full(sock, buf, (size_t)n);
            if (r != 0)
                return r > 0 ? 0 : r;
        }
    }
}

int vm_console_attach(const struct store *st, const char *name, struct error *err)
{
    struct termios saved, raw;
    bool is_tty = isatty(0) && tcgetattr(0, &saved) == 0;
    int sock = connect_console(st, name), ret;
    if (sock < 0) /* no socket or nobody listening: the VM is not running (status 4) */
        return error_set(err, sock == -ENOENT || sock == -ECONNREFUSED ? -EBUSY : -EIO,
                         "VM '%s' has no console to attach to (is it running with a console "
                         "serial port?): %s",
                         name, strerror(-sock));
    if (is_refused(sock)) {
        close(sock);
        return error_set(err, -EBUSY,
                         "the console of '%s' is in use by another client (one at a time)", name);
    }
    fprintf(stderr, "bareiron: connected to the console of '%s' (Ctrl-A x detaches)\r\n", name);
    if (is_tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
    }
    ret = relay(sock, is_tty);
    if (is_tty)
        tcsetattr(0, TCSANOW, &saved);
    close(sock);
    if (ret == -EPIPE) {
        fprintf(stderr, "\r\nbareiron: the console of '%s' closed (the VM stopped?)\n", name);
        return 0;
    }
    if (ret == -EBUSY)
        return error_set(err, -EBUSY,
                         "the console of '%s' is in use by another client (one at a time)", name);
    fprintf(stderr, "\r\nbareiron: detached from '%s' (it keeps running)\n", name);
    return ret < 0 ? cli_reported(err, -EIO) : 0;
}

int cmd_console(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    int ret = vm_begin(argc, argv, VM_ARG_NAME, &a, &st, err);
    if (ret < 0 || a.is_help || (ret = vm_check_name(a.name, err)) < 0)
        return ret;
    if ((ret = vm_check_running(&st, a.name, "its console", err)) < 0)
        return ret;
    return vm_console_attach(&st, a.name, err);
}
