"""Fixtures of the sandbox tests: a real KernelSandboxRunner and a snapshot of what a run may leave behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import pytest_asyncio

from jupyter_duel_server.sandbox import namespaces
from jupyter_duel_server.sandbox.cgroups import CgroupHierarchy
from jupyter_duel_server.sandbox.config import SandboxConfig
from jupyter_duel_server.sandbox.errors import SandboxUnavailable

REPO = Path(__file__).resolve().parents[2]
SANDBOX_UID = SandboxConfig().uid


def host_problems() -> list[str]:
    missing = namespaces.check_host()
    if not missing:
        problem = namespaces.probe_userns(SandboxConfig().plan())
        if problem:
            missing.append(problem)
    try:
        CgroupHierarchy.detect()
    except SandboxUnavailable as e:
        missing += e.missing
    return missing


requires_sandbox = pytest.mark.skipif(bool(host_problems()), reason=f"no sandbox here: {host_problems()}")


def sandbox_processes() -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == SANDBOX_UID:
                            out.append(int(pid))
                        break
        except OSError:
            pass
    return out


def snapshot() -> dict:
    with open("/proc/self/mounts") as f:
        mounts = sorted(f.read().splitlines())
    tmp = sorted(n for n in os.listdir(tempfile.gettempdir()) if n.startswith("duel-sandbox-"))
    try:
        cgroups = CgroupHierarchy.detect().leftovers()
    except SandboxUnavailable:
        cgroups = []
    return {"processes": sandbox_processes(), "mounts": mounts, "tmp": tmp, "cgroups": cgroups}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cold_runner():
    """A runner without a pool: nothing of the sandbox exists between runs, so leftovers are visible."""
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    runner = KernelSandboxRunner(pool_size=0, enforce_import_policy=False)
    await runner.start()
    yield runner
    await runner.close()
