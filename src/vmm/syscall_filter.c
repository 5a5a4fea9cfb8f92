/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/syscall_filter.h. The lists come from strace -f runs of every path the
 * monitor has (tiny payloads, Linux on the nested KVM, disks on io_uring and on the thread pool,
 * the control API, reboot, pause/resume, the power button; docs/security.md) plus what glibc
 * needs on error paths (abort: rt_sigaction, tgkill). ioctl is allowed without argument
 * filtering: KVM needs it broadly and the set of KVM ioctls is still growing.
 */
#define LOG_TAG "seccomp"
#include "vmm/syscall_filter.h"

#include <errno.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread_class.h"
#include "base/util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SANITIZED_BUILD)
#define SANITIZED_BUILD 1
#endif

#define NAME_TABLE_SIZE 512
#define NAME_MAX_LEN 28

/* Every thread: memory, locks, time, signals, exit, and writing log lines. */
#define COMMON_SYSCALLS                                                                            \
    "read", "write", "writev", "futex", "clock_gettime", "clock_nanosleep", "nanosleep",           \
        "gettimeofday", "sched_yield", "getpid", "gettid", "tgkill", "rt_sigprocmask",             \
        "rt_sigreturn", "rt_sigaction", "restart_syscall", "exit", "exit_group", "mmap", "munmap", \
        "mprotect", "mremap", "madvise", "brk", "getrandom"

static const char *const main_syscalls[] = {
    COMMON_SYSCALLS,
    /* event loop, sockets (control API, console), signals */
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
    "accept4", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "getsockopt", "setsockopt",
    "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4", "close",
    "fcntl", "dup", "fstat", "newfstatat", "statx", "lseek", "readv", "ioctl",
    /* the NAT backend (libslirp): the guest's connections and forwards are sockets of this
     * thread; tap frames are read and written with read/readv/writev */
    "socket", "connect", "bind", "listen", "accept", "getsockname", "getpeername", "uname",
    /* disks: qcow2 metadata, flushes, the engines (io_uring rings, the thread pool) */
    "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "fsync", "fdatasync",
    "fallocate", "ftruncate", "io_uring_setup", "io_uring_enter", "io_uring_register",
    /* a reboot rebuilds the machine: guest memory, threads (which then load their own filter) */
    "memfd_create", "set_robust_list", "rseq", "seccomp", "sysinfo", "sched_getaffinity",
    "prlimit64", "getrlimit", NULL};

/*
 * KVM_RUN and the device model of PIO/MMIO exits: interrupts and ioeventfds (ioctl), console
 * output (write, sendto), the RTC's timer (timerfd_*), console input flow control (epoll_ctl)
 * a virtio device's queue kick descriptors, made and dropped when the guest writes its
 * status register (eventfd2, epoll_ctl, close), the --serial-log rotation (pread64,
 * pwrite64, ftruncate) and the UEFI variable store's writes (pwrite64, fdatasync).
 */
static const char *const vcpu_syscalls[] = {
    COMMON_SYSCALLS,   "ioctl",           "pread64",   "pwrite64",  "ftruncate",
    "sendto",          "sendmsg",         "eventfd2",  "epoll_ctl", "close",
    "timerfd_settime", "timerfd_gettime", "fdatasync", NULL};

/* Block workers: data I/O, fsync, fallocate (discard, zeroing, qcow2 hole punching), ioctl
 * (BLKDISCARD, BLKZEROOUT), and the qcow2 jobs' metadata reads and writes. */
static const char *const worker_syscalls[] = {COMMON_SYSCALLS, "pread64",   "pwrite64", "preadv",
                                              "pwritev",       "preadv2",   "pwritev2", "fsync",
                                              "fdatasync",     "fallocate", "ioctl",    NULL};

/* The VNC thread: viewers' sockets (accept, poll, send/recv, close), the screen refresh (the
 * framebuffer's dirty log: ioctl), libvncserver's buffers and encoders' allocations. (ui/vnc.c
 * initialises the crypto library on the main thread, before the filters). */
static const char *const display_syscalls[] = {
    COMMON_SYSCALLS, "poll",       "ppoll",       "select",      "pselect6", "accept4",
    "accept",        "sendto",     "recvfrom",    "sendmsg",     "recvmsg",  "shutdown",
    "getsockopt",    "setsockopt", "getpeername", "getsockname", "fcntl",    "close",
    "ioctl",         "readv",      "socket",      "connect",     NULL};

static const char *const *const class_lists[THREAD_CLASS_COUNT] = {
    [THREAD_CLASS_MAIN] = main_syscalls,
    [THREAD_CLASS_VCPU] = vcpu_syscalls,
    [THREAD_CLASS_BLK_WORKER] = worker_syscalls,
    [THREAD_CLASS_DISPLAY] = display_syscalls,
};

static struct sock_fprog progs[THREAD_CLASS_COUNT];
static char names[NAME_TABLE_SIZE][NAME_MAX_LEN];
static int test_trap_class = -1; /* BAREIRON_TEST_SECCOMP_TRAP: see trap_test() */

const char *const *syscall_filter_list(int cls)
{
    return cls >= 0 && cls < THREAD_CLASS_COUNT ? class_lists[cls] : NULL;
}

/* ---- the SIGSYS handler: async-signal-safe ---- */

static char *put_str(char *p, const char *end, const char *s)
{
    while (*s && p < end)
        *p++ = *s++;
    return p;
}

static char *put_uint(char *p, const char *end, unsigned v)
{
    char tmp[12];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0 && p < end)
        *p++ = tmp[--n];
    return p;
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
    char line[160], *p = line;
    const char *end = line + sizeof(line) - 1;
    int nr = si->si_syscall;
    (void)sig;
    (void)uctx;
    p = put_str(p, end, "seccomp: forbidden syscall ");
    p = put_str(p, end, nr >= 0 && nr < NAME_TABLE_SIZE && names[nr][0] ? names[nr] : "unknown");
    p = put_str(p, end, " (");
    p = put_uint(p, end, (unsigned)nr);
    p = put_str(p, end, ") in ");
    p = put_str(p, end, thread_class_name(thread_class_current()));
    *p++ = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)(p - line));
    _exit(EXIT_STATUS_SECCOMP);
}

/* ---- building ---- */

static void fill_names(void)
{
    for (int nr = 0; nr < NAME_TABLE_SIZE; nr++) {
        char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (n != NULL)
            snprintf(names[nr], sizeof(names[nr]), "%s", n);
        free(n);
    }
}

/*
 * The control command save (vmm/ctl.c), main thread outside the jail: creating the state file,
 * renaming it into place and syncing its directory. openat(2) is let through with exactly
 * VMM_SAVE_CREATE_FLAGS or VMM_SAVE_DIR_FLAGS, answers EACCES without O_CREAT and O_DIRECTORY
 * (glibc's lazy opens), and traps otherwise. (libseccomp lets an unconditional rule override
 * conditional ones, and compares an argument once per rule, hence the mask.)
 */
static int add_save_rules(scmp_filter_ctx ctx)
{
    static const int renames[] = {SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2)};
    static const unsigned flags[] = {VMM_SAVE_CREATE_FLAGS, VMM_SAVE_DIR_FLAGS};
    int ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
                               SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT | O_DIRECTORY, 0));
    for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(flags); i++)
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                               SCMP_A2(SCMP_CMP_EQ, flags[i]));
    for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(renames); i++)
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, renames[i], 0);
    return ret;
}

static bool allow_read_opens; /* syscall_filter_allow_read_opens() */

void syscall_filter_allow_read_opens(void)
{
    allow_read_opens = true;
}

/*
 * The main thread's opens with exactly O_RDONLY (libslirp's TFTP server opening a file to
 * serve), added before any other rule on openat: libseccomp refuses a rule that overlaps an
 * unconditional one, and of two overlapping conditional rules the first one added decides.
 */
static int add_read_open_rule(scmp_filter_ctx ctx, bool is_sandboxed)
{
    int ret =
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_EQ, O_RDONLY));
    if (ret == 0 && is_sandboxed) /* add_save_rules does the rest outside the jail */
        ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
                               SCMP_A2(SCMP_CMP_NE, O_RDONLY));
    return ret;
}

static int add_rules(scmp_filter_ctx ctx, const char *const *list, bool is_sandboxed)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        int nr = seccomp_syscall_resolve_name(list[i]);
        if (nr == __NR_SCMP_ERROR)
            return -EINVAL;
        int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (ret < 0)
            return ret;
    }
    /*
     * Opening a file never reaches the file system: everything was opened before the filter
     * (base/fdcache.h). It fails with EACCES instead of killing because glibc opens files
     * lazily on paths it handles failing (malloc reads /proc/sys/vm/overcommit_memory the
     * first time a thread's heap shrinks; sysconf reads /sys for the CPU count).
     */
    static const int opens[] = {SCMP_SYS(open), SCMP_SYS(openat2), SCMP_SYS(openat)};
    size_t nopens = ARRAY_SIZE(opens);
    if (list == main_syscalls && allow_read_opens) {
        int ret = add_read_open_rule(ctx, is_sandboxed);
        if (ret < 0)
            return ret;
        nopens--; /* openat: add_read_open_rule, then add_save_rules outside the jail */
    }
    if (list == main_syscalls && !is_sandboxed) {
        int ret = add_save_rules(ctx);
        if (ret < 0)
            return ret;
        nopens -= nopens == ARRAY_SIZE(opens); /* openat: add_save_rules */
    }
    for (size_t i = 0; i < nopens; i++) {
        int ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), opens[i], 0);
        if (ret < 0)
            return ret;
    }
    if (list != main_syscalls)
        return 0;
    /*
     * Threads only: clone(2) with CLONE_THREAD. clone3 passes its flags in memory, where a
     * filter cannot look, so it answers ENOSYS and glibc's pthread_create falls back to clone.
     */
    int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (ret == 0)
        ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (ret < 0)
        return ret;
    /* the teardown removes the socket files it created; in the jail they are out of sight */
    uint32_t act = is_sandboxed ? SCMP_ACT_ERRNO(ENOENT) : SCMP_ACT_ALLOW;
    ret = seccomp_rule_add(ctx, act, SCMP_SYS(unlink), 0);
    return ret < 0 ? ret : seccomp_rule_add(ctx, act, SCMP_SYS(unlinkat), 0);
}

/* Compiles (list) into a BPF program (exported through a memfd, read back into (prog)). */
static int build(const char *const *list, bool is_sandboxed, struct sock_fprog *prog)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    struct sock_filter *insns = NULL;
    off_t size;
    int fd = -1, ret;

    if (ctx == NULL)
        return -ENOMEM;
    ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* set once, by prepare */
    if (ret == 0)
        ret = add_rules(ctx, list, is_sandboxed);
    if (ret == 0) {
        fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        ret = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    }
    if (ret == 0) {
        size = lseek(fd, 0, SEEK_END);
        insns = size > 0 ? malloc((size_t)size) : NULL;
        ret = insns == NULL ? -ENOMEM : pread_full(fd, insns, (size_t)size, 0);
    }
    if (ret == 0) {
        prog->len = (unsigned short)((size_t)size / sizeof(*insns));
        prog->filter = insns;
        insns = NULL;
    }
    free(insns);
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return ret;
}

static int load(enum thread_class cls)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[cls]) < 0)
        return -errno;
    return 0;
}

/* The test hook: after loading the filter of the named class, make a call no list allows.
 * execve("") is harmless without a filter (ENOENT); with one, it is the documented kill. */
static void trap_test(enum thread_class cls)
{
    if (test_trap_class == (int)cls)
        (void)!syscall(SYS_execve, "", NULL, NULL);
}

static void on_thread_start(enum thread_class cls)
{
    static const char msg[] = "seccomp: cannot load the filter of a new thread\n";
    if (cls >= THREAD_CLASS_COUNT || load(cls) < 0) {
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(EXIT_STATUS_SECCOMP);
    }
    trap_test(cls);
}

static int parse_test_env(void)
{
    const char *v = getenv("BAREIRON_TEST_SECCOMP_TRAP");
    if (v == NULL)
        return 0;
    for (int c = 0; c < THREAD_CLASS_COUNT; c++)
        if (strcmp(v, thread_class_name((enum thread_class)c)) == 0)
            test_trap_class = c;
    return test_trap_class < 0 ? -EINVAL : 0;
}

bool syscall_filter_is_supported(void)
{
#ifdef SANITIZED_BUILD
    return false; /* LeakSanitizer stops the world with ptrace at exit, from a clone */
#else
    return true;
#endif
}

int syscall_filter_prepare(bool is_sandboxed, struct error *err)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    int ret;

    if (parse_test_env() < 0)
        return error_set(err, -EINVAL,
                         "BAREIRON_TEST_SECCOMP_TRAP: expected main, vcpu or "
                         "blk-worker");
    fill_names();
    for (int c = 0; c < THREAD_CLASS_COUNT; c++) {
        ret = build(class_lists[c], is_sandboxed, &progs[c]);
        if (ret < 0)
            return error_set(err, ret, "seccomp: cannot build the %s filter: %s",
                             thread_class_name((enum thread_class)c), strerror(-ret));
    }
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return error_set(err, -errno, "seccomp: sigaction(SIGSYS): %s", strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return error_set(err, -errno, "seccomp: no_new_privs: %s", strerror(errno));
    thread_class_set_hook(on_thread_start);
    return 0;
}

int syscall_filter_install(struct error *err)
{
    int ret = load(THREAD_CLASS_MAIN);
    if (ret < 0)
        return error_set(err, ret, "seccomp: cannot load the main filter: %s", strerror(-ret));
    log_info("seccomp filters on (main %u, vcpu %u, blk-worker %u instructions)",
             progs[THREAD_CLASS_MAIN].len, progs[THREAD_CLASS_VCPU].len,
             progs[THREAD_CLASS_BLK_WORKER].len);
    trap_test(THREAD_CLASS_MAIN);
    return 0;
}
