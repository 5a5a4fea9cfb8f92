/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/store.c: library layout, create/load/save/list/delete, name checks, the
 * flock-based lock (a second locker waits; a VM deleted meanwhile is reported), and atomic
 * definition writes that survive an abort() at every step (BAREIRON_FAULT_INJECT, in a forked
 * child). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "mgr/store.h"

struct env {
    char home[64];
    struct store st;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    snprintf(e->home, sizeof(e->home), "/tmp/bareiron-store-XXXXXX");
    assert_non_null(mkdtemp(e->home));
    setenv("BAREIRON_HOME", e->home, 1);
    unsetenv("BAREIRON_FAULT_INJECT");
    assert_int_equal(store_open(&e->st, NULL), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->home);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

static void make_vm(struct env *e, const char *name, uint32_t cpus)
{
    struct vm_config c;
    struct error err = {0};
    assert_int_equal(config_init(&c, name), 0);
    c.cpus = cpus;
    if (store_create(&e->st, &c, &err) != 0)
        fail_msg("create %s: %s", name, err.message);
    config_fini(&c);
}

static uint32_t cpus_of(struct env *e, const char *name)
{
    struct vm_config c;
    uint32_t n;
    assert_int_equal(store_load(&e->st, name, &c, NULL), 0);
    n = c.cpus;
    config_fini(&c);
    return n;
}

static void test_layout_and_crud(void **state)
{
    struct env *e = *state;
    struct vm_config c;
    struct error err = {0};
    char path[PATH_MAX], **names, kept[PATH_MAX];
    size_t n;
    struct stat sb;
    /* Opening creates nothing; an empty library lists nothing; the first VM makes vms/. */
    snprintf(path, sizeof(path), "%s/vms", e->home);
    assert_int_equal(stat(path, &sb), -1);
    assert_int_equal(store_list(&e->st, &names, &n, NULL), 0);
    assert_int_equal(n, 0);
    store_list_free(names, n);
    make_vm(e, "b", 2);
    assert_int_equal(stat(path, &sb), 0);
    make_vm(e, "a", 1);
    assert_int_equal(store_vm_path(&e->st, "a", "run", path, sizeof(path)), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(cpus_of(e, "b"), 2);
    assert_int_equal(config_init(&c, "a"), 0);
    assert_int_equal(store_create(&e->st, &c, &err), -EEXIST);
    config_fini(&c);
    /* Directories without vm.json and hidden ones are not VMs. */
    snprintf(path, sizeof(path), "%s/vms/junk", e->home);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/vms/.c.new.1", e->home);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(store_list(&e->st, &names, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    store_list_free(names, n);
    assert_int_equal(store_delete(&e->st, "a", false, kept, sizeof(kept), NULL), 0);
    assert_string_equal(kept, "");
    assert_false(store_exists(&e->st, "a"));
    error_clear(&err);
    assert_int_equal(store_load(&e->st, "a", &c, &err), -ENOENT);
    assert_non_null(strstr(err.message, "no VM named 'a'"));
}

static void test_names(void **state)
{
    struct env *e = *state;
    struct vm_config c;
    struct error err = {0};
    int fd;
    assert_int_equal(store_check_name("../etc", &err), -EINVAL);
    assert_non_null(strstr(err.message, "invalid VM name"));
    assert_int_equal(store_load(&e->st, "a/b", &c, NULL), -EINVAL);
    assert_int_equal(store_lock(&e->st, "..", &fd, NULL), -EINVAL);
    assert_int_equal(config_init(&c, "x/y"), 0);
    assert_int_equal(store_create(&e->st, &c, NULL), -EINVAL);
    config_fini(&c);
    assert_int_equal(store_lock(&e->st, "ghost", &fd, NULL), -ENOENT);
}

static void test_name_mismatch(void **state)
{
    struct env *e = *state;
    struct vm_config c;
    struct error err = {0};
    char path[PATH_MAX];
    static const char doc[] = "{\"schema\":1,\"name\":\"other\"}";
    make_vm(e, "m", 1);
    assert_int_equal(store_vm_path(&e->st, "m", "vm.json", path, sizeof(path)), 0);
    assert_int_equal(write_file_atomic(path, doc, strlen(doc), 0644), 0);
    assert_int_equal(store_load(&e->st, "m", &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "does not match"));
}

struct locker {
    struct env *e;
    const char *name;
    int ret;
    volatile int is_done;
};

static void *lock_thread(void *opaque)
{
    struct locker *l = opaque;
    int fd = -1;
    l->ret = store_lock(&l->e->st, l->name, &fd, NULL);
    l->is_done = 1;
    store_unlock(fd);
    return NULL;
}

static void test_lock_waits(void **state)
{
    struct env *e = *state;
    struct locker l = {.e = e, .name = "l"};
    pthread_t t;
    char kept[PATH_MAX];
    int fd;
    make_vm(e, "l", 1);
    assert_int_equal(store_lock(&e->st, "l", &fd, NULL), 0);
    assert_int_equal(pthread_create(&t, NULL, lock_thread, &l), 0);
    usleep(100 * 1000);
    assert_int_equal(l.is_done, 0); /* blocked behind our lock */
    store_unlock(fd);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(l.ret, 0);
    /* Deleted while the other waits: it learns the VM is gone. */
    l.is_done = 0;
    assert_int_equal(store_lock(&e->st, "l", &fd, NULL), 0);
    assert_int_equal(pthread_create(&t, NULL, lock_thread, &l), 0);
    usleep(100 * 1000);
    assert_int_equal(store_delete(&e->st, "l", false, kept, sizeof(kept), NULL), 0);
    store_unlock(fd);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(l.ret, -ENOENT);
}

/* Runs store_save (cpus=8) in a child that aborts at (step); returns its wait status. */
static int save_with_fault(struct env *e, const char *step)
{
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        struct vm_config c;
        setenv("BAREIRON_FAULT_INJECT", step, 1);
        if (store_load(&e->st, "f", &c, NULL) < 0)
            _exit(90);
        c.cpus = 8;
        _exit(store_save(&e->st, &c, NULL) == 0 ? 0 : 91);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_atomic_write_every_step(void **state)
{
    static const char *const steps[] = {"tmp-open", "tmp-partial", "tmp-written", "tmp-synced"};
    struct env *e = *state;
    struct vm_config c;
    make_vm(e, "f", 2);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int status = save_with_fault(e, steps[i]);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(cpus_of(e, "f"), 2); /* the old definition is intact */
    }
    assert_true(WIFSIGNALED(save_with_fault(e, "renamed")));
    assert_int_equal(cpus_of(e, "f"), 8); /* the new one is complete */
    assert_int_equal(save_with_fault(e, "none"), 0);
    /* Invalid definitions are never written. */
    assert_int_equal(store_load(&e->st, "f", &c, NULL), 0);
    c.cpus = 0;
    c.initrd = strdup("/i");
    assert_int_equal(store_save(&e->st, &c, NULL), -EINVAL);
    config_fini(&c);
    assert_int_equal(cpus_of(e, "f"), 8);
}

static void test_keep_disks(void **state)
{
    struct env *e = *state;
    char path[PATH_MAX], kept[PATH_MAX];
    make_vm(e, "d", 1);
    assert_int_equal(store_vm_path(&e->st, "d", "disks/root.img", path, sizeof(path)), 0);
    assert_int_equal(write_file_atomic(path, "x", 1, 0644), 0);
    assert_int_equal(store_delete(&e->st, "d", true, kept, sizeof(kept), NULL), 0);
    snprintf(path, sizeof(path), "%s/disks/d", e->home);
    assert_string_equal(kept, path);
    make_vm(e, "d", 1);
    assert_int_equal(store_vm_path(&e->st, "d", "disks/root.img", path, sizeof(path)), 0);
    assert_int_equal(write_file_atomic(path, "y", 1, 0644), 0);
    assert_int_equal(store_delete(&e->st, "d", true, kept, sizeof(kept), NULL), 0);
    snprintf(path, sizeof(path), "%s/disks/d.1", e->home);
    assert_string_equal(kept, path); /* never overwrites earlier kept disks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_and_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_every_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_disks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
