/* SPDX-License-Identifier: MIT */
/*
 * `bareiron snapshot NAME list` and `show SNAP`: the tree printed like `VBoxManage snapshot
 * list` (indented by depth, the current snapshot marked with '*') and one snapshot's details.
 * Names and descriptions come from a file and are printed with control bytes replaced.
 */
#include <ctype.h>
#include <stdio.h>
#include <time.h>

#include "cli/cmd_snapshot.h"

static void put_safe(const char *s)
{
    for (; *s; s++)
        putchar(isprint((unsigned char)*s) ? *s : '?');
}

int snapshot_print_list(const struct snap_tree *t, int parent, int depth)
{
    /* parents come before children and the depth is bounded by SNAPTREE_MAX */
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].parent != parent)
            continue;
        printf("%*sName: ", 3 * depth + 3, "");
        put_safe(t->v[i].name);
        printf(" (UUID: %s)%s\n", t->v[i].uuid, t->current == (int)i ? " *" : "");
        snapshot_print_list(t, (int)i, depth + 1);
    }
    return 0;
}

int snapshot_print_show(const struct snap_tree *t, int i)
{
    const struct snap *s = &t->v[i];
    json_t *cfg = s->config;
    time_t when = (time_t)s->time_sec;
    char date[32];
    struct tm tm;

    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime_r(&when, &tm));
    fputs("Name:        ", stdout);
    put_safe(s->name);
    printf("\nUUID:        %s\nTaken:       %s\nParent:      ", s->uuid, date);
    if (s->parent >= 0)
        put_safe(t->v[s->parent].name);
    else
        fputs("(none)", stdout);
    printf("\nChildren:    %zu\nCurrent:     %s\nDescription: ", snaptree_children(t, i),
           t->current == i ? "yes" : "no");
    put_safe(s->description);
    printf("\nState:       %s", s->has_state ? "machine state saved (restore gives a saved VM)"
                                             : "disks and settings only");
    printf("\nCPUs:        %lld\nMemory:      %lld MiB\nDisks:       %zu\n",
           (long long)json_integer_value(json_object_get(cfg, "cpus")),
           (long long)json_integer_value(json_object_get(cfg, "memory_mib")),
           json_array_size(json_object_get(cfg, "disks")));
    return 0;
}
