# SPDX-License-Identifier: MIT
"""qcow2 internal snapshots (`bareiron disk snapshot`, issue 13) with qemu-img as the oracle.

Snapshots we create must be listed by `qemu-img snapshot -l`, hold the contents of the disk
when they were taken (`qemu-img convert -l snapshot.name=...`), and the image must pass
`qemu-img check` after every operation; snapshots qemu-img made must be listed, applied and
deleted correctly by us. Writes after a snapshot (through the block layer, blk_tool) copy what
the snapshot shares, and a writer killed while doing so leaves leaks at worst.
"""
import fcntl
import os
import signal
import struct
import subprocess
import time

import pytest

from conftest import run
from disk_util import blk_tool, need_qemu_img, one_line_error, qemu_img, wait_unlocked

SIZE = 32 << 20


@pytest.fixture(autouse=True)
def _qemu_img():
    need_qemu_img()


def snap(bareiron, img, *args):
    r = run([bareiron, "disk", "snapshot", img, *args])
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def writes(build_dir, img, ref, seed, n=150):
    """(n) random writes/discards on (img), mirrored on the raw file (ref)."""
    r = run([blk_tool(build_dir), "pattern", img, ref, str(seed), str(n)])
    assert r.returncode == 0, r.stderr


def checked(img):
    r = qemu_img("check", img, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def qemu_names(img):
    out = qemu_img("snapshot", "-l", img).stdout.splitlines()
    return [l.split()[1] for l in out[2:] if l.strip()]


def snapshot_raw(img, name, out):
    qemu_img("convert", "-O", "raw", "-l", f"snapshot.name={name}", img, out)
    return out.read_bytes()


def same(img, ref):
    r = qemu_img("compare", "-F", "raw", img, ref, check=False)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("compat,cluster", [("1.1", "64K"), ("1.1", "4K"), ("0.10", "64K")])
def test_ours_read_by_qemu(bareiron, build_dir, tmp_path, compat, cluster):
    img, ref = tmp_path / "a.qcow2", tmp_path / "ref.raw"
    qemu_img("create", "-f", "qcow2", "-o", f"compat={compat},cluster_size={cluster}", img,
             str(SIZE))
    ref.write_bytes(b"\0" * SIZE)
    saved = {}
    for i, name in enumerate(["one", "two", "three"]):
        writes(build_dir, img, ref, 10 + i)
        snap(bareiron, img, "create", name)
        saved[name] = ref.read_bytes()
        checked(img)
    assert qemu_names(img) == ["one", "two", "three"]
    writes(build_dir, img, ref, 20)  # copy-on-write of everything the snapshots share
    checked(img)
    same(img, ref)
    for name, data in saved.items():
        assert snapshot_raw(img, name, tmp_path / "s.raw") == data, name
    # delete the middle one: the others stay intact
    snap(bareiron, img, "delete", "two")
    checked(img)
    assert qemu_names(img) == ["one", "three"]
    for name in ("one", "three"):
        assert snapshot_raw(img, name, tmp_path / "s.raw") == saved[name], name
    same(img, ref)
    # revert, write, revert again
    snap(bareiron, img, "apply", "one")
    checked(img)
    ref.write_bytes(saved["one"])
    same(img, ref)
    writes(build_dir, img, ref, 30)
    same(img, ref)
    checked(img)
    snap(bareiron, img, "apply", "three")
    ref.write_bytes(saved["three"])
    same(img, ref)
    snap(bareiron, img, "delete", "one")
    snap(bareiron, img, "delete", "three")
    checked(img)
    assert qemu_names(img) == []
    same(img, ref)
    r = run([bareiron, "disk", "check", img])
    assert r.returncode == 0 and "leaked" not in r.stdout, r.stdout
    # qemu-img applies and deletes ours too
    snap(bareiron, img, "create", "last")
    last = ref.read_bytes()
    writes(build_dir, img, ref, 40)
    qemu_img("snapshot", "-a", "last", img)
    ref.write_bytes(last)
    same(img, ref)
    qemu_img("snapshot", "-d", "last", img)
    checked(img)


def test_qemu_snapshots_used_by_us(bareiron, build_dir, tmp_path):
    img, ref = tmp_path / "q.qcow2", tmp_path / "ref.raw"
    qemu_img("create", "-f", "qcow2", img, str(SIZE))
    ref.write_bytes(b"\0" * SIZE)
    saved = {}
    for i, name in enumerate(["qa", "qb", "qc"]):
        run(["qemu-io", "-c", f"write -P {i + 1} {i}M 3M", img])
        qemu_img("snapshot", "-c", name, img)
        saved[name] = snapshot_raw(img, name, tmp_path / "s.raw")
    out = snap(bareiron, img, "list")
    assert [l.split()[1] for l in out.splitlines()[1:]] == ["qa", "qb", "qc"]
    r = run([bareiron, "disk", "check", img])
    assert r.returncode == 0 and "no errors" in r.stdout, r.stdout
    qemu_img("convert", "-O", "raw", img, ref)
    writes(build_dir, img, ref, 7)
    checked(img)
    snap(bareiron, img, "delete", "qb")
    checked(img)
    assert qemu_names(img) == ["qa", "qc"]
    assert snapshot_raw(img, "qa", tmp_path / "s.raw") == saved["qa"]
    assert snapshot_raw(img, "qc", tmp_path / "s.raw") == saved["qc"]
    snap(bareiron, img, "apply", "qa")
    checked(img)
    ref.write_bytes(saved["qa"])
    same(img, ref)
    snap(bareiron, img, "apply", "3")  # by ID: qc
    ref.write_bytes(saved["qc"])
    same(img, ref)
    checked(img)


def test_snapshot_errors(bareiron, tmp_path):
    raw = tmp_path / "d.raw"
    raw.write_bytes(b"\0" * 65536)
    r = run([bareiron, "disk", "snapshot", raw, "create", "x"])
    assert r.returncode == 6 and "disk convert" in one_line_error(r)
    img = tmp_path / "a.qcow2"
    assert run([bareiron, "disk", "create", img, "8M"]).returncode == 0
    snap(bareiron, img, "create", "x")
    r = run([bareiron, "disk", "snapshot", img, "create", "x"])
    assert r.returncode == 4 and "'x' exists" in one_line_error(r)
    for verb in ("apply", "delete"):
        r = run([bareiron, "disk", "snapshot", img, verb, "nope"])
        assert r.returncode == 3 and "no snapshot named 'nope'" in one_line_error(r)
    for args in (["create"], ["list", "x"], ["frob", "x"], []):
        r = run([bareiron, "disk", "snapshot", img, *args])
        assert r.returncode == 2, args
    r = run([bareiron, "disk", "snapshot", tmp_path / "missing.qcow2", "list"])
    assert r.returncode == 3
    # an image in use (a VM holds its exclusive lock) is not changed
    fd = os.open(img, os.O_RDWR)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
        r = run([bareiron, "disk", "snapshot", img, "create", "y"])
        assert r.returncode == 4 and "in use" in one_line_error(r)
    finally:
        os.close(fd)
    assert qemu_names(img) == ["x"]


def test_sigkill_during_copy_on_write(bareiron, build_dir, tmp_path):
    """A writer killed while copying clusters and L2 tables shared with a snapshot leaves at
    worst leaked clusters, and the snapshot its contents."""
    img, ref = tmp_path / "k.qcow2", tmp_path / "ref.raw"
    assert run([bareiron, "disk", "create", img, "64M", "--cluster-size", "4K"]).returncode == 0
    ref.write_bytes(b"\0" * (64 << 20))
    writes(build_dir, img, ref, 3, 400)
    snap(bareiron, img, "create", "before")
    for i, delay in enumerate((0.3, 0.8)):
        p = subprocess.Popen([blk_tool(build_dir), "crash", img, str(i + 1)],
                             stdout=subprocess.PIPE)
        assert p.stdout.readline() == b"started\n"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        wait_unlocked(img)
        c = qemu_img("check", img, check=False)
        assert c.returncode in (0, 3), c.stdout + c.stderr  # 3: leaks only
        assert "ERROR" not in c.stdout
        assert snapshot_raw(img, "before", tmp_path / "s.raw") == ref.read_bytes()
    snap(bareiron, img, "apply", "before")
    same(img, ref)
