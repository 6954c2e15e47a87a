"""The fork server: a pre-imported, single-threaded zygote that forks each fresh sandbox and starts a kernel in it.

Why: a cold ipykernel start costs ~550 ms here; most of it is importing IPython/ipykernel/zmq/debugpy. The
zygote imports all of that once; each sandbox is then a ``fork`` (copy-on-write), the namespaces and filesystem
of :mod:`.namespaces`, and ``IPKernelApp.initialize()`` in the child. Every sandbox still serves exactly one
submission: the zygote itself never runs submitted code and never talks to a kernel.

What the zygote may hold, since every sandbox inherits a copy of its memory: nothing secret. It is started with
a scrubbed environment, never receives connection keys (the kernel reads its connection file from its own
directory), code, inputs or expected outputs: only paths. It stays single-threaded (creating a user namespace
requires it; zmq contexts and threads are created after the fork, in the kernel).

Protocol: JSON lines. stdin: ``{"op": "plan", "plan": {...}}`` once, then ``{"op": "spawn", "id", "runtime_dir",
"io_dir", "procs": [cgroup.procs files], "connection_file", "lock_paths"}``. stdout: ``{"op": "ready"}``,
``{"op": "spawned", "id", "pid"}`` or ``{"op": "spawn_failed", "id", "error"}``, and ``{"op": "exit", "id",
"status"}`` when a sandbox's supervisor has ended.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys

KERNEL_ARGS = [
    "--IPKernelApp.capture_fd_output=False",
    "--HistoryManager.enabled=False",
    "--IPKernelApp.quiet=True",
    "--IPKernelApp.parent_handle=0",
]

DEFAULT_KERNEL = "jupyter_duel_server.sandbox.fastkernel.DuelKernel"

PRELOAD = (
    "zmq",
    "tornado.ioloop",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.iostream",
    "ipykernel.debugger",
    "ipykernel.comm",
    "IPython",
    "IPython.core.interactiveshell",
    "IPython.display",
    "jupyter_client.session",
    "jupyter_duel_server.codec",
    "jupyter_duel_server.sandbox.kernel_harness",
    "jupyter_duel_server.sandbox.fastkernel",
)


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a missing optional piece only costs start-up time
            sys.stderr.write(f"forkserver: could not preload {name}: {e}\n")


def _kernel_target(connection_file: str, kernel_class: str):
    def target() -> None:
        from .namespaces import BASE_ENV

        os.environ.clear()
        os.environ.update(BASE_ENV)
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, *KERNEL_ARGS, f"--IPKernelApp.kernel_class={kernel_class}"])
        app.start()
        os._exit(0)

    return target


def main() -> None:  # pragma: no cover - exercised through the runner's tests
    from . import _libc
    from .namespaces import spawn

    _libc.set_pdeathsig(signal.SIGKILL)
    _libc.prctl(_libc.PR_SET_CHILD_SUBREAPER, 1)
    _libc.set_name("duel-forkserver")
    os.chdir("/")
    cmd_in = sys.stdin.buffer
    out_fd = os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 1)  # kernel stdout/stderr are piped through each sandbox's supervisor
    os.close(null)

    def emit(obj: dict) -> None:
        os.write(out_fd, (json.dumps(obj) + "\n").encode())

    line = cmd_in.readline()
    first = json.loads(line)
    plan = first["plan"]
    seccomp_filter = None
    if plan.get("seccomp", True):
        from .seccomp import build_filter

        seccomp_filter = build_filter()
    _preload()
    import gc

    gc.collect()
    gc.freeze()  # keep the preloaded heap out of the children's garbage collections (fewer copied pages)

    sig_r, sig_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(sig_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, str] = {}
    emit({"op": "ready"})
    stdin_fd = cmd_in.fileno()
    buf = b""
    while True:
        try:
            ready, _, _ = select.select([stdin_fd, sig_r], [], [])
        except InterruptedError:
            ready = [sig_r]
        if sig_r in ready:
            try:
                while os.read(sig_r, 512):
                    pass
            except BlockingIOError:
                pass
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                sid = children.pop(pid, None)
                if sid is not None:
                    emit({"op": "exit", "id": sid, "status": os.waitstatus_to_exitcode(status)})
        if stdin_fd in ready:
            data = os.read(stdin_fd, 65536)
            if not data:
                break  # the runner went away: our children die with us (PDEATHSIG)
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                req = json.loads(raw)
                if req.get("op") != "spawn":
                    continue
                try:
                    pid = spawn(
                        plan,
                        cgroup_procs=req["procs"],
                        runtime_dir=req["runtime_dir"],
                        io_dir=req["io_dir"],
                        target=_kernel_target(req["connection_file"], req.get("kernel_class") or DEFAULT_KERNEL),
                        seccomp_filter=seccomp_filter,
                        lock_paths=req.get("lock_paths"),
                        stdout_fd=2,
                        close_fds=[0, out_fd, sig_r, sig_w],
                    )
                except OSError as e:
                    emit({"op": "spawn_failed", "id": req["id"], "error": str(e)})
                    continue
                children[pid] = req["id"]
                emit({"op": "spawned", "id": req["id"], "pid": pid})


if __name__ == "__main__":
    main()
