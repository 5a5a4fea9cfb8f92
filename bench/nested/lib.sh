# SPDX-License-Identifier: MIT
# shellcheck shell=sh disable=SC2154 # $here, $build_dir and $tmp come from the caller
# Shared by bench/nested*.sh (sourced, not run, after bench/lib.sh): ships programs with their
# libraries and QEMU's firmware into the extra directory that scripts/nested-kvm.sh puts in L1
# as /x, runs L1 once and reports how it ended. The caller sets $here, $build_dir and $tmp.

# nested_ship ROOT "FIRMWARE..." SRC DEST [SRC DEST]...: copies each program SRC to ROOT/DEST
# and every library ldd lists for them (and the loader) to ROOT at the same paths, as regular
# files, and each /usr/share/FIRMWARE that exists to ROOT/usr/share/FIRMWARE.
nested_ship() {
    ship_root=$1
    ship_fw=$2
    shift 2
    ship_bins=""
    while [ $# -ge 2 ]; do
        mkdir -p "$ship_root$(dirname "$2")"
        cp -L "$1" "$ship_root$2"
        ship_bins="$ship_bins $1"
        shift 2
    done
    # shellcheck disable=SC2086 # a list of paths without blanks
    for lib in $(for b in $ship_bins; do ldd "$b"; done | grep -o '/[^ ]*' | sort -u); do
        mkdir -p "$ship_root$(dirname "$lib")"
        cp -L "$lib" "$ship_root$lib"
    done
    for f in $ship_fw; do
        if [ -e "/usr/share/$f" ]; then
            mkdir -p "$ship_root/usr/share/$(dirname "$f")"
            cp -L "/usr/share/$f" "$ship_root/usr/share/$f"
        fi
    done
}

# nested_run CASES EXTRA SAVED_LOG: one L1 run (one CPU unless NESTED_SMP says otherwise: two L1
# CPUs have hung in TCG); sets $log (its console output, also copied to SAVED_LOG) and $rc.
nested_run() {
    log="$tmp/log"
    set +e
    NESTED_SMP=${NESTED_SMP:-1} NESTED_TIMEOUT=${NESTED_TIMEOUT:-1800} \
        "$here/scripts/nested-kvm.sh" "$build_dir" "$1" "$2" >"$log" 2>&1
    rc=$?
    set -e
    cp "$log" "$3" 2>/dev/null || true
}

# nested_status NAME SAVED_LOG: after nested_run, exits 0 with "skipped" when L1 had no usable
# /dev/kvm, and reports a failed L1 run (its figures may still be partial).
nested_status() {
    if [ "$rc" = 4 ]; then
        echo "skipped: L1 has no usable /dev/kvm"
        exit 0
    fi
    if [ "$rc" != 0 ]; then
        tail -n 20 "$log" >&2
        echo "$1: scripts/nested-kvm.sh failed ($rc); log in $2" >&2
    fi
}

# nested_bench_runs CASE SAVED_LOG: after nested_status, writes the case's
# "BENCH <fields...>" lines, without "BENCH", to $tmp/runs: from "NESTED-OUT CASE BENCH ...",
# or when L1 ran out of time before the case ended, from the "LIVE-BENCH ..." copies it printed
# on the console. Fails when there are none; notes when the figures are partial.
nested_bench_runs() {
    grep "^NESTED-OUT $1 BENCH " "$log" | cut -d' ' -f4- >"$tmp/runs" || true
    if [ ! -s "$tmp/runs" ]; then
        grep '^LIVE-BENCH ' "$log" | cut -d' ' -f2- >"$tmp/runs" || true
    fi
    [ -s "$tmp/runs" ] || bench_fail "no BENCH lines; log in $2"
    [ "$rc" = 0 ] || echo "note: partial figures (L1 did not finish)"
}
