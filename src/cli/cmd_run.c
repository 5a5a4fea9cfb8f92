/* SPDX-License-Identifier: MIT */
/* Placeholder for `bareiron run` until the monitor lands (issue 2). */
#include "cli/cli.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_err("'run' is not implemented yet");
    return CLI_EFAIL;
}
