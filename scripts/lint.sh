#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Static checks, in five stages (all must pass; the whole run takes a few seconds):
#  1. the layering rule of docs/architecture.md ("Layers"), checked on the #include "..." lines
#     of src/: every edge between two areas must be allowed below, or it is printed as
#     `file:line: includes X (layer A may not depend on B)`;
#  2. the hard size limits of docs/architecture.md ("Code size"): no C file over 1000 lines, no
#     function over 100 lines (the soft targets, 600 and 60, are left to review);
#  3. references: no file cites a document the repository does not have (the team's style
#     guide by section, or a path under docs/ that does not exist), so every comment can be
#     checked by whoever reads it;
#  4. tests/unit/ mirrors src/: every tests/unit/<dir>/test_<module>[_<what>].c has its module
#     src/<dir>/<module>.c (test_options.c beside src/vmm/options.c, not under core/);
#  5. cppcheck (warning + portability) over src/ and the guest payloads (tests/guest/), false
#     positives suppressed inline with a `cppcheck-suppress <id>` comment and a reason.
# Usage: scripts/lint.sh [--layers-only | --sizes-only | --refs-only | --mirror-only |
#                         --cppcheck-only]
set -euo pipefail
cd "$(dirname "$0")/.."

stage=${1:-all}
status=0

# Known edges that break the rule, each with the reason it is tolerated for now. A line is
# "<file> <included header> <reason>". They are printed as notes, not failures; remove a line
# when its edge is gone. Do not add to this list to silence a new violation: fix the include.
known_exceptions='
'

layers() {
    echo "== lint: layering (docs/architecture.md)"
    # shellcheck disable=SC2016 # awk programs, not shell
    find src -name '*.[ch]' | LC_ALL=C sort |
        xargs awk '/^[[:space:]]*#[[:space:]]*include[[:space:]]*"/ { print FILENAME ":" FNR ":" $0 }' |
        awk -v known="$known_exceptions" '
        BEGIN {
            # Which areas each area may include headers from (its own is always allowed).
            # base <- core <- boot, dev <- vmm; block, net, ui <- base only; base <- mgr <- cli.
            dep["base"] = ""
            dep["core"] = "base"
            dep["boot"] = "base core"
            dep["dev"] = "base core"
            dep["block"] = "base"
            dep["net"] = "base"
            dep["ui"] = "base"
            dep["mgr"] = "base"
            dep["cli"] = "base mgr"
            dep["vmm"] = "base core boot dev ui"
            # Single headers that are the only door into an area from the outside:
            # devices and the monitor reach the backends through their APIs.
            door["dev", "block/blk.h"] = 1
            door["vmm", "block/blk.h"] = 1
            # A network adapter reaches its backend through net.h only; the monitor creates
            # the backends (slirp.h, tap.h) and parses forward rules (hostfwd.h).
            door["dev", "net/net.h"] = 1
            door["vmm", "net/net.h"] = 1
            door["vmm", "net/slirp.h"] = 1
            door["vmm", "net/tap.h"] = 1
            door["vmm", "net/hostfwd.h"] = 1
            # The manager records the format a disk image really has with the header probe
            # of the block layer (disk_info_get), never opening the image for I/O.
            door["mgr", "block/image.h"] = 1
            # The control protocol server lives in libmgr so that the client (cli) and the
            # server (the monitor) share one codec; the monitor links only that part.
            door["vmm", "mgr/control_server.h"] = 1
            for (d in door) {
                split(d, dd, SUBSEP)
                split(dd[2], da, "/")
                doors[dd[1], da[1]] = doors[dd[1], da[1]] (doors[dd[1], da[1]] == "" ? "" : ", ") dd[2]
            }
            n = split(known, k, "\n")
            for (i = 1; i <= n; i++) {
                if (split(k[i], kw, " ") < 2)
                    continue
                why = k[i]
                sub(/^[^ ]+ [^ ]+ */, "", why)
                exc[kw[1] " " kw[2]] = why
            }
            bad = 0
        }
        {
            # $0 is "file:line:#include \"x/y.h\"   /* comment */"
            split($0, f, ":")
            file = f[1]; line = f[2]
            if (!match($0, /"[^"]*"/))
                next
            inc = substr($0, RSTART + 1, RLENGTH - 2)
            split(file, p, "/")
            from = p[2]
            if (!(from in dep)) {
                printf "%s:%s: includes %s (layer %s has no layering rule in scripts/lint.sh)\n", file, line, inc, from
                bad++
                next
            }
            if (inc !~ /\// || inc ~ /^\.|\/\.\.?\//) {
                printf "%s:%s: includes %s (include paths are rooted at src/: \"area/file.h\")\n", file, line, inc
                bad++
                next
            }
            split(inc, q, "/")
            to = q[1]
            if (to == from)
                next
            if ((" " dep[from] " ") ~ (" " to " ") || ((from, inc) in door))
                next
            # The image tools (bareiron disk ...) are the block layer behind a command line.
            if (from == "cli" && to == "block" && file ~ /^src\/cli\/cmd_disk/ &&
                (inc == "block/blk.h" || inc == "block/image.h"))
                next
            if ((file " " inc) in exc) {
                printf "%s:%s: note: includes %s (known exception to the layering: %s)\n", file, line, inc, exc[file " " inc]
                next
            }
            if ((from, to) in doors)
                printf "%s:%s: includes %s (layer %s may reach %s only through %s)\n", file, line, inc, from, to, doors[from, to]
            else
                printf "%s:%s: includes %s (layer %s may not depend on %s)\n", file, line, inc, from, to
            bad++
        }
        END {
            if (bad) {
                printf "lint: %d layering violation(s)\n", bad
                exit 1
            }
        }' || status=1
}

sizes() {
    echo "== lint: size limits (C files <= 1000 lines, functions <= 100 lines)"
    # Functions are Linux-style: the body runs from a "{" to a "}" both in column 0.
    # shellcheck disable=SC2016 # an awk program, not shell
    git ls-files '*.c' | grep -v '^tests/fuzz/corpus/' | xargs awk '
        function check_file_length() {
            if (file != "" && lines > 1000) {
                printf "%s: %d lines (limit 1000): split the file\n", file, lines
                bad++
            }
        }
        FNR == 1 { check_file_length(); file = FILENAME; start = 0 }
        { lines = FNR }
        /^\{/ { start = FNR; name = prev; next }
        /^\}/ {
            if (start && FNR - start + 1 > 100) {
                sub(/\(.*/, "", name)
                name = w[split(name, w, /[ *]+/)]
                printf "%s:%d: function %s is %d lines (limit 100): split it\n", FILENAME, start, name, FNR - start + 1
                bad++
            }
            start = 0
            next
        }
        !start && /\(/ { prev = $0 }
        END {
            check_file_length()
            if (bad) {
                printf "lint: %d size violation(s)\n", bad
                exit 1
            }
        }' || status=1
}

# Tracked and new (not ignored) text files, without the fuzz corpus.
text_files() {
    git ls-files --cached --others --exclude-standard | grep -v '^tests/fuzz/corpus/' |
        while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done
}

references() {
    echo "== lint: references to documents outside the repository"
    local bad=0 hits ref path
    # The style guide lives outside the repository: cite the spec or a docs/ file instead.
    # (The pattern is spelled so that this script does not match itself.)
    hits=$(text_files | xargs grep -InE 'GUID[E]([[:space:]]*§|\.md)' || true)
    if [ -n "$hits" ]; then
        printf '%s\n' "$hits" | sed 's/$/   <- cites the style guide, which is not in the repository/'
        bad=1
    fi
    # Every docs/*.md path named anywhere must exist (relative paths like ../docs/ too).
    while IFS=: read -r file line ref; do
        path=$(printf '%s' "$ref" | sed -E 's#^(\.\./)+##')
        if [ ! -e "$path" ]; then
            echo "$file:$line: cites $ref, which is not in the repository"
            bad=1
        fi
    done < <(text_files | xargs grep -InoE '(\.\./)*docs/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\.md' || true)
    [ "$bad" = 0 ] || {
        echo "lint: comments cite documents that are not in the repository"
        status=1
    }
}

mirror() {
    echo "== lint: tests/unit mirrors src/"
    local bad=0 t dir name stem
    while IFS= read -r t; do
        dir=${t#tests/unit/}
        dir=${dir%/*}
        name=${t##*/test_}
        name=${name%.c}
        stem=$name
        # test_qcow2_hostile.c may test qcow2.c: drop _<what> suffixes until a module matches.
        while [ ! -f "src/$dir/$stem.c" ]; do
            if [[ $stem != *_* ]]; then
                echo "$t: no src/$dir/$name.c (nor a module its name starts with) to test"
                bad=1
                break
            fi
            stem=${stem%_*}
        done
    done < <(find tests/unit -name 'test_*.c' | LC_ALL=C sort)
    [ "$bad" = 0 ] || {
        echo "lint: tests/unit/<dir>/test_<module>.c must test src/<dir>/<module>.c"
        status=1
    }
}

cppcheck_src() {
    echo "== lint: cppcheck"
    cppcheck --quiet -j2 --std=c11 \
        --enable=warning,portability --inline-suppr --error-exitcode=1 \
        --suppress=missingIncludeSystem -I src -I tests/guest src tests/guest || status=1
}

case "$stage" in
--layers-only) layers ;;
--sizes-only) sizes ;;
--refs-only) references ;;
--mirror-only) mirror ;;
--cppcheck-only) cppcheck_src ;;
all)
    layers
    sizes
    references
    mirror
    cppcheck_src
    ;;
*)
    echo "usage: $0 [--layers-only | --sizes-only | --refs-only | --mirror-only | --cppcheck-only]" >&2
    exit 2
    ;;
esac
[ "$status" = 0 ] && echo "lint: passed"
exit "$status"
