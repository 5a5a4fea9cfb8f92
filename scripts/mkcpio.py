#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes a gzip'd newc cpio archive of a directory tree, for an initramfs, without root.

Usage: mkcpio.py ROOT OUT [--level N] [--dev-null]
The archive starts with /dev and /dev/console (and /dev/null with --dev-null), made here as
device nodes since an unprivileged staging tree cannot hold them, then every directory, file and
symlink under ROOT in sorted order, with their permission bits and uid/gid 0. gzip level N
(default 6); mtime 0 so that the same tree gives the same bytes.
Used by scripts/mkinitramfs.sh and scripts/nested-kvm.sh.
"""
import argparse
import gzip
import os
import stat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--dev-null", action="store_true")
    a = ap.parse_args()
    ino = [300000]

    def entry(f, name, mode, data=b"", rdev=(0, 0)):
        ino[0] += 1
        hdr = "070701" + "".join("%08x" % v for v in (
            ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0))
        f.write(hdr.encode() + name.encode() + b"\0")
        f.write(b"\0" * ((4 - (110 + len(name) + 1) % 4) % 4))
        f.write(data)
        f.write(b"\0" * ((4 - len(data) % 4) % 4))

    with gzip.GzipFile(a.out, "wb", compresslevel=a.level, mtime=0) as f:
        entry(f, "dev", stat.S_IFDIR | 0o755)
        entry(f, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        if a.dev_null:
            entry(f, "dev/null", stat.S_IFCHR | 0o666, rdev=(1, 3))
        for d, dirs, files in os.walk(a.root):
            dirs.sort()
            rel = os.path.relpath(d, a.root)
            if rel != ".":
                entry(f, rel, stat.S_IFDIR | 0o755)
            for n in sorted(files):
                p = os.path.join(d, n)
                name = os.path.normpath(os.path.join(rel, n))
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    entry(f, name, stat.S_IFLNK | 0o777, os.readlink(p).encode())
                else:
                    with open(p, "rb") as src:
                        entry(f, name, stat.S_IFREG | (st.st_mode & 0o777), src.read())
        entry(f, "TRAILER!!!", 0)


if __name__ == "__main__":
    main()
