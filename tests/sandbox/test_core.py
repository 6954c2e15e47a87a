"""Pieces of the sandbox on their own: seccomp filter, host checks, refusal, configuration."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from jupyter_duel_server.sandbox import seccomp
from jupyter_duel_server.sandbox.config import SandboxConfig
from jupyter_duel_server.sandbox.errors import SandboxUnavailable


def test_builtin_syscall_table_matches_libseccomp():
    # Asked for the x86_64 numbers by architecture token, so the check runs on any host.
    lib = ctypes.util.find_library("seccomp")
    assert lib, "libseccomp2 is needed for this check (scripts/lib.sh installs it)"
    so = ctypes.CDLL(lib)
    so.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
    so.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    checked = 0
    for name, nr in seccomp.X86_64.items():
        resolved = so.seccomp_syscall_resolve_name_arch(seccomp.AUDIT_ARCH["x86_64"], name.encode())
        if resolved >= 0:
            assert resolved == nr, name
            checked += 1
    assert checked >= len(seccomp.X86_64) * 0.9


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
