"""Start-up sweep: what a crashed judge left (cgroups, runtime directories) is removed; what belongs to a live
runner is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from jupyter_duel_server.sandbox import namespaces
from jupyter_duel_server.sandbox.cgroups import CgroupHierarchy

from .conftest import CGROUP_PARENT, RUNTIME_DIR, TEST_CONFIG, requires_sandbox

pytestmark = [requires_sandbox, pytest.mark.asyncio, pytest.mark.timeout(120)]


def _dead_owner() -> str:
    """``<pid>-<start time>`` of a process that has exited (a crashed judge)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    start = namespaces.process_start_time(proc.pid)
    proc.wait()
    assert start is not None
    return f"{proc.pid}-{start}"


async def test_start_sweeps_leftovers_of_dead_runners_only():
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner, _owner_tag

    hierarchy = CgroupHierarchy.detect("auto", CGROUP_PARENT)
    dead, live = _dead_owner(), _owner_tag()
    # A crashed judge's sandbox: a cgroup with a process still in it, and its runtime directory.
    orphan_cg = hierarchy.create(f"j-{dead}-0123456789abcdef", 64 << 20, 8, 1.0)
    sleeper = subprocess.Popen(["sleep", "60"])
    for procs in orphan_cg.procs_files:
        with open(procs, "w") as f:
            f.write(str(sleeper.pid))
    orphan_dir, _ = namespaces.prepare_runtime_dir(RUNTIME_DIR, 61001, 61001, prefix=f"duel-sandbox-{dead}-")
    # A live runner's (this process's), and names the sweep does not own.
    live_cg = hierarchy.create(f"j-{live}-fedcba9876543210", 64 << 20, 8, 1.0)
    live_dir, _ = namespaces.prepare_runtime_dir(RUNTIME_DIR, 61001, 61001, prefix=f"duel-sandbox-{live}-")
    other_cg = hierarchy.create("k-0123456789abcdef", 64 << 20, 8, 1.0)
    other_dir, _ = namespaces.prepare_runtime_dir(RUNTIME_DIR, 61001, 61001, prefix="duel-kernel-")
    runner = KernelSandboxRunner(pool_size=0, config=TEST_CONFIG)
    try:
        await runner.start()
        assert not any(os.path.exists(d) for d in orphan_cg.dirs.values())
        assert not os.path.exists(orphan_dir)
        assert sleeper.wait(5) == -signal.SIGKILL  # killed through the orphaned cgroup
        assert all(os.path.isdir(d) for d in live_cg.dirs.values()) and os.path.isdir(live_dir)
        assert all(os.path.isdir(d) for d in other_cg.dirs.values()) and os.path.isdir(other_dir)
        # The runner's own sandboxes are named with its owner tag, so a later runner can sweep them.
        results = [r async for r in runner.run("def f(x):\n    return x\n", "f", [[1]], 2.0)]
        assert [(r.status, r.value) for r in results] == [("ok", 1)]
    finally:
        await runner.close()
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
        for cg in (orphan_cg, live_cg, other_cg):
            cg.remove(2.0)
        for d in (orphan_dir, live_dir, other_dir):
            namespaces.remove_runtime_dir(d)
