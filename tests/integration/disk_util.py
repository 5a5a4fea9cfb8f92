# SPDX-License-Identifier: MIT
"""Helpers for the disk tests: qemu-img (the oracle), blk_tool and image patching."""
import fcntl
import os
import shutil
import struct
import time

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


FLOCK = "hhqqi4x"  # struct flock: l_type, l_whence, l_start, l_len, l_pid (x86-64, arm64)


def lock_holder_type(path):
    """The type of a lock another open file description holds on (path), or F_UNLCK."""
    req = struct.pack(FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    with open(path, "rb") as f:
        res = fcntl.fcntl(f, fcntl.F_OFD_GETLK, req)
    return struct.unpack(FLOCK, res)[0]


def wait_unlocked(path, timeout=10.0):
    """Waits until nobody holds a lock on (path). A process killed with SIGKILL can keep its
    OFD lock for a moment after wait() returns: its io_uring instance holds a reference to the
    open file until the kernel's ring teardown (a workqueue) drops it. Polls, bounded."""
    deadline = time.monotonic() + timeout
    while lock_holder_type(path) != fcntl.F_UNLCK:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} still locked {timeout} s after its owner died")
        time.sleep(0.005)
