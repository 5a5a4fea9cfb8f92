/* SPDX-License-Identifier: MIT */
/*
 * The input commands of the control server (docs/control-api.md "Input"): send-key and
 * input-pointer. Internal to control_server.c, which dispatches to them; each checks its
 * arguments (send-key: exactly one of "keys", a string of at most CONTROL_INPUT_MAX_KEYS
 * bytes (control_server.h), and "text", at most CONTROL_INPUT_MAX_TEXT bytes with tab, newline and
 * backspace allowed; input-pointer: x, y, width, height and buttons, integers of 32 bits, width and
 * height at least 1), answers ENOTSUP when the monitor left the op NULL, and otherwise calls
 * the op of (ops) with (opaque).
 */
#ifndef BAREIRON_MGR_CONTROL_INPUT_H
#define BAREIRON_MGR_CONTROL_INPUT_H

#include <jansson.h>

#include "base/error.h"
#include "mgr/control_server.h"

/* Each fills (result) or returns a negative errno with (err) set. */
int control_send_key(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                     struct error *err);
int control_input_pointer(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                          struct error *err);

#endif
