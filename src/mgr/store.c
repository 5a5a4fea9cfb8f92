/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/store.h: the on-disk VM library. Definitions are replaced with the
 * temp file + fsync + rename + directory fsync sequence of base/util.h's write_file_atomic,
 * written out here step by step so that BAREIRON_FAULT_INJECT can stop the process between
 * any two steps (the crash-safety tests rely on it).
 */
#define LOG_TAG "store"
#include "mgr/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mgr/config_util.h"

#define MAX_VM_JSON_BYTES (1024 * 1024)

/* Aborts the process if BAREIRON_FAULT_INJECT names (step): a test double for a crash. */
static void fault_point(const char *step)
{
    const char *want = getenv("BAREIRON_FAULT_INJECT");
    if (want && strcmp(want, step) == 0) {
        fprintf(stderr, "bareiron: fault injected at %s\n", step);
        abort();
    }
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int store_open(struct store *st, struct error *err)
{
    const char *home = getenv("BAREIRON_HOME"), *xdg = getenv("XDG_DATA_HOME");
    int n;
    if (home && home[0])
        n = snprintf(st->root, sizeof(st->root), "%s", home);
    else if (xdg && xdg[0] == '/')
        n = snprintf(st->root, sizeof(st->root), "%s/bareiron", xdg);
    else if ((home = getenv("HOME")) && home[0])
        n = snprintf(st->root, sizeof(st->root), "%s/.local/share/bareiron", home);
    else
        return error_set(err, -ENOENT, "cannot find the VM library: set BAREIRON_HOME or HOME");
    if (n >= (int)sizeof(st->root))
        return error_set(err, -ENAMETOOLONG, "VM library path too long");
    return 0;
}

/* Creates <root>/(sub) (and the root) if missing: only commands that store something do. */
static int make_library_dir(const struct store *st, const char *sub, struct error *err)
{
    char path[PATH_MAX];
    int ret;
    if (snprintf(path, sizeof(path), "%s/%s", st->root, sub) >= (int)sizeof(path))
        return error_set(err, -ENAMETOOLONG, "VM library path too long");
    ret = mkdir_p(path, 0755);
    if (ret < 0)
        return error_set(err, ret, "cannot create the VM library %s: %s", path, strerror(-ret));
    return 0;
}

int store_check_name(const char *name, struct error *err)
{
    if (config_check_name(name) == 0)
        return 0;
    return error_set(err, -EINVAL, "invalid VM name '%.80s': %s", name, CONFIG_NAME_RULE);
}

int store_vm_path(const struct store *st, const char *name, const char *leaf, char *buf,
                  size_t size)
{
    int n = snprintf(buf, size, "%s/vms/%s%s%s", st->root, name, leaf ? "/" : "", leaf ? leaf : "");
    return n >= (int)size ? -ENAMETOOLONG : 0;
}

bool store_exists(const struct store *st, const char *name)
{
    char path[PATH_MAX];
    return config_check_name(name) == 0 &&
           store_vm_path(st, name, "vm.json", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

static int no_such_vm(const char *name, struct error *err)
{
    return error_set(err, -ENOENT, "no VM named '%s' (see 'bareiron list')", name);
}

int store_lock(const struct store *st, const char *name, int *fd, struct error *err)
{
    char path[PATH_MAX];
    int ret = store_check_name(name, err);
    if (ret < 0)
        return ret;
    if (!store_exists(st, name) || store_vm_path(st, name, "lock", path, sizeof(path)) < 0)
        return no_such_vm(name, err);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0)
        return error_set(err, -errno, "%s: %s", path, strerror(errno));
    while (flock(*fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            ret = error_set(err, -errno, "lock %s: %s", path, strerror(errno));
            close(*fd);
            return ret;
        }
    }
    /* Deleted while we waited: the lock is on a file that is no longer in the library. */
    if (!store_exists(st, name)) {
        close(*fd);
        return no_such_vm(name, err);
    }
    return 0;
}

void store_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

int store_load(const struct store *st, const char *name, struct vm_config *cfg, struct error *err)
{
    char path[PATH_MAX], *text;
    size_t len;
    int ret = store_check_name(name, err);
    if (ret < 0)
        return ret;
    if (store_vm_path(st, name, "vm.json", path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    ret = read_file_all(path, MAX_VM_JSON_BYTES, &text, &len);
    if (ret == -ENOENT)
        return no_such_vm(name, err);
    if (ret < 0)
        return error_set(err, ret == -EFBIG ? -EINVAL : ret, "%s: %s", path,
                         ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret));
    ret = config_parse(text, len, path, cfg, err);
    free(text);
    if (ret == 0 && strcmp(cfg->name, name) != 0) {
        ret = error_set(err, -EINVAL, "%s: field \"name\": \"%s\" does not match the directory",
                        path, cfg->name);
        config_fini(cfg);
    }
    return ret;
}

/* write_file_atomic with fault points (see the file comment). */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX];
    int fd, ret;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    fault_point("tmp-open");
    ret = write_full(fd, data, len / 2);
    fault_point("tmp-partial");
    if (ret == 0)
        ret = write_full(fd, data + len / 2, len - len / 2);
    fault_point("tmp-written");
    if (ret == 0 && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    fault_point("tmp-synced");
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0) {
        unlink(tmp);
        return ret;
    }
    fault_point("renamed");
    /* Make the rename durable. */
    *strrchr(tmp, '/') = '\0';
    fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ret = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

/* With UEFI firmware, the VM's variable store: a copy of Debian's template, made once
 * (atomically) when (dir) has none; an existing store is the VM's and is kept. */
static int ensure_uefi_vars(const char *dir, const struct vm_config *cfg, struct error *err)
{
    char path[PATH_MAX], *data;
    size_t len;
    int ret;
    if (config_effective_fw(cfg) != FW_UEFI)
        return 0;
    if (snprintf(path, sizeof(path), "%s/" CONFIG_UEFI_VARS, dir) >= (int)sizeof(path))
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (access(path, F_OK) == 0)
        return 0;
    ret = read_file_all(CONFIG_UEFI_VARS_TEMPLATE, CONFIG_UEFI_VARS_MAX, &data, &len);
    if (ret < 0)
        return error_set(err, ret, "--firmware uefi: cannot read %s: %s (Debian package ovmf)",
                         CONFIG_UEFI_VARS_TEMPLATE, strerror(-ret));
    ret = write_atomic(path, data, len);
    free(data);
    if (ret < 0)
        return error_set(err, ret, "cannot write %s: %s", path, strerror(-ret));
    return 0;
}

/* Writes (cfg) as vm.json into directory (dir). A definition without a UUID (a new VM, a
 * clone, one written by an older bareiron) is given one now. */
static int save_in(const char *dir, const struct vm_config *cfg, struct error *err)
{
    struct vm_config with_uuid;
    char path[PATH_MAX], *text;
    int ret = config_validate(cfg, err);
    if (ret == 0)
        ret = ensure_uefi_vars(dir, cfg, err);
    if (ret < 0)
        return ret;
    if (snprintf(path, sizeof(path), "%s/vm.json", dir) >= (int)sizeof(path))
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (cfg->uuid[0] == '\0') {
        with_uuid = *cfg; /* a shallow copy, only read */
        if (config_new_uuid(with_uuid.uuid) < 0)
            return error_set(err, -EIO, "cannot generate a UUID");
        cfg = &with_uuid;
    }
    ret = config_dump(cfg, &text);
    if (ret < 0)
        return error_set(err, ret, "out of memory");
    ret = write_atomic(path, text, strlen(text));
    free(text);
    if (ret < 0)
        return error_set(err, ret, "cannot write %s: %s", path, strerror(-ret));
    return 0;
}

int store_save(const struct store *st, const struct vm_config *cfg, struct error *err)
{
    char dir[PATH_MAX];
    if (store_vm_path(st, cfg->name, NULL, dir, sizeof(dir)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    return save_in(dir, cfg, err);
}

int store_read_leaf(const struct store *st, const char *name, const char *leaf, size_t max,
                    char **text, size_t *len)
{
    char path[PATH_MAX];
    if (store_vm_path(st, name, leaf, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    return read_file_all(path, max, text, len);
}

int store_write_leaf(const struct store *st, const char *name, const char *leaf, const char *data,
                     size_t len, struct error *err)
{
    char path[PATH_MAX];
    int ret;
    if (store_vm_path(st, name, leaf, path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (data == NULL)
        ret = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    else
        ret = write_file_atomic(path, data, len, 0600);
    if (ret < 0)
        return error_set(err, ret, "cannot write %s: %s", path, strerror(-ret));
    return 0;
}

/* Removes (path) and everything below it (no symlinks followed). */
static int remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int ret = 0, r;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : 0;
    d = opendir(path);
    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        char sub[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub))
            ret = -ENAMETOOLONG;
        else if ((r = remove_tree(sub)) < 0)
            ret = r;
    }
    closedir(d);
    if (rmdir(path) < 0 && ret == 0)
        ret = -errno;
    return ret;
}

int store_create(const struct store *st, const struct vm_config *cfg, struct error *err)
{
    char stage[PATH_MAX], final[PATH_MAX], sub[PATH_MAX + 16];
    int ret = store_check_name(cfg->name, err);
    if (ret < 0)
        return ret;
    if (store_exists(st, cfg->name))
        return error_set(err, -EEXIST, "a VM named '%s' exists already", cfg->name);
    if ((ret = make_library_dir(st, "vms", err)) < 0)
        return ret;
    if (snprintf(stage, sizeof(stage), "%s/vms/.%s.new.%d", st->root, cfg->name, (int)getpid()) >=
            (int)sizeof(stage) ||
        store_vm_path(st, cfg->name, NULL, final, sizeof(final)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    (void)remove_tree(stage);
    if (mkdir(stage, 0755) < 0)
        return error_set(err, -errno, "cannot create %s: %s", stage, strerror(errno));
    snprintf(sub, sizeof(sub), "%s/disks", stage);
    ret = mkdir(sub, 0755) < 0 ? -errno : 0;
    snprintf(sub, sizeof(sub), "%s/run", stage);
    if (ret == 0 && mkdir(sub, 0700) < 0)
        ret = -errno;
    if (ret < 0) {
        error_set(err, ret, "cannot create %s: %s", sub, strerror(-ret));
        goto err_remove;
    }
    ret = save_in(stage, cfg, err);
    if (ret < 0)
        goto err_remove;
    /* rename(2) of a directory onto an existing non-empty one fails: exactly one creator
     * wins a race for the same name. */
    if (rename(stage, final) < 0) {
        ret = errno == ENOTEMPTY || errno == EEXIST
                  ? error_set(err, -EEXIST, "a VM named '%s' exists already", cfg->name)
                  : error_set(err, -errno, "cannot create %s: %s", final, strerror(errno));
        goto err_remove;
    }
    return 0;
err_remove:
    (void)remove_tree(stage);
    return ret;
}

/* Moves the VM's disks/ to <root>/disks/<name>[.N]/, naming the result in (kept). */
static int keep_disks_of(const struct store *st, const char *vmdir, const char *name, char *kept,
                         size_t kept_size, struct error *err)
{
    char src[PATH_MAX + 16];
    DIR *d;
    bool is_empty = true;
    int ret;
    snprintf(src, sizeof(src), "%s/disks", vmdir);
    d = opendir(src);
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            is_empty = false;
    closedir(d);
    if (is_empty)
        return 0;
    if ((ret = make_library_dir(st, "disks", err)) < 0)
        return ret;
    for (int i = 0; i < 1000; i++) {
        int n = i ? snprintf(kept, kept_size, "%s/disks/%s.%d", st->root, name, i)
                  : snprintf(kept, kept_size, "%s/disks/%s", st->root, name);
        if (n >= (int)kept_size)
            return error_set(err, -ENAMETOOLONG, "path too long");
        if (access(kept, F_OK) < 0) {
            if (rename(src, kept) == 0)
                return 0;
            return error_set(err, -errno, "cannot move %s to %s: %s", src, kept, strerror(errno));
        }
    }
    return error_set(err, -EEXIST, "too many kept disk directories for '%s'", name);
}

int store_delete(const struct store *st, const char *name, bool keep_disks, char *kept_dir,
                 size_t kept_size, struct error *err)
{
    char dir[PATH_MAX], gone[PATH_MAX];
    int ret;
    kept_dir[0] = '\0';
    if (store_vm_path(st, name, NULL, dir, sizeof(dir)) < 0 ||
        snprintf(gone, sizeof(gone), "%s/vms/.%s.deleted.%d", st->root, name, (int)getpid()) >=
            (int)sizeof(gone))
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (keep_disks) {
        ret = keep_disks_of(st, dir, name, kept_dir, kept_size, err);
        if (ret < 0)
            return ret;
    }
    (void)remove_tree(gone);
    if (rename(dir, gone) < 0)
        return error_set(err, -errno, "cannot delete %s: %s", dir, strerror(errno));
    ret = remove_tree(gone);
    if (ret < 0)
        log_warn("leftover %s: %s", gone, strerror(-ret));
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_list(const struct store *st, char ***names, size_t *count, struct error *err)
{
    char dir[PATH_MAX];
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    DIR *d;
    snprintf(dir, sizeof(dir), "%s/vms", st->root);
    d = opendir(dir);
    if (d == NULL && errno == ENOENT) { /* nothing stored yet */
        *names = NULL;
        *count = 0;
        return 0;
    }
    if (d == NULL)
        return error_set(err, -errno, "%s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !store_exists(st, e->d_name))
            continue; /* staging and deleted directories start with '.' */
        if (n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            if (nv == NULL)
                goto err_nomem;
            v = nv;
        }
        if ((v[n] = strdup(e->d_name)) == NULL)
            goto err_nomem;
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_names);
    *names = v;
    *count = n;
    return 0;
err_nomem:
    closedir(d);
    store_list_free(v, n);
    return error_set(err, -ENOMEM, "out of memory");
}

void store_list_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int store_find_mac(const struct store *st, const char *self, const char *mac, char *owner,
                   size_t owner_size, size_t *nic)
{
    char **names;
    size_t n;
    int found = 0;

    if (store_list(st, &names, &n, NULL) < 0)
        return -EIO;
    for (size_t i = 0; i < n && !found; i++) {
        struct vm_config cfg;
        if ((self != NULL && strcmp(names[i], self) == 0) ||
            store_load(st, names[i], &cfg, NULL) < 0)
            continue;
        for (size_t k = 0; k < cfg.nic_count && !found; k++)
            if (strcasecmp(cfg.nics[k].mac, mac) == 0) {
                snprintf(owner, owner_size, "%s", names[i]);
                *nic = k + 1;
                found = 1;
            }
        config_fini(&cfg);
    }
    store_list_free(names, n);
    return found;
}
