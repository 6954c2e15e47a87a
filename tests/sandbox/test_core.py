"""Pieces of the sandbox on their own: seccomp filter, host checks, refusal, configuration."""

from __future__ import annotations

import platform

import pytest

from jupyter_duel_server.sandbox import seccomp
from jupyter_duel_server.sandbox.config import SandboxConfig
from jupyter_duel_server.sandbox.errors import SandboxUnavailable


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 table")
def test_builtin_syscall_table_matches_libseccomp():
    resolved = seccomp.syscall_numbers(list(seccomp.X86_64))
    for name, nr in seccomp.X86_64.items():
        if name in resolved:
            assert resolved[name] == nr, name


def test_filter_builds_and_is_well_formed():
    prog = seccomp.build_filter()
    assert len(prog) % 8 == 0 and 20 < len(prog) // 8 < 255


def test_refuses_with_a_clear_error_when_a_piece_is_missing():
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    runner = KernelSandboxRunner()
    runner.sandbox.cgroup_version = "v2"  # this host's v2 hierarchy has no controllers: must refuse, naming it
    with pytest.raises(SandboxUnavailable) as info:
        runner.preflight()
    assert "cgroup v2" in str(info.value) and "unsafe_local_practice" in str(info.value)
    assert runner.unsafe_local_practice is False


def test_defaults_and_traitlets_config():
    from traitlets.config import Config

    c = Config()
    c.SandboxConfig.memory_mb = 256
    cfg = SandboxConfig(config=c)
    plan = cfg.plan()
    assert plan["memory_bytes"] == 256 << 20
    default = SandboxConfig().plan()
    assert default["cpu_time_s"] == 2.0 and default["memory_bytes"] == 128 << 20
    assert default["file_size_bytes"] == 10 << 20
    assert not any(p.startswith(("/home", "/work/main/challenges")) for p in default["ro_paths"])


async def test_unsafe_local_practice_is_explicit():
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    runner = KernelSandboxRunner(unsafe_local_practice=True, enforce_import_policy=False)
    results = [r async for r in runner.run("def f(x):\n    return x * 2\n", "f", [[2]], 2.0)]
    assert results[0].status == "ok" and results[0].value == 4
    await runner.close()
