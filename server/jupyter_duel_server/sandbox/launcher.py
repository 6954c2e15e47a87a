"""The launcher: builds one sandbox and runs a kernel command in it (the provisioner's and Kernel Gateway's path).

    python -m jupyter_duel_server.sandbox.launcher PLAN_JSON -- python -m ipykernel_launcher -f CONN

PLAN_JSON (written by the provisioner) holds the ``SandboxConfig.plan()`` plus ``runtime_dir``, ``io_dir``,
``cgroup`` (the cgroup name), ``connection_file`` and ``pass_env`` (names of environment variables handed to
the kernel: only those of the kernelspec). The launcher stays in the host namespaces as the kernel's trusted
parent: it owns the cgroup, forwards SIGTERM/SIGINT/SIGHUP as a kill of the whole sandbox, and removes the cgroup
when the sandbox ends. The kernel gets a scrubbed environment: the server's (tokens, secrets) never enters.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv or argv.index("--") != 1:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0]) as f:
        plan = json.load(f)
    cmd = argv[2:]
    from . import _libc
    from .cgroups import CgroupHierarchy
    from .errors import SandboxUnavailable
    from .namespaces import BASE_ENV, check_host, spawn
    from .seccomp import build_filter

    _libc.set_name("duel-launcher")
    missing = check_host()
    try:
        hierarchy = CgroupHierarchy.detect(plan.get("cgroup_version", "auto"), plan.get("cgroup_parent",
                                                                                      "jupyter-duel-sandbox"))
    except SandboxUnavailable as e:
        missing += e.missing
    if missing:
        sys.stderr.write(str(SandboxUnavailable(missing)) + "\n")
        return 3
    filt = build_filter() if plan.get("seccomp", True) else None
    cgroup = hierarchy.create(plan["cgroup"], plan["kernel_memory_bytes"] + plan["memory_bytes"], plan["pids_max"],
                              plan["cpu_cores"])
    try:
        cf = plan.get("connection_file")
        if cf and os.path.exists(cf):
            os.chown(cf, plan["uid"], plan["gid"])
        env = dict(BASE_ENV)
        for name in plan.get("pass_env", []):
            if name in os.environ:
                env[name] = os.environ[name]
        env["JUPYTER_RUNTIME_DIR"] = plan["io_dir"]

        def target() -> None:
            os.execve(cmd[0], cmd, env)

        lock = []
        if cf and os.path.exists(cf):
            with open(cf) as f:
                info = json.load(f)
            if info.get("transport") == "ipc":
                lock = [f"{info['ip']}-{info[k]}" for k in
                        ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
        pid = spawn(plan, cgroup_procs=cgroup.procs_files, runtime_dir=plan["runtime_dir"], io_dir=plan["io_dir"],
                    target=target, seccomp_filter=filt, lock_paths=lock,
                    stdout_fd=None)  # the kernel's fds 1/2 are capped and discarded, never logged

        def stop(signum, frame):
            cgroup.kill_all()

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, stop)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        return os.waitstatus_to_exitcode(status) & 0xFF
    finally:
        cgroup.remove(10.0)


if __name__ == "__main__":
    sys.exit(main())
