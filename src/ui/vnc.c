/* SPDX-License-Identifier: MIT */
/*
 * Implementation of ui/vnc.h over libvncserver (its rfbProcessEvents API, no threads of its
 * own: the listener is ours, each accepted socket is handed over with rfbNewClient). The
 * server framebuffer is 32-bit with red in the low byte (libvncserver's default format for 8
 * bits x 3 samples), so ui_vnc_damage swaps red and blue while copying.
 */
#include "ui/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>
#include <rfb/rfb.h>

#include "base/thread_class.h"

#define LOG_TAG "vnc"
#include "base/log.h"

#define VNC_SONAME "libvncserver.so.1"
#define XSTR(x) STR(x)
#define STR(x) #x

/* libvncserver's entry points, from dlopen (vnc_lib_load). */
#define VNC_FUNCS(X)                                                                               \
    X(rfbClientIteratorNext)                                                                       \
    X(rfbEncryptBytes)                                                                             \
    X(rfbGetClientIterator)                                                                        \
    X(rfbGetScreen)                                                                                \
    X(rfbMarkRectAsModified)                                                                       \
    X(rfbNewClient)                                                                                \
    X(rfbNewFramebuffer)                                                                           \
    X(rfbProcessEvents)                                                                            \
    X(rfbRandomBytes)                                                                              \
    X(rfbReleaseClientIterator)                                                                    \
    X(rfbScreenCleanup)                                                                            \
    X(rfbShutdownServer)                                                                           \
    X(rfbStatGetSentBytes)                                                                         \
    X(rfbCheckPasswordByList)                                                                      \
    X(rfbCloseClient)
#define VNC_FIELD(name) __typeof__(name) *name;
static struct {
    void *handle;
    VNC_FUNCS(VNC_FIELD)
    __typeof__(rfbInitServer) *init_server; /* a macro for the build's variant */
    rfbLogProc *log, *err;
} vl;

/* Opens libvncserver once (main thread, before the filters). Returns 0 or -errno with (err)
 * set. */
static int vnc_lib_load(struct error *err)
{
    if (vl.handle != NULL)
        return 0;
    void *h = dlopen(VNC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return error_set(err, -ENOTSUP, "--display vnc: cannot load %s: %s", VNC_SONAME, dlerror());
    bool is_ok = true;
#define VNC_SYM(name) is_ok = is_ok && (vl.name = (__typeof__(name) *)dlsym(h, #name)) != NULL;
    VNC_FUNCS(VNC_SYM)
#undef VNC_SYM
    is_ok = is_ok && (vl.init_server = (__typeof__(rfbInitServer) *)dlsym(h, XSTR(rfbInitServer)));
    is_ok = is_ok && (vl.log = (rfbLogProc *)dlsym(h, "rfbLog")) != NULL;
    is_ok = is_ok && (vl.err = (rfbLogProc *)dlsym(h, "rfbErr")) != NULL;
    if (!is_ok) {
        dlclose(h);
        return error_set(err, -ENOTSUP, "--display vnc: %s lacks a symbol this build needs",
                         VNC_SONAME);
    }
    vl.handle = h;
    return 0;
}

#define DEFAULT_WIDTH 640
#define DEFAULT_HEIGHT 480

struct ui_vnc {
    rfbScreenInfoPtr screen;
    char *fb;
    unsigned width, height;
    int listen_fd, stop_fd;
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    pthread_t thread;
    bool is_started;
    char password[9];
    char name[80]; /* the desktop name */
    char *passwords[2];
    pthread_mutex_t lock; /* src, in */
    const struct ui_vnc_source_ops *src;
    void *src_opaque;
    const struct ui_input_ops *in;
    void *in_opaque;
    atomic_uint nclients;
    atomic_ullong bytes_gone; /* sent to viewers that left */
    atomic_ullong bytes_live; /* sent to the connected ones (summed by the VNC thread) */
};

PRINTF_FMT(1, 2) static void vnc_log(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("libvncserver: %s", line);
}

static void on_key(rfbBool down, rfbKeySym sym, rfbClientPtr cl)
{
    struct ui_vnc *vnc = cl->screen->screenData;
    pthread_mutex_lock(&vnc->lock);
    if (vnc->in && vnc->in->key)
        vnc->in->key(vnc->in_opaque, (uint32_t)sym, down != 0);
    pthread_mutex_unlock(&vnc->lock);
}

static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
    struct ui_vnc *vnc = cl->screen->screenData;
    if (x < 0 || y < 0) /* libvncserver clamps, but a position is never negative here */
        return;
    pthread_mutex_lock(&vnc->lock);
    if (vnc->in && vnc->in->pointer)
        vnc->in->pointer(vnc->in_opaque, (uint32_t)x, (uint32_t)y, vnc->width, vnc->height,
                         (uint32_t)mask);
    pthread_mutex_unlock(&vnc->lock);
}

static void on_cut_text(char *str, int len, rfbClientPtr cl)
{
    (void)str;
    (void)len;
    (void)cl; /* no clipboard: dropped */
}

static void on_client_gone(rfbClientPtr cl)
{
    struct ui_vnc *vnc = cl->screen->screenData;
    atomic_fetch_add(&vnc->bytes_gone, (unsigned long long)(unsigned)vl.rfbStatGetSentBytes(cl));
    atomic_fetch_sub(&vnc->nclients, 1);
    log_info("viewer disconnected");
}

static uint64_t now_ms(void);

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
    struct ui_vnc *vnc = cl->screen->screenData;
    cl->clientGoneHook = on_client_gone;
    cl->clientData = (void *)(uintptr_t)now_ms(); /* when it connected: the handshake deadline */
    atomic_fetch_add(&vnc->nclients, 1);
    log_info("viewer connected");
    return RFB_CLIENT_ACCEPT;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void accept_viewer(struct ui_vnc *vnc)
{
    int fd = accept4(vnc->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (atomic_load(&vnc->nclients) >= UI_VNC_MAX_CLIENTS) {
        log_ratelimited(LOG_INFO, "viewer refused: already %d connected", UI_VNC_MAX_CLIENTS);
        close(fd);
        return;
    }
    if (vl.rfbNewClient(vnc->screen, fd) == NULL)
        log_ratelimited(LOG_INFO, "viewer refused by libvncserver");
}

/* Closes the viewers still in the handshake UI_VNC_HANDSHAKE_MS after they connected, so that
 * connections that never finish it cannot hold the viewer slots. VNC thread. */
static void reap_slow_handshakes(struct ui_vnc *vnc)
{
    uint64_t now = now_ms();
    rfbClientIteratorPtr it = vl.rfbGetClientIterator(vnc->screen);
    for (rfbClientPtr cl = vl.rfbClientIteratorNext(it); cl; cl = vl.rfbClientIteratorNext(it))
        if (cl->state != RFB_NORMAL && now - (uintptr_t)cl->clientData > UI_VNC_HANDSHAKE_MS &&
            cl->sock >= 0) {
            log_ratelimited(LOG_INFO, "viewer closed: no handshake within %d ms",
                            UI_VNC_HANDSHAKE_MS);
            vl.rfbCloseClient(cl);
        }
    vl.rfbReleaseClientIterator(it);
}

static void refresh(struct ui_vnc *vnc)
{
    pthread_mutex_lock(&vnc->lock);
    if (vnc->src && vnc->src->refresh)
        vnc->src->refresh(vnc->src_opaque, vnc);
    pthread_mutex_unlock(&vnc->lock);
}

/* Polls the listener, the stop event and every viewer's socket. Returns false to stop. */
static bool wait_events(struct ui_vnc *vnc, int timeout_ms)
{
    struct pollfd fds[2 + 2 * UI_VNC_MAX_CLIENTS];
    nfds_t n = 2;
    fds[0] = (struct pollfd){.fd = vnc->stop_fd, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = vnc->listen_fd, .events = POLLIN};
    rfbClientIteratorPtr it = vl.rfbGetClientIterator(vnc->screen);
    for (rfbClientPtr cl = vl.rfbClientIteratorNext(it); cl && n < ARRAY_SIZE(fds);
         cl = vl.rfbClientIteratorNext(it))
        if (cl->sock >= 0)
            fds[n++] = (struct pollfd){.fd = cl->sock, .events = POLLIN};
    vl.rfbReleaseClientIterator(it);
    if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
        return false;
    if (fds[0].revents)
        return false;
    if (fds[1].revents & POLLIN)
        accept_viewer(vnc);
    return true;
}

/* On the VNC thread: what the connected viewers were sent, for ui_vnc_bytes_sent. */
static void count_bytes(struct ui_vnc *vnc)
{
    unsigned long long sum = 0;
    rfbClientIteratorPtr it = vl.rfbGetClientIterator(vnc->screen);
    for (rfbClientPtr cl = vl.rfbClientIteratorNext(it); cl; cl = vl.rfbClientIteratorNext(it))
        sum += (unsigned)vl.rfbStatGetSentBytes(cl);
    vl.rfbReleaseClientIterator(it);
    atomic_store(&vnc->bytes_live, sum);
}

static void *vnc_thread(void *arg)
{
    struct ui_vnc *vnc = arg;
    uint64_t next = 0;
    pthread_setname_np(pthread_self(), "vnc"); /* before the filter: prctl(PR_SET_NAME) */
    thread_class_enter(THREAD_CLASS_DISPLAY);
    log_set_thread_name("display");
    for (;;) {
        int timeout = -1; /* no viewer: sleep until one comes */
        if (atomic_load(&vnc->nclients) > 0) {
            uint64_t now = now_ms();
            if (now >= next) {
                refresh(vnc);
                next = now + UI_VNC_REFRESH_MS;
            }
            timeout = (int)(next - now > UI_VNC_REFRESH_MS ? UI_VNC_REFRESH_MS : next - now);
        }
        vl.rfbProcessEvents(vnc->screen, 0);
        if (!wait_events(vnc, timeout))
            break;
        vl.rfbProcessEvents(vnc->screen, 0);
        reap_slow_handshakes(vnc);
        count_bytes(vnc);
    }
    return NULL;
}

static int listen_unix(struct ui_vnc *vnc, const char *path, struct error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mode_t old_umask;
    int fd, ret;
    if (strlen(path) >= sizeof(sa.sun_path))
        return error_set(err, -ENAMETOOLONG, "--display: socket path too long: %s", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return error_set(err, -errno, "--display: socket: %s", strerror(errno));
    (void)unlink(path); /* a stale socket from a monitor that died */
    old_umask = umask(0177);
    ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    if (ret < 0 || listen(fd, 8) < 0) {
        ret = -errno;
        close(fd);
        return error_set(err, ret, "--display: cannot listen on %s: %s", path, strerror(-ret));
    }
    snprintf(vnc->unix_path, sizeof(vnc->unix_path), "%s", path);
    vnc->listen_fd = fd;
    return 0;
}

static int listen_tcp(struct ui_vnc *vnc, const char *host, unsigned port, struct error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char service[8];
    int fd, one = 1, ret;
    snprintf(service, sizeof(service), "%u", port);
    if (getaddrinfo(host, service, &hints, &ai) != 0 || ai == NULL)
        return error_set(err, -EINVAL, "--display: '%s' is not a numeric address", host);
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 8) < 0) {
        ret = -errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return error_set(err, ret, "--display: cannot listen on %s:%u: %s", host, port,
                         strerror(-ret));
    }
    freeaddrinfo(ai);
    vnc->listen_fd = fd;
    return 0;
}

static int setup_screen(struct ui_vnc *vnc, const struct ui_vnc_config *cfg)
{
    *vl.log = vnc_log;
    *vl.err = vnc_log;
    vnc->width = DEFAULT_WIDTH;
    vnc->height = DEFAULT_HEIGHT;
    vnc->fb = calloc((size_t)vnc->width * vnc->height, 4);
    vnc->screen =
        vnc->fb ? vl.rfbGetScreen(NULL, NULL, (int)vnc->width, (int)vnc->height, 8, 3, 4) : NULL;
    if (vnc->screen == NULL)
        return -ENOMEM;
    rfbScreenInfoPtr s = vnc->screen;
    s->frameBuffer = vnc->fb;
    s->screenData = vnc;
    snprintf(vnc->name, sizeof(vnc->name), "%s", cfg->name != NULL ? cfg->name : "bareiron");
    s->desktopName = vnc->name;
    s->port = 0; /* no listener of libvncserver's own: ours hands sockets over */
    s->ipv6port = 0;
    s->httpPort = 0;
    s->alwaysShared = TRUE;
    s->cursor = NULL; /* no cursor drawn into the picture: the guest draws its own */
    s->kbdAddEvent = on_key;
    s->ptrAddEvent = on_pointer;
    s->setXCutText = on_cut_text;
    s->newClientHook = on_new_client;
    if (cfg->password != NULL) {
        snprintf(vnc->password, sizeof(vnc->password), "%s", cfg->password);
        vnc->passwords[0] = vnc->password;
        s->authPasswdData = vnc->passwords;
        s->passwordCheck = vl.rfbCheckPasswordByList;
        /* Initialise the DES backend (libgcrypt probes files and syslog) here, on the main
         * thread, rather than at the first viewer in the display thread's seccomp filter. */
        unsigned char challenge[CHALLENGESIZE];
        vl.rfbRandomBytes(challenge);
        vl.rfbEncryptBytes(challenge, vnc->password);
    }
    vl.init_server(s);
    return 0;
}

int ui_vnc_create(const struct ui_vnc_config *cfg, struct ui_vnc **out, struct error *err)
{
    struct ui_vnc *vnc;
    int ret = vnc_lib_load(err);
    if (ret < 0)
        return ret;
    vnc = calloc(1, sizeof(*vnc));
    if (vnc == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    vnc->listen_fd = -1;
    vnc->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&vnc->lock, NULL);
    ret = vnc->stop_fd < 0 ? error_set(err, -errno, "eventfd: %s", strerror(errno))
          : cfg->unix_path ? listen_unix(vnc, cfg->unix_path, err)
                           : listen_tcp(vnc, cfg->host, cfg->port, err);
    if (ret == 0 && setup_screen(vnc, cfg) < 0)
        ret = error_set(err, -ENOMEM, "out of memory");
    if (ret < 0) {
        ui_vnc_destroy(vnc);
        return ret;
    }
    *out = vnc;
    return 0;
}

int ui_vnc_start(struct ui_vnc *vnc, struct error *err)
{
    int ret = -pthread_create(&vnc->thread, NULL, vnc_thread, vnc);
    if (ret < 0)
        return error_set(err, ret, "cannot start the VNC thread: %s", strerror(-ret));
    vnc->is_started = true;
    return 0;
}

void ui_vnc_destroy(struct ui_vnc *vnc)
{
    if (vnc == NULL)
        return;
    if (vnc->is_started) {
        uint64_t one = 1;
        (void)!write(vnc->stop_fd, &one, sizeof(one));
        pthread_join(vnc->thread, NULL);
    }
    if (vnc->screen != NULL) {
        vl.rfbShutdownServer(vnc->screen, TRUE);
        vl.rfbScreenCleanup(vnc->screen);
    }
    if (vnc->listen_fd >= 0)
        close(vnc->listen_fd);
    if (vnc->unix_path[0])
        unlink(vnc->unix_path);
    if (vnc->stop_fd >= 0)
        close(vnc->stop_fd);
    pthread_mutex_destroy(&vnc->lock);
    free(vnc->fb);
    free(vnc);
}

void ui_vnc_set_source(struct ui_vnc *vnc, const struct ui_vnc_source_ops *ops, void *opaque)
{
    pthread_mutex_lock(&vnc->lock);
    vnc->src = ops;
    vnc->src_opaque = opaque;
    pthread_mutex_unlock(&vnc->lock);
}

void ui_vnc_set_input(struct ui_vnc *vnc, const struct ui_input_ops *ops, void *opaque)
{
    pthread_mutex_lock(&vnc->lock);
    vnc->in = ops;
    vnc->in_opaque = opaque;
    pthread_mutex_unlock(&vnc->lock);
}

void ui_vnc_resize(struct ui_vnc *vnc, unsigned width, unsigned height)
{
    if ((width == vnc->width && height == vnc->height) || width == 0 || height == 0)
        return;
    char *fb = calloc((size_t)width * height, 4);
    if (fb == NULL) {
        log_ratelimited(LOG_WARN, "cannot resize the screen to %ux%u: out of memory", width,
                        height);
        return;
    }
    vl.rfbNewFramebuffer(vnc->screen, fb, (int)width, (int)height, 8, 3, 4);
    free(vnc->fb);
    vnc->fb = fb;
    vnc->width = width;
    vnc->height = height;
}

void ui_vnc_damage(struct ui_vnc *vnc, const struct ui_image *img, unsigned x, unsigned y,
                   unsigned w, unsigned h)
{
    if (x >= vnc->width || y >= vnc->height || x >= img->width || y >= img->height)
        return;
    w = MIN(w, MIN(vnc->width, img->width) - x);
    h = MIN(h, MIN(vnc->height, img->height) - y);
    for (unsigned r = y; r < y + h; r++) {
        const uint32_t *src = &img->pixels[(size_t)r * img->stride + x];
        uint32_t *dst = (uint32_t *)(void *)vnc->fb + (size_t)r * vnc->width + x;
        for (unsigned c = 0; c < w; c++) {
            uint32_t p = src[c];
            dst[c] = (p >> 16 & 0xff) | (p & 0xff00) | (p & 0xff) << 16;
        }
    }
    vl.rfbMarkRectAsModified(vnc->screen, (int)x, (int)y, (int)(x + w), (int)(y + h));
}

unsigned ui_vnc_client_count(struct ui_vnc *vnc)
{
    return atomic_load(&vnc->nclients);
}

unsigned long long ui_vnc_bytes_sent(struct ui_vnc *vnc)
{
    return atomic_load(&vnc->bytes_gone) + atomic_load(&vnc->bytes_live);
}
