/* SPDX-License-Identifier: MIT */
/* Placeholder for `bareiron disk` until the block layer lands (issue 3). */
#include "cli/cli.h"

int cmd_disk(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_err("'disk' is not implemented yet");
    return CLI_EFAIL;
}
