/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/proc.h. `start` forks twice so that the monitor is not our child:
 *
 *   bareiron --fork--> A (setsid, exits at once)
 *                      A --fork--> supervisor --fork+exec--> bareiron-vmm (cwd run/)
 *
 * The supervisor writes run/vmm.pid ("PID STARTTIME", the start time guards against pid
 * reuse), tells the CLI the pid through a pipe, waits for the monitor, then writes
 * run/exit.json ({"status":N} or {"signal":N}) and removes the pid file and sockets. The
 * state is then derived (mgr/state.h) from those files plus a query-state on the socket.
 */
#define LOG_TAG "proc"
#include "mgr/proc.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mgr/client.h"
#include "mgr/savestate.h"

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int proc_find_vmm(char *buf, size_t size, struct error *err)
{
    const char *env = getenv("BAREIRON_VMM");
    char self[PATH_MAX];
    ssize_t n;
    if (env && env[0]) {
        if (!is_executable(env))
            return error_set(err, -ENOENT, "BAREIRON_VMM=%s is not an executable file", env);
        snprintf(buf, size, "%s", env);
        return 0;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        if (snprintf(buf, size, "%s/bareiron-vmm", self) < (int)size && is_executable(buf))
            return 0;
        if (snprintf(buf, size, "%s/../vmm/bareiron-vmm", self) < (int)size && is_executable(buf))
            return 0;
    }
    return error_set(err, -ENOENT,
                     "cannot find bareiron-vmm next to bareiron (%s) or in ../vmm/; set "
                     "BAREIRON_VMM",
                     n > 0 ? self : "?");
}

struct argv_builder {
    char **v;
    size_t n, cap;
    bool has_failed;
};

static void arg_add(struct argv_builder *b, const char *s)
{
    if (b->has_failed)
        return;
    if (b->n + 2 > b->cap) {
        char **nv = realloc(b->v, (b->cap = b->cap ? b->cap * 2 : 32) * sizeof(*nv));
        if (nv == NULL) {
            b->has_failed = true;
            return;
        }
        b->v = nv;
    }
    if ((b->v[b->n] = strdup(s)) == NULL) {
        b->has_failed = true;
        return;
    }
    b->v[++b->n] = NULL;
}

PRINTF_FMT(2, 3) static void arg_addf(struct argv_builder *b, const char *fmt, ...)
{
    char buf[PATH_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(buf, sizeof(buf), fmt, ap) >= (int)sizeof(buf))
        b->has_failed = true;
    va_end(ap);
    arg_add(b, buf);
}

void proc_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* The --serial option for the only port, COM1 (config_check_supported refused the others
 * and pty); the console socket by default. A socket shows only what is sent while a client is
 * attached (and the 64 KiB the monitor keeps), so its output also goes to run/console.log,
 * capped (docs/cli.md). */
static void serial_arg(const struct vm_config *cfg, struct argv_builder *b)
{
    const struct serial_config *s = cfg->serial_count ? &cfg->serials[0] : NULL;
    arg_add(b, "--serial");
    if (s == NULL || s->type == SERIAL_CONSOLE)
        arg_add(b, "unix:console.sock");
    else if (s->type == SERIAL_FILE)
        arg_addf(b, "file:%s", s->path);
    else
        arg_addf(b, "unix:%s", s->path);
    if (s == NULL || s->type != SERIAL_FILE) {
        arg_add(b, "--serial-log");
        arg_add(b, "console.log");
    }
}

/* The display adapter, its video memory and preferred mode, and the VNC server on a unix
 * socket in run/ (docs/cli.md "Display"); nothing for a VM without an adapter. */
static void video_args(const struct vm_config *cfg, struct argv_builder *b)
{
    enum video_adapter a = config_video_adapter(cfg);
    if (a == VIDEO_NONE)
        return;
    arg_add(b, "--video");
    arg_addf(b, "%s,mode=%ux%u", a == VIDEO_BOCHS ? "bochs-display" : "std", cfg->video_width,
             cfg->video_height);
    arg_add(b, "--vram");
    arg_addf(b, "%uM", cfg->video_vram_mib);
    arg_add(b, "--display");
    arg_add(b, "vnc=unix:" PROC_VNC_SOCKET);
}

/* --machine pc --firmware bios|uefi (with the VM's variable store), the VM's uuid (the SMBIOS
 * system UUID), the boot order's floppy, cdrom and disk entries and the boot menu; a kernel (first
 * in the order, with bios only: config_check_supported) goes with --kernel, which the monitor boots
 * first. */
static void firmware_args(const struct vm_config *cfg, struct argv_builder *b)
{
    char order[64] = "";
    bool is_uefi = config_effective_fw(cfg) == FW_UEFI;
    arg_add(b, "--machine");
    arg_add(b, "pc");
    arg_add(b, "--firmware");
    arg_add(b, is_uefi ? "uefi" : "bios");
    if (is_uefi) {
        arg_add(b, "--firmware-vars");
        arg_add(b, CONFIG_UEFI_VARS_ARG);
    }
    if (cfg->uuid[0] != '\0') {
        arg_add(b, "--uuid");
        arg_add(b, cfg->uuid);
    }
    for (size_t i = 0; i < cfg->boot_count; i++) {
        if (cfg->boot[i] == BOOT_KERNEL)
            continue;
        if (order[0] != '\0')
            strcat(order, ",");
        strcat(order, config_boot_name(cfg->boot[i]));
    }
    if (order[0] != '\0') {
        arg_add(b, "--boot");
        arg_add(b, order);
    }
    if (cfg->has_boot_menu) {
        arg_add(b, "--boot-menu");
        arg_add(b, "on");
    }
}

bool proc_wants_sandbox(void)
{
    const char *v = getenv("BAREIRON_SANDBOX");
    if (v != NULL && strcmp(v, "0") == 0)
        return false;
    return geteuid() == 0; /* the jail needs root (docs/security.md "Sandbox") */
}

/* The kernel, initrd, command line, disks, CD-ROM and floppy drives. */
static void boot_media_args(const struct vm_config *cfg, struct argv_builder *b)
{
    if (cfg->kernel) {
        arg_add(b, "--kernel");
        arg_add(b, cfg->kernel);
    }
    if (cfg->initrd) {
        arg_add(b, "--initrd");
        arg_add(b, cfg->initrd);
    }
    if (cfg->cmdline) {
        arg_add(b, "--cmdline");
        arg_add(b, cfg->cmdline);
    }
    for (size_t i = 0; i < cfg->disk_count; i++) {
        const struct disk_config *d = &cfg->disks[i];
        arg_add(b, "--disk");
        /* backing=same-dir is the monitor's default too */
        arg_addf(b, "%s,format=%s%s,cache=%s%s%s%s", d->path, config_format_name(d->format),
                 d->is_readonly ? ",readonly" : "", config_cache_name(d->cache),
                 d->backing != DISK_BACKING_SAME_DIR ? ",backing=" : "",
                 d->backing != DISK_BACKING_SAME_DIR ? config_backing_name(d->backing) : "",
                 d->bus == DISK_BUS_IDE ? ",bus=ide" : "");
    }
    if (cfg->cdrom) { /* a path, or "empty" (CONFIG_EMPTY_DRIVE), as the monitor spells it */
        arg_add(b, "--cdrom");
        arg_add(b, cfg->cdrom);
    }
    if (cfg->floppy) {
        arg_add(b, "--floppy");
        arg_add(b, cfg->floppy);
    }
}

int proc_build_argv(const struct vm_config *cfg, const char *vmm, char ***argv, struct error *err)
{
    struct argv_builder b = {0};
    int ret;
    bool is_firmware = config_effective_fw(cfg) == FW_BIOS || config_effective_fw(cfg) == FW_UEFI;
    if (!is_firmware && cfg->kernel == NULL)
        return error_set(err, -EINVAL,
                         "VM '%s' has no kernel and \"firmware\" none: set one (bareiron set %s "
                         "--kernel FILE) or boot its disks with --firmware bios",
                         cfg->name, cfg->name);
    ret = config_check_supported(cfg, err);
    if (ret < 0)
        return ret;
    if (cfg->nic_count > 0 && !proc_vmm_has_nic(vmm))
        return error_set(err, -ENOTSUP,
                         "VM '%s' has network adapters (\"network\"), which the monitor (%s) "
                         "does not support yet: remove them with 'bareiron set %s --remove-nic "
                         "all'",
                         cfg->name, vmm, cfg->name);
    arg_add(&b, vmm);
    arg_add(&b, "--name");
    arg_add(&b, cfg->name);
    arg_add(&b, "--control");
    arg_add(&b, "control.sock");
    /* run/vmm.log at info (the firmware's debug output among it) unless BAREIRON_LOG, which
     * the monitor inherits, says otherwise */
    if (getenv("BAREIRON_LOG") == NULL) {
        arg_add(&b, "--log-level");
        arg_add(&b, "info");
    }
    arg_add(&b, "--cpus");
    arg_addf(&b, "%u", cfg->cpus);
    arg_add(&b, "--memory");
    arg_addf(&b, "%lluM", (unsigned long long)cfg->memory_mib);
    if (is_firmware)
        firmware_args(cfg, &b);
    boot_media_args(cfg, &b);
    for (size_t i = 0; i < cfg->nic_count; i++) {
        char nic[CONFIG_MAX_FORWARDS * 64 + 128];
        arg_add(&b, "--nic");
        if (proc_nic_arg(&cfg->nics[i], nic, sizeof(nic)) < 0)
            b.has_failed = true;
        arg_add(&b, nic);
    }
    serial_arg(cfg, &b);
    video_args(cfg, &b);
    /* Both default to on in the monitor; only the switch that turns one off is passed. */
    if (!cfg->has_acpi) {
        arg_add(&b, "--acpi");
        arg_add(&b, "off");
    }
    if (!cfg->has_ioapic) {
        arg_add(&b, "--ioapic");
        arg_add(&b, "off");
    }
    /* the PS/2 keyboard and mouse are always there */
    if (cfg->is_mouse_tablet) {
        arg_add(&b, "--input");
        arg_add(&b, "tablet");
    }
    if (cfg->is_keyboard_virtio) {
        arg_add(&b, "--input");
        arg_add(&b, "keyboard");
    }
    if (proc_wants_sandbox())
        arg_add(&b, "--sandbox");
    if (b.has_failed) {
        proc_argv_free(b.v);
        return error_set(err, -ENOMEM, "out of memory");
    }
    *argv = b.v;
    return 0;
}

int proc_stat(pid_t pid, unsigned long long *start, bool *is_zombie)
{
    char path[64], buf[1024], *p;
    ssize_t n;
    int fd;
    /* Not read_file_all: procfs files report a size of 0. */
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return n < 0 ? -errno : -EINVAL;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        return -EINVAL;
    *is_zombie = p[2] == 'Z' || p[2] == 'X';
    p += 2; /* field 3, the state */
    for (int field = 4; p && field <= 22; field++) {
        p = strchr(p, ' ');
        p = p ? p + 1 : NULL;
    }
    if (p == NULL || sscanf(p, "%llu", start) != 1)
        return -EINVAL;
    return 0;
}

static int run_path(const struct store *st, const char *name, const char *leaf, char *buf,
                    size_t size)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "run/%s", leaf);
    return store_vm_path(st, name, rel, buf, size);
}

/* Reads run/vmm.pid; returns 0 and the pid if the process it names is still alive. */
static int read_pid_file(const char *path, pid_t *pid, bool *is_alive, uint64_t *age_ms)
{
    unsigned long long start, now_start;
    struct stat sb;
    bool is_zombie;
    char *buf;
    size_t len;
    int p, ret = read_file_all(path, 256, &buf, &len);
    if (ret < 0)
        return ret;
    ret = sscanf(buf, "%d %llu", &p, &start) == 2 && p > 1 ? 0 : -EINVAL;
    free(buf);
    if (ret < 0)
        return ret;
    *pid = p;
    *is_alive = proc_stat(p, &now_start, &is_zombie) == 0 && now_start == start && !is_zombie;
    *age_ms = 0;
    if (stat(path, &sb) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ms = (int64_t)(now.tv_sec - sb.st_mtim.tv_sec) * 1000 +
                     (now.tv_nsec - sb.st_mtim.tv_nsec) / 1000000;
        *age_ms = ms > 0 ? (uint64_t)ms : 0;
    }
    return 0;
}

static void read_exit_record(const char *path, struct proc_status *out)
{
    json_t *root = json_load_file(path, 0, NULL);
    json_t *status = json_object_get(root, "status"), *sig = json_object_get(root, "signal");
    if (root == NULL)
        return;
    out->has_exit = true;
    out->exit_status = json_is_integer(status) ? (int)json_integer_value(status) : -1;
    out->exit_signal = json_is_integer(sig) ? (int)json_integer_value(sig) : 0;
    json_decref(root);
}

static int call_timeout(const struct store *st, const char *name, const char *cmd, json_t *args,
                        int timeout_ms, json_t **result, struct error *err);

static uint64_t start_timeout_ms(void)
{
    const char *env = getenv("BAREIRON_START_TIMEOUT_MS");
    uint64_t v;
    if (env && parse_u64(env, &v) == 0 && v > 0 && v < 3600 * 1000)
        return v;
    return PROC_START_TIMEOUT_MS;
}

int proc_probe(const struct store *st, const char *name, struct proc_status *out)
{
    struct vm_probe p = {.start_timeout_ms = start_timeout_ms()};
    char path[PATH_MAX], exit_path[PATH_MAX], state[16] = "";
    memset(out, 0, sizeof(*out));
    if (run_path(st, name, "vmm.pid", path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if (run_path(st, name, "exit.json", exit_path, sizeof(exit_path)) < 0)
        return -ENAMETOOLONG;
    /* A dead monitor whose pid file is still there: its supervisor is writing the exit
     * record right now (or was killed too). Give it half a second before calling it lost. */
    for (int i = 0; i < 10; i++) {
        p.has_pid_file = read_pid_file(path, &out->pid, &p.is_alive, &p.pid_age_ms) == 0;
        read_exit_record(exit_path, out);
        if (!p.has_pid_file || p.is_alive || out->has_exit)
            break;
        usleep(50 * 1000);
    }
    p.has_exit_record = out->has_exit;
    p.has_saved_state = savestate_exists(st, name);
    p.is_exit_clean = out->has_exit && out->exit_status == 0 && out->exit_signal == 0;
    if (p.has_pid_file && p.is_alive) {
        json_t *res = NULL;
        if (call_timeout(st, name, "query-state", NULL, PROC_PROBE_TIMEOUT_MS, &res, NULL) == 0) {
            json_t *js = json_object_get(res, "state");
            p.is_answering = true;
            if (json_is_string(js))
                snprintf(state, sizeof(state), "%s", json_string_value(js));
            p.run_state = state;
        }
        json_decref(res);
    }
    if (!p.is_alive)
        out->pid = 0;
    out->state = vm_state_derive(&p);
    return 0;
}

/* proc_call with a chosen per-request timeout. */
static int call_timeout(const struct store *st, const char *name, const char *cmd, json_t *args,
                        int timeout_ms, json_t **result, struct error *err)
{
    struct client c;
    char path[PATH_MAX];
    int ret;
    if (run_path(st, name, "control.sock", path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    ret = client_connect(&c, path, NULL);
    if (ret < 0)
        return error_set(err, -ESRCH, "VM '%s' is not running (no monitor answers on %s)", name,
                         path);
    ret = client_call(&c, cmd, args, timeout_ms, result, err);
    client_close(&c);
    return ret;
}

int proc_call(const struct store *st, const char *name, const char *cmd, json_t *args,
              json_t **result, struct error *err)
{
    return call_timeout(st, name, cmd, args, PROC_CALL_TIMEOUT_MS, result, err);
}

int proc_wait_exit(const struct store *st, const char *name, int timeout_ms,
                   struct proc_status *out)
{
    uint64_t deadline = time_now_ns() + (uint64_t)timeout_ms * 1000000;
    for (;;) {
        int ret = proc_probe(st, name, out);
        if (ret < 0)
            return ret;
        if (!vm_state_is_live(out->state))
            return 0;
        if (time_now_ns() >= deadline)
            return -ETIMEDOUT;
        usleep(50 * 1000);
    }
}

void proc_log_tail(const struct store *st, const char *name, int lines, char *buf, size_t size)
{
    char path[PATH_MAX];
    char tail[4096];
    ssize_t n = 0;
    int fd;
    buf[0] = '\0';
    if (run_path(st, name, "vmm.log", path, sizeof(path)) < 0)
        return;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end > 0)
        n = pread(fd, tail, sizeof(tail) - 1,
                  end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0);
    close(fd);
    if (n <= 0)
        return;
    while (n > 0 && tail[n - 1] == '\n')
        n--;
    tail[n] = '\0';
    char *p = tail + n;
    for (int seen = 0; p > tail; p--)
        if (p[-1] == '\n' && ++seen == lines)
            break;
    snprintf(buf, size, "%s", p);
}
