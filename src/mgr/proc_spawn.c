/* SPDX-License-Identifier: MIT */
/*
 * proc_start() of mgr/proc.h: spawning the monitor detached under its supervisor (see the
 * diagram in proc.c) and waiting, bounded, until its control socket answers.
 */
#define LOG_TAG "proc"
#include "mgr/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/exit_status.h"
#include "base/log.h"
#include "base/util.h"

/* The kernel, the initrd and two per disk (cache=none), with room. */
#define PASSED_FDS_MAX 32

/* Everything the children need, computed before fork so they only make system calls. */
struct spawn_ctx {
    char run_dir[PATH_MAX];
    char pid_path[PATH_MAX];
    char exit_path[PATH_MAX];
    char log_path[PATH_MAX];
    char log_old_path[PATH_MAX]; /* vmm.log.1: the part of this run's log before the cap */
    char sock_path[PATH_MAX];
    char console_path[PATH_MAX];
    char **argv;
    int pipe_wr;
    int fds[PASSED_FDS_MAX]; /* the VM's files, passed to the monitor with --fd (ascending) */
    unsigned nfds;
};

static void close_from(int lowfd)
{
    if (close_range((unsigned)lowfd, ~0u, 0) < 0) {
        for (int fd = lowfd; fd < 1024; fd++)
            close(fd);
    }
}

/* Closes every descriptor from 3 up except the passed ones (c->fds, ascending), which lose
 * FD_CLOEXEC so that the monitor inherits them. */
static void close_all_but_passed(const struct spawn_ctx *c)
{
    int low = 3;
    for (unsigned i = 0; i < c->nfds; i++) {
        for (int fd = low; fd < c->fds[i]; fd++)
            close(fd);
        fcntl(c->fds[i], F_SETFD, 0);
        low = c->fds[i] + 1;
    }
    close_from(low);
}

/* Points 0 at /dev/null and 1, 2 at the log, then closes everything else. */
static void redirect_std(int logfd)
{
    int null = open("/dev/null", O_RDWR);
    if (null >= 0)
        dup2(null, 0);
    if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
    }
}

/*
 * Copies the monitor's output from (rfd) to the log on fds 1 and 2 until end of file. When the
 * log would pass PROC_LOG_MAX_BYTES it becomes vmm.log.1 (replacing an older one) and a new log
 * starts, so a guest that makes its monitor log in a loop (a reset storm with crash reports)
 * holds at most two logs' worth of disk.
 */
static void copy_log(const struct spawn_ctx *c, int rfd)
{
    char buf[8192];
    struct stat st;
    uint64_t size = fstat(1, &st) == 0 ? (uint64_t)st.st_size : 0;

    for (;;) {
        ssize_t n = read(rfd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        if (size > 0 && size + (uint64_t)n > PROC_LOG_MAX_BYTES) {
            int fd;
            (void)rename(c->log_path, c->log_old_path);
            fd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
                size = 0;
            }
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break; /* the log is gone or full: drop the output, keep draining */
            off += w;
        }
        size += (uint64_t)n;
    }
}

static unsigned long long starttime_of(pid_t pid)
{
    unsigned long long v = 0;
    bool is_zombie;
    return proc_stat(pid, &v, &is_zombie) == 0 ? v : 0;
}

/* The supervisor: runs the monitor, records its end, cleans run/. Never returns. */
NORETURN static void supervise(struct spawn_ctx *c, int logfd)
{
    char line[64];
    int status = 0, pfd[2] = {-1, -1};
    pid_t vmm;
    /* The monitor's output goes through us to the log (copy_log); straight to it if no pipe. */
    if (pipe2(pfd, O_CLOEXEC) < 0)
        pfd[0] = pfd[1] = -1;
    vmm = fork();
    if (vmm == 0) {
        if (chdir(c->run_dir) < 0)
            _exit(127);
        redirect_std(pfd[1] >= 0 ? pfd[1] : logfd);
        close_all_but_passed(c);
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execv(c->argv[0], c->argv);
        dprintf(2, "bareiron: cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    if (vmm > 0) {
        snprintf(line, sizeof(line), "%d %llu\n", (int)vmm, starttime_of(vmm));
        if (write_file_atomic(c->pid_path, line, strlen(line), 0600) < 0)
            dprintf(logfd, "bareiron: cannot write %s\n", c->pid_path);
    }
    if (write(c->pipe_wr, &vmm, sizeof(vmm)) != (ssize_t)sizeof(vmm))
        _exit(1);
    redirect_std(logfd);
    if (pfd[0] >= 0 && pfd[0] != 3)
        pfd[0] = dup2(pfd[0], 3);
    close_from(pfd[0] == 3 ? 4 : 3);
    if (vmm < 0)
        _exit(1);
    if (pfd[0] == 3)
        copy_log(c, 3); /* until the monitor exits and its end of the pipe closes */
    while (waitpid(vmm, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        snprintf(line, sizeof(line), "{\"signal\": %d}\n", WTERMSIG(status));
    else
        snprintf(line, sizeof(line), "{\"status\": %d}\n", WEXITSTATUS(status));
    if (write_file_atomic(c->exit_path, line, strlen(line), 0600) < 0)
        dprintf(2, "bareiron: cannot write %s\n", c->exit_path);
    unlink(c->sock_path);
    unlink(c->console_path);
    unlink(c->pid_path);
    _exit(0);
}

/* Forks the intermediate child that detaches and forks the supervisor. */
static int spawn(struct spawn_ctx *c, pid_t *vmm_pid, struct error *err)
{
    int pfd[2], status, logfd;
    ssize_t n;
    pid_t a;
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return error_set(err, -errno, "pipe: %s", strerror(errno));
    logfd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    a = fork();
    if (a == 0) {
        close(pfd[0]);
        c->pipe_wr = pfd[1];
        setsid();
        prctl(PR_SET_NAME, "bareiron-sup");
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        if (fork() == 0)
            supervise(c, logfd);
        _exit(0);
    }
    close(pfd[1]);
    if (logfd >= 0)
        close(logfd);
    if (a < 0) {
        close(pfd[0]);
        return error_set(err, -errno, "fork: %s", strerror(errno));
    }
    while (waitpid(a, &status, 0) < 0 && errno == EINTR)
        ;
    do
        n = read(pfd[0], vmm_pid, sizeof(*vmm_pid));
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n != (ssize_t)sizeof(*vmm_pid) || *vmm_pid <= 0)
        return error_set(err, -EIO, "could not start the monitor's supervisor");
    return 0;
}

/* The errno of the class of the monitor's exit status (base/exit_status.h), so that `start`
 * exits with the status the monitor gave; 127 is the supervisor's "cannot run the monitor". */
static int exit_errno(int status)
{
    return status == 127 ? -ENOENT : exit_status_to_errno(status);
}

/*
 * A monitor that never answered did not run the guest: the start failed (and was reported),
 * so the VM stays powered-off rather than aborted (STARTING --exited--> POWERED_OFF). Its
 * log stays in run/vmm.log.
 */
static void forget_failed_start(const struct store *st, const char *name)
{
    char path[PATH_MAX];
    if (store_vm_path(st, name, "run/exit.json", path, sizeof(path)) == 0)
        unlink(path);
}

/*
 * The monitor's own one-line error in the log (tail): the last line it printed as
 * "bareiron-vmm: <why>" (warnings and the guest's output come before it). Cuts (tail) at that
 * line's end and returns <why>, or NULL when there is none.
 */
static const char *monitor_error_line(char *tail)
{
    static const char prefix[] = "bareiron-vmm: ";
    char *last = NULL;
    for (char *p = tail; p != NULL && *p != '\0';) {
        if (strncmp(p, prefix, sizeof(prefix) - 1) == 0)
            last = p;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (last == NULL)
        return NULL;
    last[strcspn(last, "\n")] = '\0';
    return last + sizeof(prefix) - 1;
}

/* Polls until the control socket answers, the monitor exits or the deadline passes. */
static int wait_ready(const struct store *st, const struct vm_config *cfg, pid_t pid,
                      struct error *err)
{
    uint64_t timeout_ms = PROC_START_TIMEOUT_MS, v;
    const char *env = getenv("BAREIRON_START_TIMEOUT_MS");
    uint64_t deadline;
    struct proc_status ps;
    char tail[2048];
    if (env && parse_u64(env, &v) == 0 && v > 0)
        timeout_ms = v;
    deadline = time_now_ns() + timeout_ms * 1000000;
    for (;;) {
        if (proc_probe(st, cfg->name, &ps) < 0)
            return error_set(err, -EIO, "cannot probe VM '%s'", cfg->name);
        if (ps.state == VM_STATE_RUNNING || ps.state == VM_STATE_PAUSED)
            return 0;
        if (ps.pid == 0 && !vm_state_is_live(ps.state))
            break; /* the monitor is gone */
        if (time_now_ns() >= deadline) {
            kill(pid, SIGKILL);
            /* Wait for the supervisor's exit record before forgetting it. */
            for (int i = 0; i < 100 && !(ps.pid == 0 && ps.has_exit); i++) {
                usleep(20 * 1000);
                if (proc_probe(st, cfg->name, &ps) < 0)
                    break;
            }
            forget_failed_start(st, cfg->name);
            proc_log_tail(st, cfg->name, 10, tail, sizeof(tail));
            return error_set(
                err, -ETIMEDOUT, "the monitor of '%s' did not answer within %llu ms (killed)%s%s",
                cfg->name, (unsigned long long)timeout_ms, tail[0] ? "; log:\n" : "", tail);
        }
        usleep(20 * 1000);
    }
    /* It exited or died during start: wait for the supervisor's record, then explain. */
    for (int i = 0; i < 50 && !ps.has_exit; i++) {
        usleep(20 * 1000);
        if (proc_probe(st, cfg->name, &ps) < 0)
            break;
    }
    forget_failed_start(st, cfg->name);
    proc_log_tail(st, cfg->name, 10, tail, sizeof(tail));
    const char *why = monitor_error_line(tail);
    if (why != NULL && ps.has_exit && !ps.exit_signal)
        return error_set(err, exit_errno(ps.exit_status),
                         "%s (the monitor of '%s' exited with status %d during start; its log: "
                         "vms/%s/run/vmm.log)",
                         why, cfg->name, ps.exit_status, cfg->name);
    if (ps.exit_signal)
        return error_set(err, -EIO, "the monitor of '%s' was killed by signal %d during start%s%s",
                         cfg->name, ps.exit_signal, tail[0] ? "; log:\n" : "", tail);
    return error_set(err, ps.has_exit ? exit_errno(ps.exit_status) : -EIO,
                     "the monitor of '%s' exited with status %d during start%s%s", cfg->name,
                     ps.has_exit ? ps.exit_status : -1, tail[0] ? "; log:\n" : "", tail);
}

/* Fills the paths of (c) and clears what a previous run left in run/. */
static int prepare_run_dir(const struct store *st, const char *name, struct spawn_ctx *c,
                           struct error *err)
{
    static const char *const leaves[] = {"vmm.pid", "exit.json", "control.sock", "console.sock",
                                         "vmm.log"};
    char *const paths[] = {c->pid_path, c->exit_path, c->sock_path, c->console_path, c->log_path};
    char old[PATH_MAX + 8];
    struct stat st_dir;
    if (store_vm_path(st, name, "run", c->run_dir, sizeof(c->run_dir)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (mkdir(c->run_dir, 0700) < 0 && errno != EEXIST)
        return error_set(err, -errno, "%s: %s", c->run_dir, strerror(errno));
    /* a planted symlink or someone else's directory must not receive our sockets and logs */
    if (lstat(c->run_dir, &st_dir) < 0)
        return error_set(err, -errno, "%s: %s", c->run_dir, strerror(errno));
    if (!S_ISDIR(st_dir.st_mode) || st_dir.st_uid != geteuid())
        return error_set(err, -EPERM, "%s: not a directory of ours", c->run_dir);
    if (chmod(c->run_dir, 0700) < 0)
        return error_set(err, -errno, "%s: %s", c->run_dir, strerror(errno));
    for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
        if (snprintf(paths[i], PATH_MAX, "%s/%s", c->run_dir, leaves[i]) >= PATH_MAX)
            return error_set(err, -ENAMETOOLONG, "path too long");
        if (i < 4)
            unlink(paths[i]);
    }
    if (snprintf(c->log_old_path, sizeof(c->log_old_path), "%s.1", c->log_path) >= PATH_MAX)
        return error_set(err, -ENAMETOOLONG, "path too long");
    unlink(c->log_old_path);
    snprintf(old, sizeof(old), "%s.old", c->log_path);
    (void)rename(c->log_path, old); /* keep the previous run's log for a post-mortem */
    return 0;
}

/*
 * Opens (path) as the monitor will (docs/vmm.md "--fd") and, when it is a regular file or a
 * block device, keeps the descriptor in (c) and adds "--fd N:PATH" to (argv), (argc) entries
 * long. Only absolute paths (the monitor runs in run/); a file that cannot be opened is left
 * to the monitor, which then reports the error itself. Returns 0 or -ENOMEM.
 */
static int pass_file(struct spawn_ctx *c, char ***argv, size_t *argc, const char *path, int flags)
{
    char arg[PATH_MAX + 16];
    struct stat st;
    char **nv, *a = NULL, *b;
    int fd, low;

    if (path == NULL || path[0] != '/' || c->nfds == PASSED_FDS_MAX || strlen(path) >= PATH_MAX)
        return 0;
    /* O_NONBLOCK: opening a FIFO must not wait; only files and block devices are passed */
    fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (fd < 3) { /* 0, 1 and 2 become /dev/null and the log in the monitor */
        low = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        if ((fd = low) < 0)
            return 0;
    }
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        close(fd);
        return 0;
    }
    snprintf(arg, sizeof(arg), "%d:%s", fd, path);
    nv = realloc(*argv, (*argc + 3) * sizeof(*nv));
    if (nv != NULL)
        *argv = nv;
    if (nv == NULL || (a = strdup("--fd")) == NULL || (b = strdup(arg)) == NULL) {
        free(a);
        close(fd);
        return -ENOMEM;
    }
    /* right after the program: the options that follow keep their pairs and flags */
    memmove(&nv[3], &nv[1], *argc * sizeof(*nv)); /* argv[1..argc], its NULL included */
    nv[1] = a;
    nv[2] = b;
    *argc += 2;
    c->fds[c->nfds++] = fd;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Opens the kernel, the initrd, the disks and the floppy with the monitor's flags (block/blk.c:
 * read-only media O_RDONLY, writable disks O_RDWR, cache=none once more with O_DIRECT) and passes
 * them with --fd. Backing files of qcow2 images are not: the monitor opens them itself. */
static int pass_files(const struct vm_config *cfg, struct spawn_ctx *c, struct error *err)
{
    size_t argc = 0;
    int ret;
    while (c->argv[argc] != NULL)
        argc++;
    ret = pass_file(c, &c->argv, &argc, cfg->kernel, O_RDONLY);
    if (ret == 0)
        ret = pass_file(c, &c->argv, &argc, cfg->initrd, O_RDONLY);
    for (size_t i = 0; ret == 0 && i < cfg->disk_count; i++) {
        const struct disk_config *d = &cfg->disks[i];
        int flags = d->is_readonly ? O_RDONLY : O_RDWR;
        ret = pass_file(c, &c->argv, &argc, d->path, flags);
        if (ret == 0 && d->cache == DISK_CACHE_NONE)
            ret = pass_file(c, &c->argv, &argc, d->path, flags | O_DIRECT);
    }
    if (ret == 0)
        ret = pass_file(c, &c->argv, &argc, cfg->cdrom, O_RDONLY);
    if (ret == 0)
        ret = pass_file(c, &c->argv, &argc, cfg->floppy, O_RDWR);
    qsort(c->fds, c->nfds, sizeof(c->fds[0]), cmp_int);
    return ret < 0 ? error_set(err, ret, "out of memory") : 0;
}

/* Appends "--restore (state)" to (c)'s argv and passes the file. Returns 0 or -errno. */
static int add_restore(struct spawn_ctx *c, const char *state, struct error *err)
{
    size_t argc = 0;
    char **nv, *a, *b;
    while (c->argv[argc] != NULL)
        argc++;
    nv = realloc(c->argv, (argc + 3) * sizeof(*nv));
    if (nv == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    c->argv = nv;
    a = strdup("--restore");
    b = strdup(state);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return error_set(err, -ENOMEM, "out of memory");
    }
    nv[argc] = a;
    nv[argc + 1] = b;
    nv[argc + 2] = NULL;
    argc += 2;
    if (pass_file(c, &c->argv, &argc, state, O_RDONLY) < 0)
        return error_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* proc_start and proc_resume: boots (cfg), or resumes (state) when it is not NULL. */
static int start_monitor(const struct store *st, const struct vm_config *cfg, const char *state,
                         pid_t *pid, struct error *err)
{
    struct spawn_ctx *c;
    char vmm[PATH_MAX];
    int ret;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = proc_find_vmm(vmm, sizeof(vmm), err);
    if (ret == 0)
        ret = proc_build_argv(cfg, vmm, &c->argv, err);
    if (ret == 0)
        ret = proc_check_taps(cfg, err);
    if (ret == 0)
        ret = prepare_run_dir(st, cfg->name, c, err);
    if (ret == 0 && state != NULL)
        ret = add_restore(c, state, err);
    if (ret == 0)
        ret = pass_files(cfg, c, err); /* last: it sorts the descriptors */
    if (ret == 0)
        ret = spawn(c, pid, err);
    for (unsigned i = 0; i < c->nfds; i++)
        close(c->fds[i]); /* the monitor has them now */
    if (ret == 0)
        ret = wait_ready(st, cfg, *pid, err);
    proc_argv_free(c->argv);
    free(c);
    return ret;
}

int proc_start(const struct store *st, const struct vm_config *cfg, pid_t *pid, struct error *err)
{
    return start_monitor(st, cfg, NULL, pid, err);
}

int proc_resume(const struct store *st, const struct vm_config *cfg, const char *state, pid_t *pid,
                struct error *err)
{
    return start_monitor(st, cfg, state, pid, err);
}
