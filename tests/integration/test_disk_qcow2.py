# SPDX-License-Identifier: MIT
"""qcow2 and raw images against qemu-img as the oracle (issue 3).

Images made by qemu-img (compat 0.10/1.1, 4K-2M clusters, lazy refcounts, 1- and 64-bit
refcounts, compressed clusters, backing chains) must read back byte for byte like
`qemu-img convert -O raw`; images we create and write must pass `qemu-img check` and
`qemu-img compare` with the raw reference; corrupt images are refused with one clean line.
"""
import pytest

from conftest import run
from disk_util import blk_tool, need_qemu_img, qemu_img, random_raw

SIZE = 8 << 20


@pytest.fixture(autouse=True)
def _qemu_img():
    need_qemu_img()


def read_back_equal(bareiron, img, tmp_path, fmt=None):
    """Converts (img) to raw with bareiron and with qemu-img, and compares."""
    ours, theirs = tmp_path / "ours.raw", tmp_path / "theirs.raw"
    r = run([bareiron, "disk", "convert", img, ours, "--format", "raw"])
    assert r.returncode == 0, r.stderr
    qemu_img("convert", "-O", "raw", img, theirs)
    assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("compat", ["0.10", "1.1"])
@pytest.mark.parametrize("cluster", ["4K", "64K", "2M"])
@pytest.mark.parametrize("compressed", [False, True])
def test_reads_qemu_images(bareiron, tmp_path, compat, cluster, compressed):
    src = random_raw(tmp_path / "src.raw", SIZE, 3 << 20)
    img = tmp_path / "q.qcow2"
    qemu_img("convert", *(["-c"] if compressed else []), "-O", "qcow2", "-o",
             f"compat={compat},cluster_size={cluster}", src, img)
    read_back_equal(bareiron, img, tmp_path)


@pytest.mark.parametrize("opts", ["lazy_refcounts=on", "refcount_bits=1", "refcount_bits=64",
                                  "cluster_size=512"])
def test_reads_and_writes_qemu_variants(bareiron, build_dir, tmp_path, opts):
    img, ref = tmp_path / "q.qcow2", tmp_path / "ref.raw"
    src = random_raw(tmp_path / "src.raw", SIZE, 2 << 20)
    qemu_img("convert", "-O", "qcow2", "-o", f"compat=1.1,{opts}", src, img)
    read_back_equal(bareiron, img, tmp_path)
    ref.write_bytes(src.read_bytes())
    r = run([blk_tool(build_dir), "pattern", img, ref, "7", "150"])
    assert r.returncode == 0, r.stderr
    assert qemu_img("check", img, check=False).returncode == 0
    assert qemu_img("compare", "-f", "qcow2", "-F", "raw", img, ref, check=False).returncode == 0


@pytest.mark.parametrize("cluster", ["512", "4K", "64K", "2M"])
@pytest.mark.parametrize("engine", ["uring", "sync"])
def test_our_writes_pass_qemu_check(bareiron, build_dir, tmp_path, cluster, engine):
    img, ref = tmp_path / "w.qcow2", tmp_path / "ref.raw"
    r = run([bareiron, "disk", "create", img, "16M", "--cluster-size", cluster])
    assert r.returncode == 0, r.stderr
    ref.write_bytes(b"")
    args = [blk_tool(build_dir), "pattern", img, ref, "3", "200"]
    r = run(args + (["sync"] if engine == "sync" else []))
    assert r.returncode == 0, r.stderr
    c = qemu_img("check", img, check=False)
    assert c.returncode == 0, c.stdout + c.stderr
    assert qemu_img("compare", "-f", "qcow2", "-F", "raw", img, ref, check=False).returncode == 0


@pytest.mark.parametrize("compat", ["0.10", "1.1"])
def test_backing_chain_write_and_read(bareiron, build_dir, tmp_path, compat):
    base = random_raw(tmp_path / "base.raw", SIZE, 4 << 20, seed=5)
    mid, top, ref = tmp_path / "mid.qcow2", tmp_path / "top.qcow2", tmp_path / "ref.raw"
    qemu_img("create", "-f", "qcow2", "-o", f"compat={compat}", "-b", "base.raw", "-F", "raw",
             mid)
    run(["qemu-io", "-c", "write -P 0x11 1M 300k", "-c", "write -P 0x22 5000k 64k", mid])
    r = run([bareiron, "disk", "create", top, "--backing", "mid.qcow2"])
    assert r.returncode == 0, r.stderr
    read_back_equal(bareiron, top, tmp_path)
    qemu_img("convert", "-O", "raw", top, ref)
    r = run([blk_tool(build_dir), "pattern", top, ref, "11", "120"])
    assert r.returncode == 0, r.stderr
    assert qemu_img("check", top, check=False).returncode == 0
    assert qemu_img("compare", "-F", "raw", top, ref, check=False).returncode == 0


def test_convert_raw_to_qcow2(bareiron, tmp_path):
    src = random_raw(tmp_path / "src.raw", SIZE, 6 << 20, seed=9)
    img = tmp_path / "c.qcow2"
    r = run([bareiron, "disk", "convert", src, img, "--cluster-size", "4K"])
    assert r.returncode == 0, r.stderr
    assert qemu_img("check", img, check=False).returncode == 0
    assert qemu_img("compare", "-F", "raw", img, src, check=False).returncode == 0


def test_resize_grow_matches_qemu(bareiron, tmp_path):
    img = tmp_path / "g.qcow2"
    assert run([bareiron, "disk", "create", img, "1M", "--cluster-size", "512"]).returncode == 0
    r = run([bareiron, "disk", "resize", img, "3G"])
    assert r.returncode == 0, r.stderr
    assert qemu_img("check", img, check=False).returncode == 0
    info = __import__("json").loads(qemu_img("info", "--output=json", img).stdout)
    assert info["virtual-size"] == 3 << 30
    r = run([bareiron, "disk", "resize", img, "1G"])
    assert r.returncode == 6 and "only grow" in r.stderr


def test_info_agrees_with_qemu(bareiron, tmp_path):
    import json
    base = tmp_path / "b.raw"
    base.write_bytes(b"\0" * 65536)
    img = tmp_path / "i.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", "cluster_size=4096,lazy_refcounts=on", "-b",
             "b.raw", "-F", "raw", img, "1G")
    q = json.loads(qemu_img("info", "--output=json", img).stdout)
    r = run([bareiron, "disk", "info", img, "--json"])
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout)
    for k in ("virtual-size", "cluster-size", "format", "backing-filename"):
        assert o[k] == q[k], k
    assert o["lazy-refcounts"] is True and o["dirty"] is False
    assert o["backing-image"]["format"] == "raw"
    t = run([bareiron, "disk", "info", img])
    assert "backing file format: raw" in t.stdout


def test_dirty_lazy_refcount_image_repaired(bareiron, build_dir, tmp_path):
    """qemu-io aborts with lazy refcounts: dirty bit set; our writable open rebuilds refcounts."""
    img, ref = tmp_path / "d.qcow2", tmp_path / "ref.raw"
    qemu_img("create", "-f", "qcow2", "-o", "lazy_refcounts=on", img, "8M")
    run(["qemu-io", "-c", "write -P 0x33 0 2M", "-c", "abort", img])
    info = run([bareiron, "disk", "info", img, "--json"])
    if '"dirty": true' not in info.stdout:
        pytest.skip("this qemu-io did not leave the image dirty")
    qemu_img("convert", "-U", "-O", "raw", img, ref)
    r = run([blk_tool(build_dir), "pattern", img, ref, "5", "50"])
    assert r.returncode == 0, r.stderr
    assert '"dirty": false' in run([bareiron, "disk", "info", img, "--json"]).stdout
    assert qemu_img("check", img, check=False).returncode == 0
    assert qemu_img("compare", "-F", "raw", img, ref, check=False).returncode == 0


def test_raw_is_never_probed(bareiron, tmp_path):
    """A raw disk whose guest wrote a qcow2 header stays raw when the format is known."""
    fake = tmp_path / "fake.qcow2"
    assert run([bareiron, "disk", "create", fake, "1M"]).returncode == 0
    raw = tmp_path / "guest.raw"
    raw.write_bytes(fake.read_bytes().ljust(1 << 20, b"\0"))
    r = run([bareiron, "disk", "info", raw, "--format", "raw", "--json"])
    assert '"format": "raw"' in r.stdout
    top = tmp_path / "top.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "guest.raw", "-F", "raw", top)
    read_back_equal(bareiron, top, tmp_path)


def test_internal_snapshots_read_and_checked(bareiron, build_dir, tmp_path):
    """Images with internal snapshots: the active layer reads back, `check` counts the
    snapshots' shared clusters, writes copy what the snapshot shares (qemu-img check agrees
    and the snapshot keeps its contents)."""
    img = tmp_path / "s.qcow2"
    qemu_img("create", "-f", "qcow2", img, "16M")
    run(["qemu-io", "-c", "write -P 1 0 3M", img])
    qemu_img("snapshot", "-c", "one", img)
    snap = tmp_path / "one.raw"
    qemu_img("convert", "-O", "raw", "-l", "snapshot.name=one", img, snap)
    run(["qemu-io", "-c", "write -P 2 1M 3M", img])
    read_back_equal(bareiron, img, tmp_path)
    r = run([bareiron, "disk", "check", img])
    assert r.returncode == 0, r.stdout + r.stderr
    ref = tmp_path / "ref.raw"
    qemu_img("convert", "-O", "raw", img, ref)
    r = run([blk_tool(build_dir), "pattern", img, ref, "1", "100"])
    assert r.returncode == 0, r.stderr
    assert qemu_img("check", img, check=False).returncode == 0
    assert qemu_img("compare", "-F", "raw", img, ref, check=False).returncode == 0
    again = tmp_path / "again.raw"
    qemu_img("convert", "-O", "raw", "-l", "snapshot.name=one", img, again)
    assert again.read_bytes() == snap.read_bytes()
