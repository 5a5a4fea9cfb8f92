/* SPDX-License-Identifier: MIT */
/*
 * The control server's media-change command (docs/control-api.md): one command for every
 * removable drive, the drive named by its "drive" member:
 *   {"drive": "floppy"|"cdrom", "path": FILE[, "readonly": true]}   puts FILE in the drive
 *   {"drive": "floppy"|"cdrom", "eject": true}                       empties it
 * Exactly one of "path" and "eject": true; no other member. With "path" the client may send
 * the image's open descriptor along (SCM_RIGHTS on the request's bytes): a running monitor
 * opens no new file itself (base/fdcache.h), so the descriptor is how a new image gets in. The
 * monitor's op decides which drives it has (ENODEV for one it lacks, ENOTSUP for a kind it does not
 * implement).
 */
#ifndef BAREIRON_MGR_CONTROL_MEDIA_H
#define BAREIRON_MGR_CONTROL_MEDIA_H

#include <jansson.h>

#include "base/error.h"
#include "mgr/control_server.h"

/* The drives media-change knows, for the client and the server alike. */
#define CONTROL_DRIVE_FLOPPY "floppy"
#define CONTROL_DRIVE_CDROM "cdrom"

/* Checks (args) and calls ops->media_change with (fd), the descriptor the client sent with the
 * request (-1: none; not closed here). Returns 0 or -errno with (err) set. */
MUST_CHECK int control_media_change(const struct control_ops *ops, void *opaque, int fd,
                                    json_t *args, json_t *result, struct error *err);

#endif
