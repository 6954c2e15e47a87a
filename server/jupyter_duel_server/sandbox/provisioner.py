"""``DuelSandboxProvisioner``: a jupyter_client kernel provisioner that starts every kernel in the sandbox.

Registered under the entry point group ``jupyter_client.kernel_provisioners`` as ``duel-sandbox-provisioner``
and named by the kernelspec "Python 3 (duel sandbox)" (``metadata.kernel_provisioner``), so anything that
launches Jupyter kernels (jupyter_client's KernelManager, Jupyter Server, Kernel Gateway) launches it locked
down. It forces the ipc transport (ZMQ over Unix sockets in a per-kernel directory; the kernel has no network),
wraps the kernel command with :mod:`.launcher`, scrubs the environment, and on shutdown terminates politely
before killing, then removes the cgroup and the directory itself (a SIGKILLed launcher must not leak them).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from . import namespaces
from .cgroups import CgroupHierarchy
from .config import SandboxConfig
from .errors import SandboxUnavailable


class DuelSandboxProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Launches the kernel through the sandbox launcher; refuses (SandboxUnavailable) where it cannot."""

    runtime_dir: str | None = None
    cgroup_name: str | None = None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        config = SandboxConfig(parent=km)
        plan = config.plan()
        missing = namespaces.check_host()
        try:
            CgroupHierarchy.detect(config.cgroup_version, config.cgroup_parent)
        except SandboxUnavailable as e:
            missing += e.missing
        if missing:
            raise SandboxUnavailable(missing)
        self.runtime_dir, io_dir = namespaces.prepare_runtime_dir(config.runtime_dir or None, plan["uid"],
                                                                  plan["gid"], prefix="duel-kernel-")
        self.cgroup_name = "k-" + uuid.uuid4().hex[:16]
        if km is not None:
            km.transport = "ipc"
            km.connection_file = os.path.join(io_dir, "connection.json")
            km.ip = os.path.join(io_dir, "k")
        kwargs = await super().pre_launch(**kwargs)
        cmd = kwargs.pop("cmd")
        env = kwargs.get("env") or {}
        plan.update(runtime_dir=self.runtime_dir, io_dir=io_dir, cgroup=self.cgroup_name,
                    connection_file=km.connection_file if km is not None else None,
                    cgroup_parent=config.cgroup_parent, cgroup_version=config.cgroup_version,
                    pass_env=sorted((self.kernel_spec.env or {}).keys()))
        plan_file = os.path.join(self.runtime_dir, "plan.json")
        with open(plan_file, "w") as f:
            json.dump(plan, f)
        env.pop("JPY_PARENT_PID", None)
        kwargs["env"] = env
        kwargs["cmd"] = [sys.executable, "-m", "jupyter_duel_server.sandbox.launcher", plan_file, "--", *cmd]
        return kwargs

    async def kill(self, restart: bool = False) -> None:
        """Terminate first (the launcher then kills the sandbox and removes its cgroup), SIGKILL only after."""
        if self.process is not None:
            try:
                self.process.send_signal(signal.SIGTERM)
            except OSError:
                pass
            for _ in range(100):
                if self.process.poll() is not None:
                    break
                await asyncio.sleep(0.02)
        await super().kill(restart=restart)

    async def terminate(self, restart: bool = False) -> None:
        await self.kill(restart=restart)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if self.cgroup_name:
            try:
                config = SandboxConfig(parent=self.parent)
                hierarchy = CgroupHierarchy.detect(config.cgroup_version, config.cgroup_parent)
                from .cgroups import Cgroup

                dirs = {c: os.path.join(b, self.cgroup_name) for c, b in hierarchy.bases.items()}
                dirs = {c: d for c, d in dirs.items() if os.path.isdir(d)}
                if dirs:
                    await asyncio.to_thread(Cgroup(hierarchy.version, dirs).remove, 5.0)
            except SandboxUnavailable:
                pass
        if self.runtime_dir:
            await asyncio.to_thread(namespaces.remove_runtime_dir, self.runtime_dir)
            self.runtime_dir = None
