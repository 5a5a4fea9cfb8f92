#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs qemu-system-x86_64 with ARGS under gdb, for scripts/nested-kvm.sh (NESTED_QEMU): should
# QEMU fail one of its own assertions (glib's g_assertion_message_expr), prints the backtrace,
# the code that made the failing call (for TCG, the generated code: which helper, with which
# arguments), and the registers of the vCPU whose thread it was (cpu_dump_state() of
# current_cpu, both exported by Debian's QEMU for its modules; without them only the backtrace
# shows), then kills QEMU. gdb's lines go to stdout, with QEMU's console. docs/testing.md,
# "When QEMU itself aborts".
# Usage: scripts/qemu-gdb.sh QEMU-ARGS...   (QEMU_GDB_QEMU: the QEMU, default from PATH)
set -eu
qemu=$(command -v "${QEMU_GDB_QEMU:-qemu-system-x86_64}") || {
    echo "qemu-gdb: ${QEMU_GDB_QEMU:-qemu-system-x86_64} missing" >&2
    exit 1
}
command -v gdb >/dev/null || {
    echo "qemu-gdb: gdb missing: apt-get install gdb" >&2
    exit 1
}
# shellcheck disable=SC2016 # gdb expressions, not shell
exec gdb -q -batch -nx \
    -ex 'set pagination off' -ex 'set breakpoint pending on' \
    -ex 'handle SIGUSR1 SIGUSR2 SIGPIPE SIGALRM SIG34 SIG35 nostop noprint pass' \
    -ex 'break g_assertion_message_expr' -ex run \
    -ex 'bt 12' -ex 'frame 2' -ex 'x/10i $pc-36' \
    -ex 'call (void)cpu_dump_state(*(void **)&current_cpu, *(void **)&stderr, 0)' \
    -ex 'call (int)fflush(0)' -ex kill \
    --args "$qemu" "$@" 2>&1
