# SPDX-License-Identifier: MIT
"""bareiron-vmm --fd N:PATH (docs/vmm.md): descriptors the caller opened stand for the opens of
the kernel and the disks, so the monitor never resolves those paths. The virtio-blk payload
runs with its kernel and disks renamed away before the start (only the descriptors reach the
files), with cache=none and under --sandbox too; bad --fd input is a one-line usage error."""
import os
import pathlib
import shutil
import subprocess
import time

import pytest

import payload_util as pu
from conftest import built

EXIT_USAGE = 2
CASE = next(c for c in pu.CASES if c.id == "virtio-blk")


def start(vmm, args, fds=(), timeout=60):
    t0 = time.monotonic()
    r = subprocess.run([str(vmm), *map(str, args)], pass_fds=fds, capture_output=True,
                       text=True, errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
    return r, time.monotonic() - t0


@pytest.mark.parametrize("mode", ["writeback", "cache-none", "sandbox"])
def test_payload_disks_through_descriptors(mode, need_kvm, vmm, build_dir, tmp_path):
    if mode == "sandbox" and os.geteuid() != 0:
        pytest.skip("--sandbox needs root")
    elf = tmp_path / "k.elf"
    shutil.copy(built(build_dir / "tests" / "guest" / "virtio_blk.elf"), elf)
    rw, ro = pu.make_disks(tmp_path, CASE.disk_mib << 20)
    rw_spec = f"{rw},format=raw" + (",cache=none" if mode == "cache-none" else "")
    opened = [(os.open(elf, os.O_RDONLY), elf), (os.open(rw, os.O_RDWR), rw),
              (os.open(ro, os.O_RDONLY), ro)]
    if mode == "cache-none":
        opened.append((os.open(rw, os.O_RDWR | os.O_DIRECT), rw))
    for _, p in opened:  # the paths now lead nowhere: only the descriptors reach the files
        if p.exists():
            p.rename(p.with_suffix(".moved"))
    args = ["--kernel", elf, "--cmdline", CASE.cmdline, "--memory", "128M", "--serial", "stdio",
            "--debug-exit", "--no-reboot", "--disk", rw_spec, "--disk", f"{ro},format=raw,readonly"]
    args += ["--sandbox"] if mode == "sandbox" else []
    for fd, p in opened:
        args += ["--fd", f"{fd}:{p}"]
    try:
        r, elapsed = start(vmm, args, [fd for fd, _ in opened])
    finally:
        for fd, _ in opened:
            os.close(fd)
    for p in (elf, rw, ro):
        p.with_suffix(".moved").rename(p)
    out = r.stdout + r.stderr
    result = pu.Result(r.returncode, out, elapsed, False)
    probs = pu.problems(CASE, result, CASE.vmm_status, tmp_path, True)
    assert not probs, f"{probs}\n{out}"
    assert "never used" not in out


def test_bad_fd_input(vmm, tmp_path):
    k = tmp_path / "k"
    k.write_bytes(b"k" * 4096)
    d = tmp_path / "d.img"
    d.write_bytes(bytes(1 << 20))
    rdwr, rdonly = os.open(k, os.O_RDWR), os.open(d, os.O_RDONLY)
    free = max(rdwr, rdonly) + 50
    cases = [
        (["--fd", f"2:{k}"], "descriptors 0, 1 and 2 are the monitor's own"),
        (["--fd", "x:k"], "N must be a descriptor number"),
        (["--fd", f"{k}"], "expected N:PATH"),
        (["--fd", f"{free}:{k}"], f"descriptor {free} is not open"),
        (["--fd", f"{rdwr}:{k}"], "opened read-write, but the monitor opens that path read-only"),
        (["--disk", f"{d},format=raw", "--fd", f"{rdonly}:{d}"],
         "opened read-only, but the monitor opens that path read-write"),
        (["--fd", f"{rdonly}:{tmp_path}/other"], "not a path of --kernel"),
        (["--fd", f"{rdonly}:{k}", "--fd", f"{rdonly}:{k}"], "given twice"),
    ]
    try:
        for extra, msg in cases:
            r, _ = start(vmm, ["--kernel", k, *extra], [rdwr, rdonly])
            lines = r.stderr.strip().splitlines()
            assert r.returncode == EXIT_USAGE and len(lines) == 1 and msg in lines[0], \
                (extra, r.returncode, r.stderr)
    finally:
        os.close(rdwr)
        os.close(rdonly)
