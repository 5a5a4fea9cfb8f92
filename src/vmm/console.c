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

static void set_reading(struct console *c, bool on)
{
    if (c->in_fd < 0 || c->is_reading == on)
        return;
    if (c->is_parked) {
        /* back into the loop to read what is left before the hang-up */
        if (on && evloop_add(c->loop, c->in_fd, EPOLLIN, on_input, c) == 0) {
            c->is_parked = false;
            c->is_reading = true;
        }
        return;
    }
    if (evloop_mod(c->loop, c->in_fd, on ? EPOLLIN : 0) == 0)
        c->is_reading = on;
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
    if (room == 0) {
        /*
         * Reading is off, but epoll reports EPOLLHUP/EPOLLERR whatever the mask (epoll_ctl(2)),
         * level-triggered: leave the loop until the guest makes room (set_reading).
         */
        if (events & (EPOLLHUP | EPOLLERR)) {
            evloop_del(c->loop, c->in_fd);
            c->is_parked = true;
            c->is_reading = false;
        }
        return;
    }
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
    if (c->in_fd >= 0) { /* one client at a time */
        close(fd);
        return;
    }
    /* input left by the previous client goes first: read once it is taken */
    if (evloop_add(c->loop, fd, c->npending == 0 ? EPOLLIN : 0, on_input, c) < 0) {
        close(fd);
        return;
    }
    c->in_fd = fd;
    c->is_reading = c->npending == 0;
    pthread_mutex_lock(&c->out_lock);
    c->out_fd = fd;
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
    c->in_fd = c->out_fd = c->listen_fd = -1;
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
    console_restore_terminal();
    pthread_mutex_destroy(&c->out_lock);
    free(c->sock_path);
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

void console_output(struct console *c, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&c->out_lock);
    if (c->out_fd >= 0 && c->kind == VMM_SERIAL_UNIX)
        (void)!send(c->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL); /* drop when slow */
    else if (c->out_fd >= 0 && write_full(c->out_fd, buf, len) < 0)
        c->out_fd = -1; /* stdout closed: keep the guest running, discard output */
    pthread_mutex_unlock(&c->out_lock);
}
