/* SPDX-License-Identifier: MIT */
/*
 * `bareiron disk convert`: copies an image's contents (its backing chain flattened, as qemu-img
 * does: the user names the image) into a new image with the block layer's disk_copy
 * (block/image.h: sparse, written to a temporary file renamed into place when complete), and
 * the progress bar the copying commands show on a terminal (cli_progress, cmd_disk.h).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "block/image.h"
#include "cli/cmd_disk.h"

static volatile sig_atomic_t is_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    is_interrupted = 1;
}

const volatile sig_atomic_t *cli_catch_interrupt(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &is_interrupted;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(struct cli_progress *p, bool is_quiet)
{
    *p = (struct cli_progress){.is_shown = !is_quiet && isatty(STDERR_FILENO),
                               .start_sec = now_sec()};
}

void cli_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct cli_progress *p = opaque;
    unsigned permille = (unsigned)(done * 1000 / MAX(total, 1u));
    double mib = (double)done / (1 << 20), secs = now_sec() - p->start_sec;
    char bar[31];

    if (!p->is_shown || (permille < p->shown + 5 && done < total && p->shown))
        return;
    p->shown = MAX(permille, 1u);
    for (unsigned i = 0; i < 30; i++)
        bar[i] = i * 1000 < permille * 30 ? '#' : ' ';
    bar[30] = '\0';
    fprintf(stderr, "\r  [%s] %5.1f%% %.1f/%.1f MiB %.1f MiB/s ", bar, (double)permille / 10, mib,
            (double)total / (1 << 20), secs > 0 ? mib / secs : 0.0);
    if (done >= total)
        fputc('\n', stderr);
}

int disk_convert_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err)
{
    struct cli_progress p;
    struct disk_copy_opts c = {.src_format = o->src_format,
                               .src_backing = BLK_BACKING_ANY,
                               .format = o->format,
                               .cluster_size = o->cluster_size,
                               .is_force = o->is_force,
                               .progress = cli_progress,
                               .opaque = &p};

    if (argc - optind != 2)
        return error_usage(err, "usage: bareiron disk convert SRC DST [--format F] "
                                "[--source-format F] [--force]");
    c.src = argv[optind];
    c.dst = argv[optind + 1];
    /* Ctrl-C stops the copy at the next block and removes the unfinished image. */
    c.is_interrupted = cli_catch_interrupt();
    cli_progress_init(&p, o->is_quiet);
    return disk_copy(&c, err);
}
