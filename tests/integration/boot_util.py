# SPDX-License-Identifier: MIT
"""Helpers for the loader and initramfs tests (test_boot_*.py): Debian's kernel from
scripts/get-guest-kernel.sh, the itest initramfs from scripts/mkinitramfs.sh, and boot-check,
which loads a kernel into guest memory without KVM and prints what the loader decided."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def boot_check_path(build_dir):
    return build_dir / "tests" / "unit" / "boot" / "boot-check"


def _script(name, build_dir, timeout):
    """Runs scripts/(name) BUILD_DIR; returns (path or None, stderr tail)."""
    try:
        r = subprocess.run([str(ROOT / "scripts" / name), str(build_dir)], capture_output=True,
                           text=True, timeout=timeout, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    out = r.stdout.strip().splitlines()
    if r.returncode != 0 or not out:
        return None, r.stderr.strip()[-300:]
    return pathlib.Path(out[-1]), ""


def guest_kernel(build_dir):
    """(path, None) of Debian's kernel, or (None, why) when it cannot be downloaded."""
    k, why = _script("get-guest-kernel.sh", build_dir, 600)
    return (k, None) if k else (None, f"get-guest-kernel.sh failed (no network?): {why}")


def initramfs(build_dir):
    """(path, None) of the itest initramfs, or (None, why)."""
    i, why = _script("mkinitramfs.sh", build_dir, 600)
    return (i, None) if i else (None, f"mkinitramfs.sh failed: {why}")


def parse_kv(text):
    """boot-check's "key=value" lines as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
