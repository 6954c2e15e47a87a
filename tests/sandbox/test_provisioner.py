"""The kernelspec + provisioner: a kernel started by jupyter_client (and by a real Kernel Gateway) is locked down."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import RUNTIME_DIR, REPO, TEST_ARGV, TEST_CONFIG, requires_sandbox, sandbox_processes, snapshot

pytestmark = [requires_sandbox, pytest.mark.timeout(180)]

ESCAPE = r'''
import os, socket
out = []
for fam in (socket.AF_INET, 40):
    try:
        socket.socket(fam, socket.SOCK_STREAM); out.append(f"socket {fam} opened")
    except OSError:
        pass
for p in ("/etc/shadow", "{REPO}/challenges", "{REPO}/server", "/root/.bashrc", "/root/.ssh"):
    if os.path.exists(p):
        out.append(f"sees {p}")
if os.getuid() == 0 or open("/proc/self/status").read().count("NoNewPrivs:\t1") != 1:
    out.append("privileged")
print("ESCAPE-RESULT:", "contained" if not out else out)
'''.replace("{REPO}", str(REPO))


def assert_uses_test_sandbox_settings() -> None:
    """The kernel runs with the tests' uid and runtime dir (the config reached the provisioner)."""
    assert any(n.startswith("duel-kernel-") for n in os.listdir(RUNTIME_DIR))
    assert sandbox_processes(), "no process of the tests' sandbox uid: the SandboxConfig did not apply"
    assert snapshot()["cgroups"], "no cgroup under the tests' cgroup parent"


@pytest.fixture
def jupyter_env(tmp_path, monkeypatch):
    """A JUPYTER_PATH holding the kernelspec and a dist-info registering the provisioner's entry point
    (what ``pip install`` of the package provides)."""
    from jupyter_duel_server.sandbox.kernelspec import install

    data = tmp_path / "share"
    install(data)
    site = tmp_path / "site"
    dist = site / "jupyter_duel_sandbox_test-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jupyter-duel-sandbox-test\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(
        "[jupyter_client.kernel_provisioners]\n"
        "duel-sandbox-provisioner = jupyter_duel_server.sandbox.provisioner:DuelSandboxProvisioner\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("JUPYTER_PATH", str(data))
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    KernelProvisionerFactory.clear_instance()
    return {"data": data, "site": site}


def test_kernel_manager_starts_sandboxed_kernel(jupyter_env):
    from jupyter_client.manager import KernelManager

    before = snapshot()
    km = KernelManager(kernel_name="duel-sandbox", config=TEST_CONFIG)
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        outputs = []
        kc.execute_interactive(ESCAPE, timeout=60, output_hook=lambda m: outputs.append(m))
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        assert "ESCAPE-RESULT: contained" in text, text
        assert km.transport == "ipc"
        assert_uses_test_sandbox_settings()
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=False)
    deadline = time.time() + 10
    while snapshot() != before and time.time() < deadline:
        time.sleep(0.1)
    assert snapshot() == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kernel_gateway_launches_the_same_sandbox(jupyter_env, tmp_path):
    import kernel_gateway  # noqa: F401 - a test dependency: missing, the test must fail, not skip
    port = _free_port()
    env = dict(os.environ, JUPYTER_PATH=str(jupyter_env["data"]),
               PYTHONPATH=os.pathsep.join([str(jupyter_env["site"]), str(REPO), str(REPO / "server")]))
    before = snapshot()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "kernelgateway", f"--KernelGatewayApp.port={port}",
         "--KernelGatewayApp.ip=127.0.0.1", "--KernelGatewayApp.default_kernel_name=duel-sandbox", *TEST_ARGV],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/api/kernelspecs", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        specs = json.load(urllib.request.urlopen(base + "/api/kernelspecs"))
        assert "duel-sandbox" in specs["kernelspecs"]
        req = urllib.request.Request(base + "/api/kernels", data=json.dumps({"name": "duel-sandbox"}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        kernel = json.load(urllib.request.urlopen(req, timeout=60))
        from jupyter_client.blocking import BlockingKernelClient  # noqa: F401
        import asyncio

        import tornado.websocket

        async def execute() -> str:
            ws = await tornado.websocket.websocket_connect(
                f"ws://127.0.0.1:{port}/api/kernels/{kernel['id']}/channels")
            msg_id = "escape-1"
            ws.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "t", "session": "s",
                           "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": ESCAPE, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            text = ""
            deadline = time.time() + 60
            while time.time() < deadline:
                raw = await asyncio.wait_for(ws.read_message(), 60)
                m = json.loads(raw)
                if m.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if m["msg_type"] == "stream":
                    text += m["content"]["text"]
                if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    break
            ws.close()
            return text

        text = asyncio.run(execute())
        assert "ESCAPE-RESULT: contained" in text, text
        assert_uses_test_sandbox_settings()
        urllib.request.urlopen(urllib.request.Request(base + f"/api/kernels/{kernel['id']}", method="DELETE"),
                               timeout=30)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    deadline = time.time() + 10
    while snapshot() != before and time.time() < deadline:
        time.sleep(0.1)
    assert snapshot() == before, proc.stdout.read()[-3000:] if proc.stdout else ""
