# SPDX-License-Identifier: MIT
"""Corrupt and hostile qcow2 images, crash safety and the check/lock behaviour of `bareiron disk`.

Hand-edited headers and tables must be refused with one clear line (exit 6, or 1 for an I/O
error found while reading), never a crash or an unbounded allocation. A writer killed with
SIGKILL in the middle of allocating writes leaves at worst leaked clusters: `qemu-img check`
reports no corruption.
"""
import resource
import signal
import subprocess
import time

import pytest

from conftest import run
from disk_util import (blk_tool, need_qemu_img, one_line_error, patch, qemu_img, random_raw,
                       read_be64, wait_unlocked)


@pytest.fixture
def image(bareiron, tmp_path):
    """A 64 KiB-cluster qcow2 with some data: header, refcount table at 64K, refcount block,
    L1 table at 192K (bareiron's layout), then L2 and data."""
    img = tmp_path / "c.qcow2"
    src = random_raw(tmp_path / "src.raw", 4 << 20, 1 << 20)
    r = run([bareiron, "disk", "convert", src, img])
    assert r.returncode == 0, r.stderr
    return img


def limited(cmd):
    """Runs (cmd) with a 512 MiB address-space limit: no unbounded allocation. ASan builds
    cannot run under an address-space limit; there ASan's own allocator checks stand in."""
    def lim():
        resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
    args = [str(c) for c in cmd]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, preexec_fn=lim)
    if "AddressSanitizer failed to allocate" in r.stderr:
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return r


HEADER_CASES = {
    "bad magic": (0, ">I", 0x514649fa),
    "version 9": (4, ">I", 9),
    "cluster_bits 30": (20, ">I", 30),
    "huge L1 size": (36, ">I", 0x7fffffff),
    "refcount table at offset 0": (48, ">Q", 0),
    "L1 past end of file": (40, ">Q", 1 << 40),
    "encryption": (32, ">I", 1),
    "external data file": (72, ">Q", 1 << 2),
    "extended L2": (72, ">Q", 1 << 4),
    "unknown incompatible bit": (72, ">Q", 1 << 20),
    "huge refcount table": (56, ">I", 0x100000),
    "virtual size beyond L1": (24, ">Q", 1 << 50),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_corrupt_header_refused(bareiron, image, tmp_path, case):
    off, fmt, val = HEADER_CASES[case]
    patch(image, off, fmt, val)
    r = limited([bareiron, "disk", "convert", image, tmp_path / "o.raw", "--format", "raw",
                 "--source-format", "qcow2"])
    line = one_line_error(r)
    assert r.returncode == 6, line
    assert str(image) in line
    r = limited([bareiron, "disk", "info", image, "--format", "qcow2"])
    assert r.returncode == 6 and one_line_error(r)


def test_l2_entry_past_eof(bareiron, image, tmp_path):
    l1 = read_be64(image, 40)
    l2 = read_be64(image, l1) & 0x00fffffffffffe00
    patch(image, l2, ">Q", (1 << 63) | (1 << 45))  # first data cluster at 32 TiB
    r = limited([bareiron, "disk", "convert", image, tmp_path / "o.raw", "--format", "raw"])
    line = one_line_error(r)
    assert r.returncode == 1 and "read at 0" in line
    need_qemu_img()
    c = limited([bareiron, "disk", "check", image])
    assert c.returncode == 6, c.stdout + c.stderr


def test_l1_entry_past_eof(bareiron, image, tmp_path):
    l1 = read_be64(image, 40)
    patch(image, l1, ">Q", (1 << 63) | (1 << 44))
    r = limited([bareiron, "disk", "convert", image, tmp_path / "o.raw", "--format", "raw"])
    assert r.returncode == 6 and "L1 entry 0" in one_line_error(r)


def test_garbage_compressed_cluster(bareiron, tmp_path):
    need_qemu_img()
    src = tmp_path / "src.raw"
    src.write_bytes(b"compressible bareiron data " * 40000)
    img = tmp_path / "z.qcow2"
    qemu_img("convert", "-c", "-O", "qcow2", src, img)
    l1 = read_be64(img, 40)
    l2 = read_be64(img, l1) & 0x00fffffffffffe00
    entry = read_be64(img, l2)
    assert entry & (1 << 62)
    host = entry & ((1 << 54) - 1)
    patch(img, host, ">QQQQ", 0xdeadbeef, 0xfeedface, 0, 0xffffffffffffffff)
    r = limited([bareiron, "disk", "convert", img, tmp_path / "o.raw", "--format", "raw"])
    assert r.returncode == 1 and one_line_error(r)


def test_truncated_file(bareiron, image, tmp_path):
    with open(image, "r+b") as f:
        f.truncate(100)
    r = limited([bareiron, "disk", "info", image])
    assert r.returncode == 6 and one_line_error(r)


def test_check_finds_corruption_and_repairs(bareiron, image):
    need_qemu_img()
    # the refcount of the L1 table's cluster (cluster 3 of bareiron's layout) set to 0
    rb = read_be64(image, read_be64(image, 48))
    patch(image, rb + 3 * 2, ">H", 0)
    r = run([bareiron, "disk", "check", image])
    assert r.returncode == 6 and "corrupt" in r.stdout
    assert qemu_img("check", image, check=False).returncode == 2
    r = run([bareiron, "disk", "check", image, "--repair"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert qemu_img("check", image, check=False).returncode == 0
    assert run([bareiron, "disk", "check", image]).returncode == 0


def test_in_use_image_refused(bareiron, build_dir, image):
    p = subprocess.Popen([blk_tool(build_dir), "crash", image, "1"], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"started\n"
        r = run([bareiron, "disk", "resize", image, "8M"])
        assert r.returncode == 4 and "in use by another process" in one_line_error(r)
        assert run([bareiron, "disk", "info", image]).returncode == 0  # headers only
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("cluster", ["4K", "64K"])
def test_sigkill_during_writes_leaves_no_corruption(bareiron, build_dir, tmp_path, cluster):
    need_qemu_img()
    img = tmp_path / "k.qcow2"
    assert run([bareiron, "disk", "create", img, "64M", "--cluster-size", cluster]).returncode == 0
    for i, delay in enumerate((0.3, 0.7, 1.1)):
        p = subprocess.Popen([blk_tool(build_dir), "crash", img, str(i + 1)],
                             stdout=subprocess.PIPE)
        assert p.stdout.readline() == b"started\n"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        wait_unlocked(img)  # the killed writer's io_uring may hold the lock a moment longer
        c = qemu_img("check", img, check=False)
        assert c.returncode in (0, 3), c.stdout + c.stderr  # 3: leaks only
        assert "ERROR" not in c.stdout
        r = run([bareiron, "disk", "check", img])
        assert r.returncode == 0, r.stdout + r.stderr


def set_corrupt_bit(img):
    patch(img, 72, ">Q", read_be64(img, 72) | 2)


def test_corrupt_bit_repaired(bareiron, image, tmp_path):
    """An image QEMU marked corrupt (here: a zeroed refcount and the corrupt bit) is refused
    for writing with a message that names the repair, and `check --repair` repairs it and
    clears the mark (issue 7)."""
    need_qemu_img()
    rb = read_be64(image, read_be64(image, 48))
    patch(image, rb + 3 * 2, ">H", 0)
    set_corrupt_bit(image)
    r = run([bareiron, "disk", "resize", image, "8M"])
    line = one_line_error(r)
    assert r.returncode == 6 and "marked corrupt" in line and "disk check --repair" in line, line
    r = run([bareiron, "disk", "check", image])
    assert r.returncode == 6 and "marked corrupt" in r.stdout, r.stdout + r.stderr
    r = run([bareiron, "disk", "check", image, "--repair"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mark cleared" in r.stdout, r.stdout
    assert '"corrupt": false' in run([bareiron, "disk", "info", image, "--json"]).stdout
    c = qemu_img("check", image, check=False)
    assert c.returncode == 0, c.stdout + c.stderr
    assert run([bareiron, "disk", "check", image]).returncode == 0
    assert run([bareiron, "disk", "resize", image, "8M"]).returncode == 0


def test_corrupt_bit_with_bad_l2_entries_repaired(bareiron, image, tmp_path):
    """L2 entries that point past the end of the file or into the header are what makes QEMU
    set the corrupt bit: --repair turns them into zero clusters (their data is lost either
    way), fixes the refcounts and clears the mark; the rest of the data is intact."""
    need_qemu_img()
    ref = tmp_path / "ref.raw"
    qemu_img("convert", "-O", "raw", image, ref)
    l2 = read_be64(image, read_be64(image, 40)) & 0x00fffffffffffe00
    entries = [read_be64(image, l2 + 8 * i) for i in range(64)]
    data = [i for i, e in enumerate(entries) if e & 0x00fffffffffffe00]
    assert len(data) >= 3
    patch(image, l2 + 8 * data[0], ">Q", (1 << 63) | (1 << 45))  # past the end of the file
    patch(image, l2 + 8 * data[1], ">Q", (1 << 63) | 0)          # (unallocated: fine)
    patch(image, l2 + 8 * data[2], ">Q", (1 << 63) | 65536)      # the refcount table
    set_corrupt_bit(image)
    r = run([bareiron, "disk", "check", image])
    assert r.returncode == 6, r.stdout + r.stderr
    r = run([bareiron, "disk", "check", image, "--repair"])
    assert r.returncode == 0, r.stdout + r.stderr
    c = qemu_img("check", image, check=False)
    assert c.returncode == 0, c.stdout + c.stderr
    assert '"corrupt": false' in run([bareiron, "disk", "info", image, "--json"]).stdout
    with open(ref, "r+b") as f:  # what the repaired image must read
        for i in data[:3]:
            f.seek(i * 65536)
            f.write(b"\0" * 65536)
    assert qemu_img("compare", "-F", "raw", image, ref, check=False).returncode == 0
