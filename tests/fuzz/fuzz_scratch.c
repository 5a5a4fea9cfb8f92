/* SPDX-License-Identifier: MIT */
/* The scratch directory of the fuzz targets (fuzz_scratch.h). */
#include "fuzz_scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

static char dir[96];

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void cleanup(void)
{
    nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

void fuzz_scratch_init(const char *name)
{
    log_set_level(LOG_ERROR);
    snprintf(dir, sizeof(dir), "/var/tmp/fuzz_%s.XXXXXX", name);
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
}

void fuzz_scratch_path(char *out, size_t size, const char *name)
{
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
        abort();
}
