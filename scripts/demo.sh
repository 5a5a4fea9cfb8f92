#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots a demo VM: Debian's stock kernel and the project's busybox initramfs.
set -eu
echo "demo: not wired yet (issue 2)"
