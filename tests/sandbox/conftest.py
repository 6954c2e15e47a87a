"""Fixtures of the sandbox tests: a real KernelSandboxRunner and a snapshot of what a run may leave behind.

The sandbox tests never skip: on a host that cannot build the sandbox they FAIL, naming what is missing (CI must
not go green by skipping the security tests).

Isolation from whatever else runs on the machine (a JupyterLab, a service, another judge): the tests' sandboxes
use their own host uid/gid (61001), their own cgroup parent and their own runtime directory, and the leftover
snapshot only looks at those. ``TEST_CONFIG`` is the traitlets config that selects them; the kernel-gateway test
passes the same settings on the gateway's command line (``TEST_ARGV``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import pytest_asyncio
from traitlets.config import Config

from jupyter_duel_server.sandbox import namespaces
from jupyter_duel_server.sandbox.cgroups import CgroupHierarchy
from jupyter_duel_server.sandbox.config import SandboxConfig
from jupyter_duel_server.sandbox.errors import SandboxUnavailable

REPO = Path(__file__).resolve().parents[2]
SANDBOX_UID = 61001
SANDBOX_GID = 61001
CGROUP_PARENT = f"jupyter-duel-sandbox-tests-{os.getpid()}"
# Its name starts with "duel-sandbox-": inside a sandbox it is the parent of the io directory, which the hostile
# corpus expects to be named so (hostile/read_host_files.py, hostile/other_sandboxes.py).
RUNTIME_DIR = tempfile.mkdtemp(prefix="duel-sandbox-tests-")
os.chmod(RUNTIME_DIR, 0o711)

TEST_CONFIG = Config()
TEST_CONFIG.SandboxConfig.uid = SANDBOX_UID
TEST_CONFIG.SandboxConfig.gid = SANDBOX_GID
TEST_CONFIG.SandboxConfig.cgroup_parent = CGROUP_PARENT
TEST_CONFIG.SandboxConfig.runtime_dir = RUNTIME_DIR
TEST_ARGV = [f"--SandboxConfig.uid={SANDBOX_UID}", f"--SandboxConfig.gid={SANDBOX_GID}",
             f"--SandboxConfig.cgroup_parent={CGROUP_PARENT}", f"--SandboxConfig.runtime_dir={RUNTIME_DIR}"]


def sandbox_config() -> SandboxConfig:
    return SandboxConfig(config=TEST_CONFIG)


def host_problems() -> list[str]:
    missing = namespaces.check_host()
    if not missing:
        problem = namespaces.probe_userns(sandbox_config().plan())
        if problem:
            missing.append(f"user namespaces usable as uid {SANDBOX_UID} ({problem})")
    try:
        CgroupHierarchy.detect("auto", CGROUP_PARENT)
    except SandboxUnavailable as e:
        missing += e.missing
    return missing


_PROBLEMS: list[str] | None = None


@pytest.fixture(scope="session")
def sandbox_host() -> None:
    """Fails (never skips) every test that needs the sandbox when this host cannot build it."""
    global _PROBLEMS
    if _PROBLEMS is None:
        _PROBLEMS = host_problems()
    if _PROBLEMS:
        pytest.fail("this host cannot build the judge sandbox, missing: " + "; ".join(_PROBLEMS), pytrace=False)


requires_sandbox = pytest.mark.usefixtures("sandbox_host")


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
    """What the tests' sandboxes may leave: processes of the test uid, mounts, entries of the test runtime dir,
    cgroups under the test cgroup parent."""
    with open("/proc/self/mounts") as f:
        mounts = sorted(f.read().splitlines())
    try:
        tmp = sorted(os.listdir(RUNTIME_DIR))
    except OSError:
        tmp = []
    try:
        cgroups = CgroupHierarchy.detect("auto", CGROUP_PARENT).leftovers()
    except SandboxUnavailable:
        cgroups = []
    return {"processes": sandbox_processes(), "mounts": mounts, "tmp": tmp, "cgroups": cgroups}


def remove_test_parents() -> None:
    """Remove the tests' cgroup parent and runtime directory (shared by tests/sandbox and tests/install)."""
    try:
        hierarchy = CgroupHierarchy.detect("auto", CGROUP_PARENT)
        for base in set(hierarchy.bases.values()):
            try:
                os.rmdir(base)
            except OSError:
                pass
    except SandboxUnavailable:
        pass
    shutil.rmtree(RUNTIME_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _remove_test_parents():
    yield
    remove_test_parents()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cold_runner(sandbox_host):
    """A runner without a pool: nothing of the sandbox exists between runs, so leftovers are visible."""
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    runner = KernelSandboxRunner(pool_size=0, enforce_import_policy=False, config=TEST_CONFIG)
    await runner.start()
    yield runner
    await runner.close()
