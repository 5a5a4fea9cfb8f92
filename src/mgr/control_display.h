/* SPDX-License-Identifier: MIT */
/*
 * The display commands of the control server (docs/control-api.md "Display"): screenshot
 * ({"path": FILE} writes a PNG; {"format": "text"} answers the text screen as lines),
 * screenshot-data (the PNG itself in base64 pieces, for clients that write the file) and
 * query-display. Internal to control_server.c, which dispatches to them; each checks its
 * arguments, answers ENOTSUP when the monitor left the op NULL and otherwise calls it.
 */
#ifndef BAREIRON_MGR_CONTROL_DISPLAY_H
#define BAREIRON_MGR_CONTROL_DISPLAY_H

#include <jansson.h>

#include "base/error.h"
#include "mgr/control_server.h"

/* Largest text screen answered (132 x 60 characters and the line ends). */
#define CONTROL_MAX_TEXT_BYTES (133 * 60 + 1)

/* Each fills (result) or returns a negative errno with (err) set. */
int control_display_screenshot(const struct control_ops *ops, void *opaque, json_t *args,
                               json_t *result, struct error *err);
/* Largest piece of the PNG one screenshot-data reply carries (before base64). */
#define CONTROL_SCREENSHOT_CHUNK (32 * 1024)
int control_display_data(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                         struct error *err);
int control_display_query(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                          struct error *err);

#endif
