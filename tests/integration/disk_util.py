# SPDX-License-Identifier: MIT
"""Helpers for the disk tests: qemu-img (the oracle), blk_tool and image patching."""
import os
import shutil
import struct

import pytest

from conftest import run


def need_qemu_img():
    if not shutil.which("qemu-img"):
        pytest.skip("qemu-img is not installed (apt-get install qemu-utils)")


def qemu_img(*args, check=True, timeout=120):
    r = run(["qemu-img", *args], timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"qemu-img {' '.join(map(str, args))}: {r.stderr}")
    return r


def blk_tool(build_dir):
    return build_dir / "tests" / "unit" / "block" / "blk_tool"


def random_raw(path, size, data_bytes, seed=1):
    """A raw file of (size) bytes whose first (data_bytes) are pseudo-random, in 64 KiB runs
    separated by holes so images have both allocated and unallocated clusters."""
    rnd = __import__("random").Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        off = 0
        while off < data_bytes:
            f.seek(off)
            f.write(rnd.randbytes(65536))
            off += 65536 * rnd.choice((1, 1, 2, 3))
    return path


def patch(path, off, fmt, *vals):
    """Writes struct-packed (vals) at (off) of (path)."""
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(struct.pack(fmt, *vals))


def read_be64(path, off):
    with open(path, "rb") as f:
        f.seek(off)
        return struct.unpack(">Q", f.read(8))[0]


def one_line_error(r):
    """A clean failure: a status (not a signal) and one 'bareiron: ...' line."""
    assert r.returncode > 0, f"crashed or succeeded: {r.returncode} {r.stderr}"
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) >= 1 and lines[-1].startswith("bareiron: "), r.stderr
    return lines[-1]


def size_of(path):
    return os.path.getsize(path)
