/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/sandbox.h: namespaces (namespaces(7), pivot_root(2)), capabilities
 * (capabilities(7): bounding set, ambient set, capset), credentials and rlimits.
 */
#define LOG_TAG "sandbox"
#include "vmm/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/compiler.h"
#include "vmm/sandbox_cgroup.h"

#define SANDBOX_DEFAULT_ID 65534 /* "nobody" on Debian */
#define SANDBOX_NOFILE 1024
#define SANDBOX_HOSTNAME "bareiron"
#define SANDBOX_PF_IO_WORKER 0x10 /* include/linux/sched.h */

static volatile pid_t jailed_pid;

/* ---- the keeper ---- */

static void forward_signal(int sig)
{
    if (jailed_pid > 0)
        kill(jailed_pid, sig);
}

static void noop_handler(int sig)
{
    (void)sig;
}

/*
 * A PID namespace's init only receives the signals it has a handler for from outside; the
 * monitor blocks them and reads a signalfd, so give them a handler that never runs.
 */
static void child_signals(void)
{
    struct sigaction sa = {.sa_handler = noop_handler};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void keeper_signals(void)
{
    struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The socket files the jailed monitor cannot remove itself (their paths are not in the jail). */
static void remove_sockets(const struct vmm_options *o)
{
    if (o->control != NULL)
        unlink(o->control);
    if (o->serial == VMM_SERIAL_UNIX && o->serial_path != NULL)
        unlink(o->serial_path);
    if (o->has_vconsole && o->vconsole == VMM_SERIAL_UNIX && o->vconsole_path != NULL)
        unlink(o->vconsole_path);
}

static int keep(const struct vmm_options *o, pid_t pid, const char *cgroup)
{
    int wstatus = 0;
    jailed_pid = pid;
    keeper_signals();
    if (sandbox_cgroup_add(cgroup, pid) < 0)
        log_warn("cannot move the monitor into cgroup %s", cgroup);
    while (waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR) {
            log_error("waitpid: %s", strerror(errno));
            return 1;
        }
    remove_sockets(o);
    sandbox_cgroup_remove(cgroup);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return WEXITSTATUS(wstatus);
}

int sandbox_spawn(const struct vmm_options *o, int *status, struct error *err)
{
    char cgroup[PATH_MAX];
    pid_t pid;

    if (geteuid() != 0)
        return error_set(err, -EPERM,
                         "--sandbox: needs root (user namespaces are not supported yet)");
    sandbox_cgroup_create(o, cgroup, sizeof(cgroup));
    if (unshare(CLONE_NEWPID) < 0) {
        sandbox_cgroup_remove(cgroup);
        return error_set(err, -errno, "--sandbox: unshare(CLONE_NEWPID): %s", strerror(errno));
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        sandbox_cgroup_remove(cgroup);
        return error_set(err, -errno, "--sandbox: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the keeper is what the manager watches */
        child_signals();
        return 0;
    }
    vmm_fds_close(o); /* the --fd descriptors: the keeper holds no VM file */
    *status = keep(o, pid, cgroup);
    return 1;
}

/* ---- entering the jail ---- */

/* Reads a small /proc file into (buf) without the descriptor cache (these are not VM files). */
static int read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';
    return 0;
}

/* True when thread (tid) is an io_uring worker (PF_IO_WORKER in the flags of its stat line). */
static bool is_io_worker(const char *tid)
{
    char path[64], buf[1024];
    const char *p;
    unsigned long flags = 0;
    snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
    if (read_small(path, buf, sizeof(buf)) < 0 || (p = strrchr(buf, ')')) == NULL)
        return false;
    /* ") state ppid pgrp session tty_nr tpgid flags" */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
        return false;
    return (flags & SANDBOX_PF_IO_WORKER) != 0;
}

/* Threads of this process that run user code (io_uring workers never do). */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    const struct dirent *e;
    int n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && !is_io_worker(e->d_name))
            n++;
    closedir(d);
    return n;
}

/*
 * Joined threads take a moment to leave the thread group. io_uring workers of the rings just
 * closed are left out: they exit with their ring, never return to user space, and the next
 * rings are created inside the jail.
 */
static int wait_single_threaded(void)
{
    struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
    for (int i = 0; i < 500; i++) {
        int n = count_threads();
        if (n == 1)
            return 0;
        if (n < 0)
            return -EIO;
        nanosleep(&ts, NULL);
    }
    return -EBUSY;
}

static int last_cap(void)
{
    char buf[32];
    return read_small("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) == 0 ? atoi(buf)
                                                                              : CAP_LAST_CAP;
}

/*
 * The TFTP directory (absolute, vmm_resolve_tftp) of a NAT adapter, open as (src_fd) (the
 * jail's tmpfs may hide it, on /tmp), bind-mounted read-only at the same path under the jail's
 * root (jail), whose directories are made on the way: libslirp opens the files it serves by
 * that path.
 */
static int mirror_dir(const char *jail, const char *path, int src_fd, struct error *err)
{
    char dst[PATH_MAX], src[64];
    int n = snprintf(dst, sizeof(dst), "%s%s", jail, path);
    if (n < 0 || (size_t)n >= sizeof(dst))
        return error_set(err, -ENAMETOOLONG, "sandbox: %s%s: path too long", jail, path);
    for (char *p = dst + strlen(jail) + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dst, 0555) < 0 && errno != EEXIST)
            return error_set(err, -errno, "sandbox: mkdir %s: %s", dst, strerror(errno));
        *p = '/';
    }
    if (mkdir(dst, 0555) < 0 && errno != EEXIST)
        return error_set(err, -errno, "sandbox: mkdir %s: %s", dst, strerror(errno));
    snprintf(src, sizeof(src), "/proc/self/fd/%d", src_fd);
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return error_set(err, -errno, "sandbox: binding the TFTP directory %s: %s", path,
                         strerror(errno));
    return 0;
}

/* Mounts the jail's tmpfs on the first of (dirs) that takes it, with the TFTP directories
 * (open as tftp_fds) mirrored in; (*dir) is where. */
static int enter_jail(const struct vmm_options *o, const char *const *dirs, size_t ndirs,
                      const int *tftp_fds, const char **dir, struct error *err)
{
    for (size_t i = 0; i < ndirs && *dir == NULL; i++)
        if (mount("bareiron-jail", dirs[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=4k,nr_inodes=256,mode=0555") == 0)
            *dir = dirs[i];
    if (*dir == NULL)
        return error_set(err, -errno, "sandbox: cannot mount the jail's tmpfs: %s",
                         strerror(errno));
    for (unsigned i = 0; i < o->nnics; i++) {
        int ret = tftp_fds[i] >= 0 ? mirror_dir(*dir, o->nics[i].tftp, tftp_fds[i], err) : 0;
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Mount namespace: private propagation, then pivot_root into an empty tmpfs, read-only (with
 * the adapters' TFTP directories bound in read-only). */
static int enter_root(const struct vmm_options *o, struct error *err)
{
    static const char *const dirs[] = {"/tmp", "/mnt", "/run"};
    const char *dir = NULL;
    int tftp_fds[VM_MAX_NICS], ret = 0;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return error_set(err, -errno, "sandbox: making / private: %s", strerror(errno));
    for (unsigned i = 0; i < o->nnics; i++) {
        tftp_fds[i] = -1;
        if (o->nics[i].tftp[0] != '\0' &&
            (tftp_fds[i] = open(o->nics[i].tftp, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            ret = error_set(err, -errno, "sandbox: the TFTP directory %s: %s", o->nics[i].tftp,
                            strerror(errno));
    }
    if (ret == 0)
        ret = enter_jail(o, dirs, ARRAY_SIZE(dirs), tftp_fds, &dir, err);
    for (unsigned i = 0; i < o->nnics; i++)
        if (tftp_fds[i] >= 0)
            close(tftp_fds[i]);
    if (ret < 0)
        return ret;
    if (chdir(dir) < 0)
        return error_set(err, -errno, "sandbox: chdir %s: %s", dir, strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
            return error_set(err, -errno, "sandbox: detaching the old root: %s", strerror(errno));
    } else if (errno == EINVAL) {
        /*
         * The root is the initramfs (rootfs), which cannot be pivoted away: move the jail over
         * it and chroot there, as switch_root does. What lies below is out of reach without
         * chroot(2) or mount(2), which the filters forbid, and no directory is held open.
         */
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
            return error_set(err, -errno, "sandbox: moving the jail over the initramfs: %s",
                             strerror(errno));
        log_info("root is an initramfs: jail moved over it and chrooted (no pivot_root)");
    } else {
        return error_set(err, -errno, "sandbox: pivot_root into %s: %s", dir, strerror(errno));
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return error_set(err, -errno, "sandbox: remounting / read-only: %s", strerror(errno));
    return 0;
}

static int set_limits(struct error *err)
{
    struct rlimit nofile, core = {0, 0};
    if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
        return error_set(err, -errno, "sandbox: getrlimit: %s", strerror(errno));
    if (nofile.rlim_max > SANDBOX_NOFILE)
        nofile.rlim_max = SANDBOX_NOFILE;
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
        return error_set(err, -errno, "sandbox: setrlimit: %s", strerror(errno));
    return 0;
}

/* Capabilities out of every set, then the uid/gid switch (which empties the rest anyway). */
static int drop_privileges(const struct vmm_options *o, int cap_max, struct error *err)
{
    uid_t uid = o->has_sandbox_user ? o->sandbox_uid : SANDBOX_DEFAULT_ID;
    gid_t gid = o->has_sandbox_user ? o->sandbox_gid : SANDBOX_DEFAULT_ID;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2];

    for (int cap = 0; cap <= cap_max; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return error_set(err, -errno, "sandbox: dropping capability %d: %s", cap,
                             strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return error_set(err, -errno, "sandbox: clearing ambient capabilities: %s",
                         strerror(errno));
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return error_set(err, -errno, "sandbox: switching to uid %u gid %u: %s", (unsigned)uid,
                         (unsigned)gid, strerror(errno));
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) < 0)
        return error_set(err, -errno, "sandbox: capset: %s", strerror(errno));
    /* no_new_privs; not dumpable (no ptrace, /proc/PID owned by root); the death signal is
     * reset by the credential change */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return error_set(err, -errno, "sandbox: prctl: %s", strerror(errno));
    log_info("jailed: uid %u gid %u, no capabilities", (unsigned)uid, (unsigned)gid);
    return 0;
}

int sandbox_enter(const struct vmm_options *o, struct error *err)
{
    int cap_max = last_cap(), ret = wait_single_threaded();

    if (ret < 0)
        return error_set(err, ret, "sandbox: threads still running before entering the jail");
    if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        return error_set(err, -errno, "sandbox: unshare: %s", strerror(errno));
    if (sethostname(SANDBOX_HOSTNAME, strlen(SANDBOX_HOSTNAME)) < 0)
        return error_set(err, -errno, "sandbox: sethostname: %s", strerror(errno));
    ret = enter_root(o, err);
    if (ret == 0)
        ret = set_limits(err);
    if (ret == 0)
        ret = drop_privileges(o, cap_max, err);
    return ret;
}
