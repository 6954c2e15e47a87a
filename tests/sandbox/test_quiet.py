"""Nothing from inside a sandbox reaches the judge's own stdout/stderr (a log-injection path): no ipykernel
banner or warning, no output of the submission, whatever the kernel class."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import CGROUP_PARENT, REPO, RUNTIME_DIR, SANDBOX_GID, SANDBOX_UID, requires_sandbox

pytestmark = [requires_sandbox, pytest.mark.timeout(180)]

SERVICE = r'''
import asyncio, json, sys
from traitlets.config import Config
from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

settings = json.loads(sys.argv[1])
c = Config()
for k, v in settings["sandbox"].items():
    setattr(c.SandboxConfig, k, v)
CODE = """
import os, subprocess, sys
os.write(1, b"INJECT-fd1 module\\n")
os.write(2, b"INJECT-fd2 module\\n")
sys.__stdout__.write("INJECT-stdout module\\n"); sys.__stdout__.flush()
def f(x):
    os.write(1, b"INJECT-fd1 test\\n")
    os.write(2, b"\\x1b[2J INJECT-fd2 test\\n")
    print("INJECT-print")
    subprocess.run([sys.executable, "-c", "print('INJECT-child')"])
    return x
"""

async def main():
    runner = KernelSandboxRunner(config=c, pool_size=1, kernel_class=settings["kernel_class"],
                                 enforce_import_policy=False)
    try:
        results = [r async for r in runner.run(CODE, "f", [[1], [2]], 5.0)]
    finally:
        await runner.close()
    sys.__stdout__.write("RESULTS " + json.dumps([[r.status, r.value] for r in results]) + "\n")

asyncio.run(main())
'''


@pytest.mark.parametrize("kernel_class", ["jupyter_duel_server.sandbox.fastkernel.DuelKernel",
                                          "ipykernel.ipkernel.IPythonKernel"])
def test_sandbox_output_never_reaches_the_service(kernel_class):
    settings = {"kernel_class": kernel_class, "sandbox": {"uid": SANDBOX_UID, "gid": SANDBOX_GID,
                                                          "cgroup_parent": CGROUP_PARENT, "runtime_dir": RUNTIME_DIR}}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "server")]))
    proc = subprocess.run([sys.executable, "-c", SERVICE, json.dumps(settings)], env=env, capture_output=True,
                          text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[-1:] == ['RESULTS [["ok", 1], ["ok", 2]]'], proc.stdout[-3000:]
    assert lines[:-1] == [], proc.stdout
    assert "INJECT" not in proc.stderr and "To connect" not in proc.stderr and "--existing" not in proc.stderr, \
        proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
