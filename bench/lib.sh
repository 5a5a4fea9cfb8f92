# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# shellcheck disable=SC2154 # $bench_name comes from the caller
# Shared by the bench/*.sh scripts (sourced, not run): the prologue they all had (--help, the
# checks for what must be built or installed, the scratch directory, the tiny multiboot guests)
# and the statistics they print. A script starts with
#     set -eu
#     bench_name=NAME # prefixes its error messages
#     . "$(dirname "$0")/lib.sh"
# before it reads its arguments. Sets $here, the repository.

here=$(cd "$(dirname "$0")/.." && pwd)

# -h or --help as the first argument: prints the script's header comment and exits 0.
case "${1:-}" in
-h | --help)
    awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
    exit 0
    ;;
esac

# bench_fail MESSAGE: prints "NAME: MESSAGE" on stderr and exits 1.
bench_fail() {
    echo "$bench_name: $*" >&2
    exit 1
}

# bench_need_built FILE...: each FILE (a path in the build directory) must exist.
bench_need_built() {
    for f; do
        [ -e "$f" ] || bench_fail "$f not built"
    done
}

# bench_need_qemu: sets $qemu to the path of qemu-system-x86_64, or fails.
bench_need_qemu() {
    # shellcheck disable=SC2034 # for the caller
    qemu=$(command -v qemu-system-x86_64) || bench_fail "qemu-system-x86_64 missing"
}

# bench_need_kvm NESTED: tiny guests run directly on real KVM and on kvm-pvm
# (scripts/host-kind.sh); without a usable /dev/kvm the benchmark is skipped (status 0), naming
# the nested one that measures the same (NESTED).
bench_need_kvm() {
    if [ "$("$here/scripts/host-kind.sh")" = none ]; then
        echo "skipped: no usable /dev/kvm here ($1)"
        exit 0
    fi
}

# bench_tmp: makes the scratch directory $tmp, removed on exit.
bench_tmp() {
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT INT TERM
}

# bench_guest FILE KIND [FILE KIND]...: writes multiboot images (tests/integration/vmm_util.py)
# whose code is KIND: halt (cli, then the image's hlt loop), spin (jmp $) or exit (leaves at
# the first instruction through isa-debug-exit with 0: exit status 1).
bench_guest() {
    /usr/bin/python3 - "$here/tests/integration" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import vmm_util as u
code = {"halt": b"\xfa", "spin": b"\xeb\xfe", "exit": u.debug_exit(0)}
args = sys.argv[2:]
for path, kind in zip(args[0::2], args[1::2]):
    open(path, "wb").write(u.multiboot_image(code[kind]))
PY
}

# bench_min_median DIVISOR: reads one number a line and prints "min median", each divided by
# DIVISOR, with one decimal (an even count's median is the mean of the middle two); "- -"
# when there is no number.
bench_min_median() {
    sort -n | awk -v d="$1" '{ a[NR] = $1 } END {
        if (NR == 0) { print "- -"; exit }
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.1f %.1f\n", a[1] / d, m / d }'
}

# bench_ratio A B: A / B with two decimals, or n/a unless B is a positive number.
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'
}
