/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/sandbox_cgroup.h, following the kernel's cgroup-v2.rst: controllers
 * are usable in a child only when the parent lists them in cgroup.subtree_control, which the
 * "no internal processes" rule allows only in a cgroup with no process of its own (or the root).
 */
#define LOG_TAG "sandbox"
#include "vmm/sandbox_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* The cgroup2 mount point, from /proc/self/mountinfo ("... - cgroup2 ..."). */
static int find_mount(char *out, size_t len)
{
    char line[1024], mnt[PATH_MAX];
    FILE *f = fopen("/proc/self/mountinfo", "re");
    int ret = -ENOENT;
    if (f == NULL)
        return -errno;
    while (ret < 0 && fgets(line, sizeof(line), f) != NULL) {
        const char *sep = strstr(line, " - cgroup2 ");
        if (sep != NULL && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
            strcpy(out, mnt);
            ret = 0;
        }
    }
    fclose(f);
    return ret;
}

/* The process's own cgroup v2 path ("0::/path" in /proc/self/cgroup). */
static int find_own(char *out, size_t len)
{
    char line[1024];
    FILE *f = fopen("/proc/self/cgroup", "re");
    int ret = -ENOENT;
    if (f == NULL)
        return -errno;
    while (ret < 0 && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "0::", 3) == 0 && strlen(line + 3) < len) {
            strcpy(out, line + 3);
            ret = 0;
        }
    }
    fclose(f);
    return ret;
}

static int write_str(const char *dir, const char *file, const char *val)
{
    char path[PATH_MAX + 64];
    int fd, ret;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ret = write_full(fd, val, strlen(val));
    close(fd);
    return ret;
}

static bool has_controllers(const char *dir)
{
    char path[PATH_MAX + 64], *buf = NULL;
    size_t len;
    bool ok;
    snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    if (read_file_all(path, 4096, &buf, &len) < 0)
        return false;
    ok = strstr(buf, "cpu") != NULL && strstr(buf, "memory") != NULL;
    free(buf);
    return ok;
}

static int set_limits(const struct vmm_options *o, const char *dir)
{
    char val[64];
    uint64_t overhead = o->memory_bytes / 8 > (128ULL << 20) ? o->memory_bytes / 8 : 128ULL << 20;
    int ret;
    if (!has_controllers(dir))
        return -EOPNOTSUPP;
    snprintf(val, sizeof(val), "%u 100000", o->cpus * 100000);
    ret = write_str(dir, "cpu.max", val);
    if (ret == 0) {
        snprintf(val, sizeof(val), "%llu", (unsigned long long)(o->memory_bytes + overhead));
        ret = write_str(dir, "memory.max", val);
    }
    return ret;
}

void sandbox_cgroup_create(const struct vmm_options *o, char *path, size_t path_len)
{
    char mnt[PATH_MAX], own[PATH_MAX], parent[2 * PATH_MAX];
    int ret = find_mount(mnt, sizeof(mnt));
    path[0] = '\0';
    if (ret == 0)
        ret = find_own(own, sizeof(own));
    if (ret < 0) {
        log_warn("cgroup v2 limits skipped: no cgroup2 hierarchy (%s)", strerror(-ret));
        return;
    }
    snprintf(parent, sizeof(parent), "%s%s", mnt, strcmp(own, "/") == 0 ? "" : own);
    (void)write_str(parent, "cgroup.subtree_control", "+cpu +memory"); /* may be delegated */
    if ((size_t)snprintf(path, path_len, "%s/bareiron-vmm-%d", parent, (int)getpid()) >= path_len) {
        path[0] = '\0';
        log_warn("cgroup v2 limits skipped: cgroup path too long");
        return;
    }
    if (mkdir(path, 0700) < 0) {
        log_warn("cgroup v2 limits skipped: %s: %s", path, strerror(errno));
        path[0] = '\0';
        return;
    }
    ret = set_limits(o, path);
    if (ret < 0) {
        log_warn("cgroup v2 limits skipped: %s: %s", parent,
                 ret == -EOPNOTSUPP ? "cpu and memory controllers not delegated" : strerror(-ret));
        sandbox_cgroup_remove(path);
        path[0] = '\0';
        return;
    }
    log_info("cgroup %s: cpu.max %u CPUs, memory.max set", path, o->cpus);
}

int sandbox_cgroup_add(const char *path, pid_t pid)
{
    char val[32];
    if (path[0] == '\0')
        return 0;
    snprintf(val, sizeof(val), "%d", (int)pid);
    return write_str(path, "cgroup.procs", val);
}

void sandbox_cgroup_remove(const char *path)
{
    if (path[0] != '\0' && rmdir(path) < 0 && errno != ENOENT)
        log_warn("cannot remove cgroup %s: %s", path, strerror(errno));
}
