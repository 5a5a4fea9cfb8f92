/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/console.h: stdio/file/unix serial backends, raw terminal handling
 * (termios(3), cfmakeraw) and QEMU-compatible Ctrl-A escapes (QEMU "Keys in the character
 * backend multiplexer").
 */
#define LOG_TAG "console"
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/evloop.h"
#include "base/log.h"
#include "base/util.h"

#define CTRL_A 0x01
#define PENDING_MAX 256

struct console {
    struct evloop *loop;
    enum vmm_serial kind;
    int in_fd;     /* stdin or the unix client, -1 when none */
    int listen_fd; /* unix: the listening socket */
    pthread_mutex_t out_lock;
    int out_fd; /* stdout, the file or the unix client; -1: discard */
    bool is_escape;
    bool is_reading; /* in_fd watched for EPOLLIN */
    bool is_parked;  /* in_fd hung up while pending was full: out of the loop until room */
    console_input_fn input_fn;
    void *input_opaque;
    console_quit_fn quit_fn;
    void *quit_opaque;
    uint8_t pending[PENDING_MAX]; /* input the guest has not taken yet */
    size_t npending;
    char *sock_path;
    /* unix: the output history (out_lock), replayed to each client that attaches */
    uint8_t *ring;       /* CONSOLE_HISTORY_BYTES */
    uint64_t ring_end;   /* bytes ever put in the ring */
    uint64_t sent;       /* of those, bytes the client has been sent */
    bool is_out_waiting; /* the client's socket was full: EPOLLOUT watched */
    bool is_client_gone; /* a send failed: stop sending until the hang-up is handled */
    /* --serial-log (out_lock): the file, PATH.old, its cap and its size */
    int log_fd;
    int log_old_fd;
    char *log_path;
    uint64_t log_max_bytes;
    uint64_t log_bytes;
};

static struct termios saved_tio;
static volatile sig_atomic_t has_saved_tio;

void console_restore_terminal(void)
{
    if (has_saved_tio) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        has_saved_tio = 0;
    }
}

static void fatal_signal(int sig)
{
    console_restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void make_raw(void)
{
    struct termios tio;
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
        return;
    has_saved_tio = 1;
    atexit(console_restore_terminal);
    for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
        signal(fatal[i], fatal_signal);
    tio = saved_tio;
    cfmakeraw(&tio);
    tio.c_oflag |= OPOST | ONLCR; /* keep "\n" -> "\r\n" for monitor messages */
    tcsetattr(STDIN_FILENO, TCSANOW, &tio);
}

static void on_input(void *opaque, uint32_t events);

/* The events in_fd is watched for: input unless held back, output room while waiting. */
static uint32_t watch_events(const struct console *c)
{
    return (c->is_reading ? EPOLLIN : 0u) | (c->is_out_waiting ? EPOLLOUT : 0u);
}

/* Sends the client what it has not had of the history; watches EPOLLOUT when its socket is
 * full. Any thread, out_lock held. */
static void flush_client(struct console *c)
{
    uint64_t oldest = c->ring_end > CONSOLE_HISTORY_BYTES ? c->ring_end - CONSOLE_HISTORY_BYTES : 0;
    bool was_waiting = c->is_out_waiting;
    if (c->out_fd < 0 || c->is_client_gone)
        return;
    if (c->sent < oldest) {
        log_ratelimited(LOG_WARN, "console client too slow: %llu bytes of output lost",
                        (unsigned long long)(oldest - c->sent));
        c->sent = oldest;
    }
    c->is_out_waiting = false;
    while (c->sent < c->ring_end) {
        size_t off = (size_t)(c->sent % CONSOLE_HISTORY_BYTES);
        size_t n = (size_t)MIN(c->ring_end - c->sent, CONSOLE_HISTORY_BYTES - off);
        ssize_t r = send(c->out_fd, c->ring + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->is_out_waiting = true;
            break;
        }
        if (r <= 0) {
            c->is_client_gone = true; /* the loop sees the hang-up and closes it */
            break;
        }
        c->sent += (uint64_t)r;
    }
    if (c->is_out_waiting != was_waiting && !c->is_parked &&
        evloop_mod(c->loop, c->in_fd, watch_events(c)) < 0)
        log_ratelimited(LOG_WARN, "cannot watch the console client");
}

static void set_reading(struct console *c, bool on)
{
    if (c->in_fd < 0 || c->is_reading == on)
        return;
    pthread_mutex_lock(&c->out_lock);
    if (c->is_parked) {
        /* back into the loop to read what is left before the hang-up */
        if (on && evloop_add(c->loop, c->in_fd, EPOLLIN, on_input, c) == 0) {
            c->is_parked = false;
            c->is_out_waiting = false;
            c->is_reading = true;
        }
    } else {
        c->is_reading = on;
        if (evloop_mod(c->loop, c->in_fd, watch_events(c)) < 0)
            c->is_reading = !on;
    }
    pthread_mutex_unlock(&c->out_lock);
}

/* Pushes pending input to the guest; stops reading while some is left. Loop thread. */
static void drain(struct console *c)
{
    size_t n = 0;
    if (c->input_fn != NULL && c->npending > 0)
        n = c->input_fn(c->input_opaque, c->pending, c->npending);
    memmove(c->pending, c->pending + n, c->npending - n);
    c->npending -= n;
    set_reading(c, c->npending == 0);
}

static void drain_cb(void *opaque)
{
    drain(opaque);
}

void console_room(struct console *c)
{
    if (c != NULL && evloop_call(c->loop, drain_cb, c) < 0)
        log_ratelimited(LOG_WARN, "cannot schedule console input");
}

static void escape_key(struct console *c, uint8_t ch)
{
    static const char help[] = "\r\nC-a x    exit\r\nC-a C-a  send C-a\r\nC-a h    help\r\n";
    switch (ch) {
    case 'x':
    case 'X':
        if (c->quit_fn != NULL)
            c->quit_fn(c->quit_opaque);
        break;
    case CTRL_A:
        if (c->npending < PENDING_MAX)
            c->pending[c->npending++] = CTRL_A;
        break;
    case 'h':
    case '?':
        console_output(c, (const uint8_t *)help, sizeof(help) - 1);
        break;
    default:
        break;
    }
}

static void take_input(struct console *c, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (c->kind == VMM_SERIAL_STDIO && c->is_escape) {
            c->is_escape = false;
            escape_key(c, buf[i]);
        } else if (c->kind == VMM_SERIAL_STDIO && buf[i] == CTRL_A) {
            c->is_escape = true;
        } else if (c->npending < PENDING_MAX) {
            c->pending[c->npending++] = buf[i];
        }
    }
}

static void close_client(struct console *c);

static void on_input(void *opaque, uint32_t events)
{
    struct console *c = opaque;
    uint8_t buf[PENDING_MAX / 2];
    size_t room = PENDING_MAX - c->npending;
    ssize_t n;
    if (events & EPOLLOUT) {
        pthread_mutex_lock(&c->out_lock);
        flush_client(c);
        pthread_mutex_unlock(&c->out_lock);
    }
    if (room == 0) {
        /*
         * Reading is off, but epoll reports EPOLLHUP/EPOLLERR whatever the mask (epoll_ctl(2)),
         * level-triggered: leave the loop until the guest makes room (set_reading).
         */
        if (events & (EPOLLHUP | EPOLLERR)) {
            pthread_mutex_lock(&c->out_lock);
            evloop_del(c->loop, c->in_fd);
            c->is_parked = true;
            c->is_reading = false;
            pthread_mutex_unlock(&c->out_lock);
        }
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    /* Each input byte adds at most one pending byte: read no more than there is room for. */
    n = read(c->in_fd, buf, MIN(sizeof(buf), room));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (c->kind == VMM_SERIAL_UNIX) {
            close_client(c);
        } else {
            evloop_del(c->loop, c->in_fd); /* EOF on stdin: the guest keeps running */
            c->in_fd = -1;
        }
        return;
    }
    take_input(c, buf, (size_t)n);
    drain(c);
}

static void close_client(struct console *c)
{
    pthread_mutex_lock(&c->out_lock);
    c->out_fd = -1;
    c->is_out_waiting = false;
    pthread_mutex_unlock(&c->out_lock);
    if (c->in_fd >= 0) {
        if (!c->is_parked)
            evloop_del(c->loop, c->in_fd);
        close(c->in_fd);
    }
    c->in_fd = -1;
    c->is_reading = false;
    c->is_parked = false;
}

static void on_accept(void *opaque, uint32_t events)
{
    struct console *c = opaque;
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    (void)events;
    if (fd < 0)
        return;
    if (c->in_fd >= 0) { /* one client at a time: say so, then hang up */
        (void)!send(fd, CONTROL_CONSOLE_BUSY, strlen(CONTROL_CONSOLE_BUSY),
                    MSG_DONTWAIT | MSG_NOSIGNAL);
        close(fd);
        return;
    }
    /* input left by the previous client goes first: read once it is taken */
    if (evloop_add(c->loop, fd, c->npending == 0 ? EPOLLIN : 0, on_input, c) < 0) {
        close(fd);
        return;
    }
    c->in_fd = fd;
    pthread_mutex_lock(&c->out_lock);
    c->is_reading = c->npending == 0;
    c->out_fd = fd;
    c->is_client_gone = false;
    /* the new client gets the history first (all of it that is held), then live output */
    c->sent = c->ring_end > CONSOLE_HISTORY_BYTES ? c->ring_end - CONSOLE_HISTORY_BYTES : 0;
    flush_client(c);
    pthread_mutex_unlock(&c->out_lock);
}

static int open_unix(struct console *c, const char *path, struct error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mode_t old_umask;
    int ret;
    if (strlen(path) >= sizeof(sa.sun_path))
        return error_set(err, -ENAMETOOLONG, "--serial unix:%s: path too long", path);
    strcpy(sa.sun_path, path);
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->listen_fd < 0)
        return error_set(err, -errno, "socket: %s", strerror(errno));
    unlink(path);
    old_umask = umask(0177); /* the socket file is created 0600 */
    ret = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    if (ret < 0 || listen(c->listen_fd, 1) < 0)
        return error_set(err, -errno, "--serial unix:%s: %s", path, strerror(errno));
    c->sock_path = strdup(path);
    c->ring = malloc(CONSOLE_HISTORY_BYTES);
    if (c->sock_path == NULL || c->ring == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    return evloop_add(c->loop, c->listen_fd, EPOLLIN, on_accept, c);
}

static int open_backend(struct console *c, const char *path, struct error *err)
{
    switch (c->kind) {
    case VMM_SERIAL_STDIO:
        c->out_fd = STDOUT_FILENO;
        c->in_fd = STDIN_FILENO;
        make_raw();
        if (evloop_add(c->loop, c->in_fd, EPOLLIN, on_input, c) < 0)
            c->in_fd = -1; /* e.g. stdin is a regular file: no input */
        c->is_reading = c->in_fd >= 0;
        return 0;
    case VMM_SERIAL_NONE:
        return 0;
    case VMM_SERIAL_FILE:
        c->out_fd =
            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (c->out_fd < 0)
            return error_set(err, -errno, "--serial file:%s: %s", path, strerror(errno));
        return 0;
    case VMM_SERIAL_UNIX:
        return open_unix(c, path, err);
    }
    return -EINVAL;
}

int console_create(struct evloop *loop, enum vmm_serial kind, const char *path,
                   struct console **out, struct error *err)
{
    struct console *c = calloc(1, sizeof(*c));
    int ret;
    if (c == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    c->loop = loop;
    c->kind = kind;
    c->in_fd = c->out_fd = c->listen_fd = c->log_fd = c->log_old_fd = -1;
    pthread_mutex_init(&c->out_lock, NULL);
    ret = open_backend(c, path, err);
    if (ret < 0) {
        error_set(err, ret, "serial console: %s", strerror(-ret));
        console_destroy(c);
        return ret;
    }
    *out = c;
    return 0;
}

void console_destroy(struct console *c)
{
    if (c == NULL)
        return;
    if (c->kind == VMM_SERIAL_UNIX)
        close_client(c);
    else if (c->in_fd >= 0)
        evloop_del(c->loop, c->in_fd);
    if (c->listen_fd >= 0) {
        evloop_del(c->loop, c->listen_fd);
        close(c->listen_fd);
    }
    if (c->sock_path != NULL)
        unlink(c->sock_path);
    if (c->kind == VMM_SERIAL_FILE && c->out_fd >= 0)
        close(c->out_fd);
    if (c->log_fd >= 0)
        close(c->log_fd);
    if (c->log_old_fd >= 0)
        close(c->log_old_fd);
    if (c->loop != NULL) /* a queued drain must not run on the freed console */
        (void)evloop_cancel(c->loop, c);
    console_restore_terminal();
    pthread_mutex_destroy(&c->out_lock);
    free(c->sock_path);
    free(c->ring);
    free(c->log_path);
    free(c);
}

void console_set_input(struct console *c, console_input_fn fn, void *opaque)
{
    c->input_fn = fn;
    c->input_opaque = opaque;
}

void console_set_quit(struct console *c, console_quit_fn fn, void *opaque)
{
    c->quit_fn = fn;
    c->quit_opaque = opaque;
}

/*
 * Opens the log (appending) and PATH.old, once: a rotation then needs no path, as the seccomp
 * filters forbid opening and renaming files while the guest runs (docs/security.md).
 */
static int log_open(struct console *c)
{
    char old[PATH_MAX];
    struct stat st;
    if (snprintf(old, sizeof(old), "%s.old", c->log_path) >= (int)sizeof(old))
        return -ENAMETOOLONG;
    c->log_fd = open(c->log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (c->log_fd < 0)
        return -errno;
    c->log_old_fd = open(old, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (c->log_old_fd < 0)
        return -errno;
    c->log_bytes = fstat(c->log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

/* Copies the full log over PATH.old and empties it, through the descriptors. out_lock held. */
static void log_rotate(struct console *c)
{
    uint8_t buf[16384];
    uint64_t off = 0;
    int ret = ftruncate(c->log_old_fd, 0) < 0 ? -errno : 0;
    while (ret == 0) {
        ssize_t n = pread(c->log_fd, buf, sizeof(buf), (off_t)off);
        if (n <= 0) {
            ret = n < 0 && errno != EINTR ? -errno : 0;
            if (n == 0 || ret < 0)
                break;
            continue;
        }
        ret = pwrite_full(c->log_old_fd, buf, (size_t)n, off);
        off += (uint64_t)n;
    }
    if (ret == 0 && ftruncate(c->log_fd, 0) < 0)
        ret = -errno;
    if (ret < 0) {
        log_warn("console log %s: cannot rotate: %s; logging stops", c->log_path, strerror(-ret));
        close(c->log_fd);
        c->log_fd = -1;
        return;
    }
    c->log_bytes = 0;
}

/* Appends guest output to the log, rotating it at its cap. out_lock held. */
static void console_log_write(struct console *c, const uint8_t *buf, size_t len)
{
    if (len > c->log_max_bytes) { /* never more than the cap in one file */
        buf += len - c->log_max_bytes;
        len = (size_t)c->log_max_bytes;
    }
    if (c->log_bytes + len > c->log_max_bytes)
        log_rotate(c);
    if (c->log_fd < 0)
        return;
    if (write_full(c->log_fd, buf, len) < 0) {
        log_warn("console log %s: %s; logging stops", c->log_path, strerror(errno));
        close(c->log_fd);
        c->log_fd = -1;
        return;
    }
    c->log_bytes += len;
}

int console_set_log(struct console *c, const char *path, uint64_t max_bytes, struct error *err)
{
    int ret;
    if (max_bytes == 0)
        return error_set(err, -EINVAL, "console log %s: the size cap must not be 0", path);
    c->log_path = strdup(path);
    if (c->log_path == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    c->log_max_bytes = max_bytes;
    ret = log_open(c);
    if (ret < 0)
        return error_set(err, ret, "--serial-log %s: %s", path, strerror(-ret));
    return 0;
}

/* Appends (buf, len) to the history; only its last CONSOLE_HISTORY_BYTES are kept. */
static void ring_put(struct console *c, const uint8_t *buf, size_t len)
{
    uint64_t end = c->ring_end + len;
    if (len > CONSOLE_HISTORY_BYTES) {
        buf += len - CONSOLE_HISTORY_BYTES;
        len = CONSOLE_HISTORY_BYTES;
    }
    while (len > 0) {
        size_t off = (size_t)((end - len) % CONSOLE_HISTORY_BYTES);
        size_t n = MIN(len, CONSOLE_HISTORY_BYTES - off);
        memcpy(c->ring + off, buf, n);
        buf += n;
        len -= n;
    }
    c->ring_end = end;
}

void console_output(struct console *c, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&c->out_lock);
    if (c->log_fd >= 0)
        console_log_write(c, buf, len);
    if (c->kind == VMM_SERIAL_UNIX) {
        ring_put(c, buf, len); /* kept while no client is attached; sent in order */
        flush_client(c);
    } else if (c->out_fd >= 0 && write_full(c->out_fd, buf, len) < 0) {
        c->out_fd = -1; /* stdout closed: keep the guest running, discard output */
    }
    pthread_mutex_unlock(&c->out_lock);
}
