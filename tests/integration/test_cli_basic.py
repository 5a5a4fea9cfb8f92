# SPDX-License-Identifier: MIT
"""The `bareiron` front door: version, help, unknown commands."""
from conftest import run


def test_version(bareiron):
    r = run([bareiron, "--version"])
    assert r.returncode == 0
    assert r.stdout.startswith("bareiron ")


def test_help_lists_commands(bareiron):
    r = run([bareiron, "help"])
    assert r.returncode == 0
    for cmd in ("run", "disk", "create", "start", "stop"):
        assert f"  {cmd} " in r.stdout


def test_unknown_command(bareiron):
    r = run([bareiron, "frobnicate"])
    assert r.returncode == 2
    assert r.stderr.strip() == "bareiron: unknown command 'frobnicate' (see 'bareiron help')"


def test_no_arguments(bareiron):
    r = run([bareiron])
    assert r.returncode == 2
