/* SPDX-License-Identifier: MIT */
/*
 * `bareiron-vmm`: one VM per process (docs/vmm.md). Validates the command line and loads the
 * kernel and disks before /dev/kvm is opened (so bad input fails with status 2 or 6 on any
 * host), then runs the machine with the event loop on the main thread, reboots it by building
 * a new one, and maps the reason it stopped to the documented exit status. Each step of main()
 * (parse, prepare_security, load, setup_runtime, harden) returns 0 to go on, or the exit status
 * of base/exit_status.h to end with after printing why.
 */
#define LOG_TAG "vmm"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/exit_status.h"
#include "base/fdcache.h"
#include "base/log.h"
#include "base/util.h"
#include "core/kvm.h"
#include "net/net.h"
#include "net/slirp.h"
#include "net/tap.h"
#include "ui/screenshot.h"
#include "ui/vnc.h"
#include "vmm/console.h"
#include "vmm/ctl.h"
#include "vmm/machine.h"
#include "vmm/machine_display.h"
#include "vmm/options.h"
#include "vmm/sandbox.h"
#include "vmm/syscall_filter.h"

struct vmm {
    struct vmm_options opts;
    struct evloop *loop;
    struct kvm *kvm;
    struct console *con;
    struct console *vcon; /* --vconsole backend, NULL without --vconsole */
    struct control_server *ctl_srv;
    struct vmm_ctl ctl;
    struct machine *m;                     /* the current machine */
    struct net_backend *nics[VM_MAX_NICS]; /* --nic backends, kept across reboots */
    struct ui_vnc *vnc;                    /* --display vnc: kept across reboots */
    int sigfd;
    int pending_signal; /* a signal that arrived while no machine ran */
    /* --reboot-limit: times of the last resets, a ring of opts.reboot_limit entries */
    uint64_t reset_ns[VMM_MAX_REBOOT_LIMIT];
    unsigned nresets;
    uint64_t start_ns; /* when main() began (the resume latency of --restore) */
};

/*
 * Records a reset; returns true when it is one too many: opts.reboot_limit resets already
 * happened within the window before this one. A guest in a reset loop (a triple fault at
 * every boot) otherwise rebuilds the machine tens of times a second, for ever.
 */
static bool reboot_limit_hit(struct vmm *v)
{
    unsigned n = v->opts.reboot_limit;
    uint64_t now = time_now_ns(), *slot;

    if (n == 0)
        return false;
    slot = &v->reset_ns[v->nresets % n]; /* the oldest of the last n resets */
    if (v->nresets >= n && now - *slot < (uint64_t)v->opts.reboot_window_s * 1000000000ull) {
        fprintf(stderr,
                "bareiron-vmm: guest reset %u times within %u s (--reboot-limit %u/%us): "
                "stopped as crashed\n",
                n + 1, v->opts.reboot_window_s, n, v->opts.reboot_window_s);
        return true;
    }
    *slot = now;
    v->nresets++;
    return false;
}

static void print_error(const struct error *err)
{
    fprintf(stderr, "bareiron-vmm: %s\n", err->message[0] ? err->message : strerror(-err->code));
}

static void wake_noop(void *opaque)
{
    (void)opaque;
}

/* vm_notify_fn: any thread. Wakes the loop so the main thread notices the stop request. */
static void wake_loop(void *opaque)
{
    struct vmm *v = opaque;
    if (evloop_call(v->loop, wake_noop, NULL) < 0)
        evloop_stop(v->loop);
}

static void on_quit_key(void *opaque)
{
    struct vmm *v = opaque;
    if (v->m != NULL)
        vm_request(machine_vm(v->m), VM_REQ_SIGNAL, 0);
}

static void on_signal(void *opaque, uint32_t events)
{
    struct vmm *v = opaque;
    struct signalfd_siginfo si;
    (void)events;
    if (read(v->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    log_info("got signal %u, stopping", si.ssi_signo);
    v->pending_signal = (int)si.ssi_signo;
    if (v->m != NULL)
        vm_request(machine_vm(v->m), VM_REQ_SIGNAL, 128 + (int)si.ssi_signo);
}

/* SIGINT/SIGTERM/SIGHUP go to a signalfd on the loop; blocked before any thread exists so that
 * vCPU threads never take them. SIGPIPE is ignored (a closed stdout must not kill us). */
static int setup_signals(struct vmm *v)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    v->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (v->sigfd < 0)
        return -errno;
    return evloop_add(v->loop, v->sigfd, EPOLLIN, on_signal, v);
}

/* Maps a stop request to an exit status, or -1 to reboot. */
static int exit_status_for(const struct vmm *v, enum vm_request req, int code)
{
    switch (req) {
    case VM_REQ_POWEROFF:
        log_info("guest powered off");
        return EXIT_STATUS_OK;
    case VM_REQ_RESET:
        log_info("guest reset%s", v->opts.no_reboot ? " (--no-reboot: exiting)" : "");
        return v->opts.no_reboot ? EXIT_STATUS_OK : -1;
    case VM_REQ_TRIPLE_FAULT:
        if (!v->opts.no_reboot)
            return -1;
        fprintf(stderr, "bareiron-vmm: guest crashed (triple fault)\n");
        return EXIT_STATUS_CRASH;
    case VM_REQ_EXIT: /* isa-debug-exit already computed (v << 1) | 1 */
        return code & 0xff;
    case VM_REQ_SIGNAL:
        return code;
    case VM_REQ_HALTED:
        fprintf(stderr, "bareiron-vmm: every vCPU stopped\n");
        return EXIT_STATUS_CRASH;
    case VM_REQ_CRASH:
    case VM_REQ_NONE:
    default:
        fprintf(stderr, "bareiron-vmm: guest crashed (see the registers above)\n");
        return EXIT_STATUS_CRASH;
    }
}

/* Runs one machine until it stops. Returns the exit status or -1 to reboot. */
static int run_machine(struct vmm *v)
{
    struct error err = {0};
    enum vm_request req;
    int code = 0, ret, status;
    bool is_restore = v->opts.restore != NULL;
    v->ctl.machine = v->m;
    /* After a reset the state stays RUNNING or PAUSED: the VM never looked stopped. */
    if (v->ctl.state != CONTROL_RUN_RUNNING && v->ctl.state != CONTROL_RUN_PAUSED)
        v->ctl.state = CONTROL_RUN_STARTING;
    machine_set_nics(v->m, v->nics, v->opts.nnics);
    machine_set_display(v->m, v->vnc);
    ret = machine_attach(v->m, v->kvm, v->loop, v->con, v->vcon, &err);
    if (ret == 0) /* a reset keeps a paused VM paused (docs/cli.md "States") */
        ret = machine_start(v->m, v->ctl.state == CONTROL_RUN_PAUSED, wake_loop, v);
    if (ret == 0 && v->opts.restore != NULL)
        log_info("resumed from %s: the guest runs %llu us after the monitor started",
                 v->opts.restore, (unsigned long long)((time_now_ns() - v->start_ns) / 1000));
    v->opts.restore = NULL; /* resumed once: a reboot boots the kernel afresh */
    if (ret < 0) {
        if (err.code == 0)
            error_set(&err, ret, "cannot start the machine: %s", strerror(-ret));
        print_error(&err);
        /* a section of the state file that cannot be loaded is bad input, as a bad header */
        return is_restore && ret == -EINVAL ? EXIT_STATUS_INVALID : EXIT_STATUS_FAIL;
    }
    if (v->ctl.state == CONTROL_RUN_STARTING)
        v->ctl.state = CONTROL_RUN_RUNNING;
    if (v->pending_signal)
        vm_request(machine_vm(v->m), VM_REQ_SIGNAL, 128 + v->pending_signal);
    while (!machine_is_done(v->m)) {
        ret = evloop_run_once(v->loop, 1000);
        if (ret < 0 && ret != -EINTR) {
            log_error("event loop: %s", strerror(-ret));
            vm_request(machine_vm(v->m), VM_REQ_CRASH, 0);
        }
    }
    req = machine_wait(v->m, &code);
    status = exit_status_for(v, req, code);
    /* A reboot keeps the run state: the control socket must not show a dying VM meanwhile. */
    if (status >= 0)
        v->ctl.state = CONTROL_RUN_STOPPING;
    return status;
}

/* The status of a failed load: a missing file (3) and a disk in use (4) keep their class of
 * base/exit_status.h, as they have through every entry point; any other problem with the
 * kernel, initrd or disks is bad input (6). */
static int load_status(int ret)
{
    int status = exit_status_for_errno(ret);
    if (status == EXIT_STATUS_NOTFOUND || status == EXIT_STATUS_STATE)
        return status;
    return ret == -ENOMEM ? EXIT_STATUS_FAIL : EXIT_STATUS_INVALID;
}

static int load(struct vmm *v)
{
    struct error err = {0};
    int ret = machine_load(&v->opts, v->loop, &v->m, &err);
    if (ret < 0) {
        print_error(&err);
        return load_status(ret);
    }
    machine_pin_disk_formats(v->m, &v->opts); /* a reboot never probes again */
    return 0;
}

/* One --nic backend. Returns 0 or -errno with (err) set. */
static int open_nic(struct vmm *v, unsigned i, struct error *err)
{
    const struct vmm_nic *n = &v->opts.nics[i];
    struct net_slirp_opts so = {.is_restricted = n->is_restricted, .nhostfwd = n->nhostfwd};
    struct net_tap_opts to = {.ifname = n->ifname[0] ? n->ifname : NULL,
                              .fd = n->fd,
                              .vhost = n->vhost,
                              .queues = n->queues};

    switch (n->type) {
    case VMM_NIC_NAT:
        for (unsigned j = 0; j < n->nhostfwd; j++)
            so.hostfwd[j] = n->hostfwd[j];
        if (n->tftp[0] != '\0') {
            int ret = vmm_resolve_tftp(&v->opts.nics[i], err);
            if (ret < 0)
                return ret;
            so.tftp = n->tftp;
            so.bootfile = n->bootfile[0] != '\0' ? n->bootfile : NULL;
        }
        return net_slirp_create(v->loop, &so, &v->nics[i], err);
    case VMM_NIC_TAP:
        return net_tap_create(v->loop, &to, &v->nics[i], err);
    case VMM_NIC_NONE:
    default:
        if (net_none_create(&v->nics[i]) < 0)
            return error_set(err, -ENOMEM, "--nic none: out of memory");
        return 0;
    }
}

/*
 * The --nic backends, before the jail and the filters (a tap is opened through the descriptor
 * cache, the forwards' ports are bound now). A port in use is status 4, a missing tap
 * interface 3, anything else wrong with the adapter 6.
 */
static int setup_nics(struct vmm *v)
{
    struct error err = {0};
    for (unsigned i = 0; i < v->opts.nnics; i++) {
        int ret = open_nic(v, i, &err);
        if (ret < 0) {
            fprintf(stderr, "bareiron-vmm: --nic '%s': %s\n", v->opts.nics[i].spec,
                    err.message[0] ? err.message : strerror(-ret));
            if (ret == -EADDRINUSE)
                return EXIT_STATUS_STATE;
            if (ret == -ENODEV || ret == -ENOENT)
                return EXIT_STATUS_NOTFOUND;
            return ret == -ENOMEM ? EXIT_STATUS_FAIL : EXIT_STATUS_INVALID;
        }
    }
    v->ctl.nics = v->nics;
    v->ctl.nnics = v->opts.nnics;
    return 0;
}

/* The first line of --display-password-file in (buf). Returns 0 or -errno with (err) set. */
static int read_password(const char *path, char *buf, size_t size, struct error *err)
{
    int fd = fdcache_open(path, O_RDONLY);
    ssize_t n;
    if (fd < 0)
        return error_set(err, fd, "--display-password-file %s: %s", path, strerror(-fd));
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return error_set(err, -errno, "--display-password-file %s: %s", path, strerror(errno));
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (buf[0] == '\0')
        return error_set(err, -EINVAL, "--display-password-file %s: empty password", path);
    return 0;
}

/* --video: libpng for screenshots; --display vnc: the server, both before the jail and the
 * filters (libraries loaded and the socket bound now; the VNC thread starts in harden).
 * Without them neither library is loaded and no thread starts. */
static int setup_display(struct vmm *v, struct error *err)
{
    struct ui_vnc_config cfg = {0};
    char password[128];
    int ret;
    if (v->opts.video != VMM_VIDEO_NONE && ui_screenshot_init(err) < 0) {
        log_warn("%s: PNG screenshots are not available", err->message);
        error_clear(err);
    }
    if (v->opts.display == VMM_DISPLAY_NONE)
        return 0;
    if (v->opts.display_password_file != NULL) {
        ret = read_password(v->opts.display_password_file, password, sizeof(password), err);
        if (ret < 0)
            return ret;
        cfg.password = password;
    }
    cfg.unix_path = v->opts.display == VMM_DISPLAY_VNC_UNIX ? v->opts.display_path : NULL;
    cfg.host = v->opts.display_host;
    cfg.port = v->opts.display_port;
    cfg.name = v->opts.name;
    ret = ui_vnc_create(&cfg, &v->vnc, err);
    explicit_bzero(password, sizeof(password));
    return ret;
}

static int setup_runtime(struct vmm *v)
{
    struct error err = {0};
    int ret = kvm_open("/dev/kvm", &v->kvm, &err);
    if (ret < 0) {
        print_error(&err);
        return EXIT_STATUS_KVM;
    }
    ret = console_create(v->loop, v->opts.serial, v->opts.serial_path, &v->con, &err);
    if (ret == 0 && v->opts.serial_log[0] != '\0')
        ret = console_set_log(v->con, v->opts.serial_log, v->opts.serial_log_max_bytes, &err);
    if (ret == 0 && v->opts.has_vconsole) {
        ret = console_create(v->loop, v->opts.vconsole, v->opts.vconsole_path, &v->vcon, &err);
        if (ret < 0)
            error_set(&err, ret, "--vconsole: %s", strerror(-ret));
        else
            console_set_quit(v->vcon, on_quit_key, v);
    }
    if (ret == 0 && setup_display(v, &err) < 0) {
        /* a missing password file is 3, the VNC port in use 4, as for disks and hostfwd= */
        print_error(&err);
        return exit_status_for_error(&err);
    }
    if (ret == 0 && v->opts.control != NULL) {
        v->ctl.opts = &v->opts;
        ret = control_server_create(v->loop, v->opts.control, v->opts.name, &vmm_ctl_ops, &v->ctl,
                                    &v->ctl_srv, &err);
    }
    if (ret < 0) {
        print_error(&err);
        return EXIT_STATUS_FAIL;
    }
    console_set_quit(v->con, on_quit_key, v);
    return 0;
}

/* Parses the command line into v->opts; --help and --version print their text here (main then
 * ends with status 0). */
static int parse(struct vmm *v, int argc, char **argv)
{
    struct error err = {0};
    if (vmm_options_parse(argc, argv, &v->opts, &err) < 0) {
        print_error(&err);
        return EXIT_STATUS_USAGE;
    }
    if (!v->opts.is_help && !v->opts.is_version && vmm_fds_take(&v->opts, &err) < 0) {
        print_error(&err);
        return EXIT_STATUS_USAGE;
    }
    if (v->opts.is_help)
        vmm_options_usage(stdout, "bareiron-vmm");
    else if (v->opts.is_version)
        printf("bareiron-vmm %s\n", BAREIRON_VERSION);
    if (v->opts.has_log_level)
        log_set_level(v->opts.log_level);
    if (v->opts.name != NULL)
        log_set_vm_name(v->opts.name);
    return 0;
}

/*
 * --sandbox: forks the monitor into its jail's PID namespace. Returns true in the keeper, which
 * ends with (*status), the jailed monitor's status (or 1 if the fork failed); false in the
 * monitor, which goes on.
 */
static bool is_sandbox_keeper(struct vmm *v, int *status)
{
    struct error err = {0};
    int ret = sandbox_spawn(&v->opts, status, &err);
    if (ret < 0) {
        print_error(&err);
        *status = EXIT_STATUS_FAIL;
    }
    return ret != 0;
}

/* Before anything is opened: the seccomp filters are compiled and every open from now on is
 * cached for reboots. */
static int prepare_security(struct vmm *v)
{
    struct error err = {0};
    fdcache_enable();
    if (v->opts.is_seccomp && !syscall_filter_is_supported()) {
        log_warn("seccomp filters are off in sanitizer builds");
        v->opts.is_seccomp = false;
    }
    for (unsigned i = 0; i < v->opts.nnics; i++)
        if (v->opts.nics[i].tftp[0] != '\0')
            syscall_filter_allow_read_opens(); /* libslirp opens what it serves by path */
    if (v->opts.is_seccomp && syscall_filter_prepare(v->opts.is_sandbox, &err) < 0) {
        print_error(&err);
        return EXIT_STATUS_FAIL;
    }
    return 0;
}

/*
 * After the first machine is loaded and the runtime set up, before its first instruction:
 * the jail (entered single-threaded, so the first machine is dropped and loaded again inside
 * from the cached descriptors, as a reboot does), then no new open, then the seccomp filters.
 */
static int harden(struct vmm *v)
{
    struct error err = {0};
    int fd = fdcache_open("/proc/self/statm", O_RDONLY), ret = 0; /* for query-stats */
    if (fd >= 0)
        close(fd);
    if (v->opts.is_sandbox) {
        machine_destroy(v->m);
        v->m = NULL;
        ret = sandbox_enter(&v->opts, &err);
        if (ret == 0 && (ret = load(v)) != 0)
            return ret;
    }
    fdcache_seal();
    /* After the jail (entered single-threaded), before the main filter: the VNC thread loads
     * only its own filter as it starts (a thread inherits the filters already loaded). */
    if (ret == 0 && v->vnc != NULL)
        ret = ui_vnc_start(v->vnc, &err);
    if (ret == 0 && v->opts.is_seccomp)
        ret = syscall_filter_install(&err);
    if (ret < 0) {
        print_error(&err);
        return EXIT_STATUS_FAIL;
    }
    return 0;
}

static void cleanup(struct vmm *v)
{
    v->ctl.machine = NULL; /* the loop runs during the teardown: no control op may reach it */
    v->ctl.state = CONTROL_RUN_STOPPING;
    machine_destroy(v->m);
    control_server_destroy(v->ctl_srv);
    ui_vnc_destroy(v->vnc);
    free(v->ctl.png);
    for (unsigned i = 0; i < VM_MAX_NICS; i++)
        net_backend_close(v->nics[i]);
    console_destroy(v->vcon);
    console_destroy(v->con);
    kvm_close(v->kvm);
    if (v->sigfd >= 0) {
        evloop_del(v->loop, v->sigfd);
        close(v->sigfd);
    }
    evloop_destroy(v->loop);
}

int main(int argc, char **argv)
{
    static struct vmm v = {.sigfd = -1};
    int status;
    v.start_ns = time_now_ns();
    log_init_from_env();
    log_set_thread_name("main");
    status = parse(&v, argc, argv);
    if (status != 0 || v.opts.is_help || v.opts.is_version)
        return status;
    if (v.opts.is_sandbox && is_sandbox_keeper(&v, &status))
        return status;
    status = prepare_security(&v);
    if (status != 0)
        return status;
    if (evloop_create(&v.loop) < 0 || setup_signals(&v) < 0) {
        fprintf(stderr, "bareiron-vmm: cannot set up the event loop\n");
        return EXIT_STATUS_FAIL;
    }
    status = load(&v); /* before /dev/kvm: bad input is status 6 on any host */
    if (status == 0)
        status = setup_nics(&v);
    if (status == 0)
        status = setup_runtime(&v);
    if (status == 0)
        status = harden(&v);
    while (status == 0) {
        status = run_machine(&v);
        if (status >= 0)
            break;
        if (reboot_limit_hit(&v)) {
            status = EXIT_STATUS_CRASH;
            break;
        }
        log_info("rebooting");
        v.ctl.machine = NULL; /* before the teardown, which runs the loop */
        machine_destroy(v.m);
        v.m = NULL;
        if (v.ctl.has_poweroff) { /* asked for during the reset, or lost to it */
            log_info("powered off during the reset");
            status = EXIT_STATUS_OK;
            break;
        }
        status = load(&v);
    }
    cleanup(&v);
    return status;
}
