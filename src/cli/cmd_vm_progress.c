/* SPDX-License-Identifier: MIT */
/*
 * The progress bar of `save` and of `snapshot take` on a running VM (cli/cmd_vm.h): while the
 * monitor writes the state file, a thread of the CLI looks at the file every 100 ms and draws
 * the bytes it holds so far (its allocated blocks: the file is sparse) with the clone's bar
 * (cli_progress). The manager creates PATH and passes it to the monitor, which writes into it;
 * PATH.tmp.PID, the name a monitor given a path writes under, is looked for too. The total is the
 * guest's memory, an upper bound: the bar ends at what was actually written.
 */
#include "cli/cmd_vm.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cmd_disk.h"

struct vm_save_watch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_stopping;
    char dir[PATH_MAX];
    char prefix[NAME_MAX + 1]; /* the leaf of PATH */
    uint64_t total_bytes, done_bytes;
    struct cli_progress bar;
};

/* The bytes held by PATH or PATH.tmp.* in the watched directory (the largest). */
static uint64_t written_bytes(const struct vm_save_watch *w)
{
    size_t n = strlen(w->prefix);
    uint64_t best = 0;
    struct dirent *de;
    DIR *d = opendir(w->dir);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX + NAME_MAX + 2];
        struct stat sb;
        if (strncmp(de->d_name, w->prefix, n) != 0 ||
            (de->d_name[n] != '\0' && strncmp(de->d_name + n, ".tmp.", 5) != 0))
            continue;
        snprintf(path, sizeof(path), "%s/%s", w->dir, de->d_name);
        if (stat(path, &sb) == 0 && (uint64_t)sb.st_blocks * 512 > best)
            best = (uint64_t)sb.st_blocks * 512;
    }
    closedir(d);
    return best;
}

static void *watch(void *opaque)
{
    struct vm_save_watch *w = opaque;
    pthread_mutex_lock(&w->lock);
    while (!w->is_stopping) {
        struct timespec until;
        uint64_t done = written_bytes(w);
        if (done > w->done_bytes) {
            w->done_bytes = done;
            cli_progress(&w->bar, done < w->total_bytes ? done : w->total_bytes - 1,
                         w->total_bytes);
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct vm_save_watch *vm_save_watch_start(const char *path, uint64_t total_bytes)
{
    struct vm_save_watch *w = calloc(1, sizeof(*w));
    const char *slash = strrchr(path, '/');
    if (w == NULL || slash == NULL || (size_t)(slash - path) >= sizeof(w->dir) ||
        strlen(slash + 1) >= sizeof(w->prefix)) {
        free(w);
        return NULL;
    }
    cli_progress_init(&w->bar, false);
    if (!w->bar.is_shown) { /* not a terminal: nothing to draw */
        free(w);
        return NULL;
    }
    memcpy(w->dir, path, (size_t)(slash - path));
    snprintf(w->prefix, sizeof(w->prefix), "%s", slash + 1);
    w->total_bytes = total_bytes > 0 ? total_bytes : 1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, watch, w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

void vm_save_watch_stop(struct vm_save_watch *w, const char *final_path)
{
    struct stat sb;
    uint64_t done = 0;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->is_stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (final_path != NULL && stat(final_path, &sb) == 0)
        done = (uint64_t)sb.st_blocks * 512;
    if (final_path != NULL) /* the end of the bar: what was written */
        cli_progress(&w->bar, done > 0 ? done : 1, done > 0 ? done : 1);
    else if (w->done_bytes > 0)
        fputc('\n', stderr);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
