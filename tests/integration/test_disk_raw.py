# SPDX-License-Identifier: MIT
"""Raw images and block devices through blk.h: files, a loop device (root + losetup, skipped
otherwise), create/resize/info of raw images."""
import os
import shutil
import subprocess

import pytest

from conftest import run
from disk_util import blk_tool, one_line_error, random_raw


def test_raw_file_pattern(build_dir, tmp_path):
    img, ref = tmp_path / "d.raw", tmp_path / "ref.raw"
    random_raw(img, 8 << 20, 4 << 20)
    ref.write_bytes(img.read_bytes())
    for engine in ([], ["sync"]):
        r = run([blk_tool(build_dir), "pattern", img, ref, "4", "200", *engine])
        assert r.returncode == 0, r.stderr
        assert img.read_bytes() == ref.read_bytes()


def test_raw_create_resize_info(bareiron, tmp_path):
    img = tmp_path / "r.raw"
    assert run([bareiron, "disk", "create", img, "10M", "--format", "raw"]).returncode == 0
    assert os.path.getsize(img) == 10 << 20
    r = run([bareiron, "disk", "resize", img, "4M", "--format", "raw"])
    assert r.returncode == 6 and "--shrink" in one_line_error(r)
    assert run([bareiron, "disk", "resize", img, "4M", "--format", "raw", "--shrink"]).returncode == 0
    assert run([bareiron, "disk", "resize", img, "1G"]).returncode == 0
    r = run([bareiron, "disk", "info", img, "--json"])
    assert '"format": "raw"' in r.stdout and '"virtual-size": 1073741824' in r.stdout
    r = run([bareiron, "disk", "check", img])
    assert r.returncode == 6 and "raw images" in one_line_error(r)
    r = run([bareiron, "disk", "info", tmp_path / "missing.raw"])
    assert r.returncode == 3


@pytest.fixture
def loopdev(tmp_path):
    if os.geteuid() != 0 or not shutil.which("losetup"):
        pytest.skip("needs root and losetup for a loop device")
    backing = tmp_path / "loop.img"
    random_raw(backing, 16 << 20, 8 << 20)
    p = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"losetup failed: {p.stderr.strip()}")
    dev = p.stdout.strip()
    yield dev, backing
    subprocess.run(["losetup", "-d", dev])


def test_raw_block_device(bareiron, build_dir, tmp_path, loopdev):
    dev, backing = loopdev
    ref = tmp_path / "ref.raw"
    ref.write_bytes(backing.read_bytes())
    r = run([blk_tool(build_dir), "pattern", dev, ref, "9", "150"])
    assert r.returncode == 0, r.stderr
    with open(dev, "rb") as f:
        assert f.read() == ref.read_bytes()
    r = run([bareiron, "disk", "info", dev, "--json"])
    assert '"virtual-size": 16777216' in r.stdout
    r = run([bareiron, "disk", "resize", dev, "32M", "--format", "raw"])
    assert r.returncode == 6 and "block device" in one_line_error(r)
