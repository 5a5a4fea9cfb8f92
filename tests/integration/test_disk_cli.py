# SPDX-License-Identifier: MIT
"""The `bareiron disk` command line (issue 7): create and convert never overwrite an existing
file without --force and never leave a partial file behind; options are only accepted by the
subcommands they belong to; directories, FIFOs and character devices are refused by every
subcommand."""
import os
import resource
import subprocess

import pytest

from conftest import run
from disk_util import need_qemu_img, one_line_error, qemu_img, random_raw

SUBCOMMANDS = {
    "create": ["{f}", "1M"],
    "info": ["{f}"],
    "convert": ["{f}", "{out}"],
    "resize": ["{f}", "2M"],
    "check": ["{f}"],
}


def fsize_limited(cmd, limit):
    """Runs (cmd) with RLIMIT_FSIZE (limit) bytes."""
    def lim():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60,
                          preexec_fn=lim)


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_create_refuses_existing_file(bareiron, tmp_path, fmt):
    img = tmp_path / "data.img"
    data = os.urandom(4 << 20)
    img.write_bytes(data)
    r = run([bareiron, "disk", "create", img, "1M", "--format", fmt])
    line = one_line_error(r)
    assert r.returncode == 4 and "exists" in line and "--force" in line, line
    assert img.read_bytes() == data
    r = run([bareiron, "disk", "create", img, "1M", "--format", fmt, "--force"])
    assert r.returncode == 0, r.stderr
    r = run([bareiron, "disk", "info", img, "--json"])
    assert f'"format": "{fmt}"' in r.stdout and '"virtual-size": 1048576' in r.stdout
    assert sorted(os.listdir(tmp_path)) == ["data.img"]


def test_convert_refuses_existing_destination(bareiron, tmp_path):
    src = random_raw(tmp_path / "src.raw", 2 << 20, 1 << 20)
    dst = tmp_path / "dst.qcow2"
    dst.write_bytes(b"keep me")
    r = run([bareiron, "disk", "convert", src, dst])
    assert r.returncode == 4 and "--force" in one_line_error(r)
    assert dst.read_bytes() == b"keep me"
    r = run([bareiron, "disk", "convert", src, dst, "--force"])
    assert r.returncode == 0, r.stderr
    need_qemu_img()
    assert qemu_img("compare", "-F", "raw", dst, src, check=False).returncode == 0


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_failed_create_leaves_nothing(bareiron, tmp_path, fmt):
    """A create past RLIMIT_FSIZE fails with 'File too large' and leaves no file; with
    --force over an existing image, the old image is untouched."""
    img = tmp_path / "big.img"
    size = "64M" if fmt == "raw" else "1G"
    extra = ["--cluster-size", "512"] if fmt == "qcow2" else []
    r = fsize_limited([bareiron, "disk", "create", img, size, "--format", fmt, *extra], 64 << 10)
    line = one_line_error(r)
    assert r.returncode == 1 and "File too large" in line, line
    assert os.listdir(tmp_path) == []
    data = os.urandom(1 << 16)
    img.write_bytes(data)
    r = fsize_limited([bareiron, "disk", "create", img, size, "--format", fmt, *extra, "--force"],
                      64 << 10)
    assert r.returncode == 1 and "File too large" in one_line_error(r)
    assert img.read_bytes() == data
    assert os.listdir(tmp_path) == ["big.img"]


def test_failed_convert_leaves_nothing(bareiron, tmp_path):
    src = random_raw(tmp_path / "src.raw", 4 << 20, 3 << 20)
    dst = tmp_path / "dst.raw"
    r = fsize_limited([bareiron, "disk", "convert", src, dst, "--format", "raw"], 1 << 20)
    assert r.returncode == 1 and "File too large" in one_line_error(r)
    assert sorted(os.listdir(tmp_path)) == ["src.raw"]


def test_force_refuses_image_in_use(bareiron, build_dir, tmp_path):
    from disk_util import blk_tool
    img = tmp_path / "u.qcow2"
    assert run([bareiron, "disk", "create", img, "8M"]).returncode == 0
    p = subprocess.Popen([blk_tool(build_dir), "crash", img, "1"], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"started\n"
        r = run([bareiron, "disk", "create", img, "8M", "--force"])
        assert r.returncode == 4 and "in use" in one_line_error(r)
    finally:
        p.kill()
        p.wait()


WRONG_OPTIONS = [
    ("info", "--repair"), ("info", "--force"), ("info", "--shrink"), ("info", "--quiet"),
    ("info", "--cluster-size=4K"), ("create", "--repair"), ("create", "--json"),
    ("create", "--shrink"), ("create", "--source-format=raw"), ("convert", "--repair"),
    ("convert", "--backing=x"), ("convert", "--shrink"), ("resize", "--json"),
    ("resize", "--force"), ("resize", "--cluster-size=4K"), ("check", "--json"),
    ("check", "--format=qcow2"), ("check", "--force"), ("check", "--shrink"),
]


@pytest.mark.parametrize("sub,opt", WRONG_OPTIONS)
def test_option_of_another_subcommand_refused(bareiron, tmp_path, sub, opt):
    img = tmp_path / "o.qcow2"
    assert run([bareiron, "disk", "create", img, "1M"]).returncode == 0
    before = img.read_bytes()
    args = [a.format(f=img, out=tmp_path / "out.qcow2") for a in SUBCOMMANDS[sub]]
    if sub == "create":
        args[0] = str(tmp_path / "new.qcow2")
    r = run([bareiron, "disk", sub, *args, opt])
    line = one_line_error(r)
    assert r.returncode == 2, line
    assert opt.split("=")[0] in line and f"disk {sub}" in line, line
    assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r.stderr
    assert img.read_bytes() == before
    assert not (tmp_path / "new.qcow2").exists() and not (tmp_path / "out.qcow2").exists()


@pytest.mark.parametrize("kind", ["directory", "fifo", "chardev"])
@pytest.mark.parametrize("sub", sorted(SUBCOMMANDS))
def test_non_regular_files_refused(bareiron, tmp_path, kind, sub):
    if kind == "directory":
        f = tmp_path / "dir"
        f.mkdir()
    elif kind == "fifo":
        f = tmp_path / "fifo"
        os.mkfifo(f)
    else:
        f = "/dev/null"
    args = [a.format(f=f, out=tmp_path / "out.qcow2") for a in SUBCOMMANDS[sub]]
    for force in ([], ["--force"]) if sub == "create" else ([],):
        r = run([bareiron, "disk", sub, *args, *force], timeout=20)
        line = one_line_error(r)
        assert r.returncode == 6, line
        assert str(f) in line and "not a regular file" in line, line
    assert not (tmp_path / "out.qcow2").exists()
    if kind == "directory":
        assert os.path.isdir(f) and os.listdir(f) == []


@pytest.mark.parametrize("size", ["1000", "256", "4M"])
def test_bad_cluster_size_is_a_usage_error(bareiron, tmp_path, size):
    img = tmp_path / "c.qcow2"
    r = run([bareiron, "disk", "create", img, "1M", "--cluster-size", size])
    assert r.returncode == 2 and "--cluster-size" in one_line_error(r), r.stderr
    assert not img.exists()
