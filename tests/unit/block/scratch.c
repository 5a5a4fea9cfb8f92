/* SPDX-License-Identifier: MIT */
/* Scratch files for the block layer's tests (scratch.h). */
#include "scratch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static int make_dir(const char *parent)
{
    snprintf(dir, sizeof(dir), "%s/bareiron-test-XXXXXX", parent);
    return mkdtemp(dir) ? 0 : -1;
}

int scratch_setup(void **state)
{
    (void)state;
    return make_dir("/tmp");
}

int scratch_setup_var_tmp(void **state)
{
    (void)state;
    return make_dir("/var/tmp");
}

int scratch_teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *scratch_dir(void)
{
    return dir;
}

const char *scratch_path(const char *name)
{
    static char p[4][512];
    static unsigned i;
    char *r = p[i++ % 4];
    snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
    return r;
}

void scratch_empty(void)
{
    char cmd[192];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* '%s'/.[!.]*", dir, dir);
    assert_int_equal(system(cmd), 0);
}

char *scratch_file(uint64_t size)
{
    char *path = strdup("/tmp/bareiron-test-XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    close(fd);
    return path;
}
