"""The fork server: a pre-imported, single-threaded zygote that forks each fresh sandbox and starts a kernel in it.

Why: a cold ipykernel start costs ~550 ms here; most of it is importing ipykernel/zmq/tornado. The zygote imports
what the judge kernel needs once (:data:`PRELOAD`); each sandbox is then a ``fork`` (copy-on-write), the
namespaces and filesystem of :mod:`.namespaces`, and :func:`.fastkernel.serve` in the child (or, for another
kernel class, a quiet ``IPKernelApp``). Every sandbox still serves exactly one submission: the zygote itself never
runs submitted code and never talks to a kernel.

What the zygote may hold, since every sandbox inherits a copy of its memory: nothing secret. It is exec'd with
exactly :data:`.namespaces.BASE_ENV` as its environment and the fixed command line ``python -s -P -c BOOTSTRAP``
(a sandbox sees both through ``/proc/1/environ`` and ``/proc/1/cmdline``: clearing ``os.environ`` after the
fact would not change them), so nothing of the judge's environment (PATH, PYTHONPATH, secrets, settings)
reaches it. The paths of the package come as the first line of its stdin (:data:`BOOTSTRAP`). It never
receives connection keys (the kernel reads its connection file from its own directory), code, inputs or
expected outputs: only paths. It stays single-threaded (creating a user namespace requires it; zmq contexts
and threads are created after the fork, in the kernel).

Output: nothing of a sandbox reaches the zygote's (hence the judge's) stdout/stderr. The zygote's fd 1 is
/dev/null and each supervisor counts its kernel's fd 1/2 output against the cap and drops it.

Protocol: JSON lines. stdin: a JSON list of directories to put first on ``sys.path`` (read by
:data:`BOOTSTRAP`), then ``{"op": "plan", "plan": {...}}`` once (the plan may name ``kernel_class``, to
preload it), then ``{"op": "spawn", "id", "runtime_dir", "io_dir", "procs": [cgroup.procs files],
"connection_file", "kernel_class", "ip", "ports"}`` (``ip``/``ports``: the ipc socket paths the kernel binds;
once they exist, the io dir is made read-only). stdout: ``{"op": "ready"}``, ``{"op": "spawned", "id", "pid"}``
or ``{"op": "spawn_failed", "id", "error"}``, and ``{"op": "exit", "id", "status"}`` when a sandbox's supervisor
has ended.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys

DEFAULT_KERNEL = "jupyter_duel_server.sandbox.fastkernel.DuelKernel"

#: The zygote's whole program, given with ``-c``: read the first line of stdin (a JSON list of directories, where
#: the judge found this package) one byte at a time, so that nothing more is consumed before ``main()`` reads
#: its own stdin; put them first on ``sys.path``; run :func:`main`. Fixed text: the command line carries nothing
#: of the host.
BOOTSTRAP = (
    "import os, sys\n"
    "line = b''\n"
    "while not line.endswith(b'\\n'):\n"
    "    c = os.read(0, 1)\n"
    "    if not c:\n"
    "        raise SystemExit(1)\n"
    "    line += c\n"
    "import json\n"
    "paths = json.loads(line)\n"
    "sys.path[:0] = [p for p in paths if isinstance(p, str) and p not in sys.path] if isinstance(paths, list) else []\n"
    "from jupyter_duel_server.sandbox.forkserver import main\n"
    "main()\n"
)

#: Imported once by the zygote, before any fork: what every judge kernel needs (the lean DuelKernel path).
PRELOAD = (
    "zmq",
    "zmq.eventloop.zmqstream",
    "tornado.ioloop",
    "tornado.platform.asyncio",
    "asyncio",
    "ipykernel.kernelbase",
    "jupyter_client.session",
    "jupyter_duel_server.codec",
    "jupyter_duel_server.sandbox.namespaces",
    "jupyter_duel_server.sandbox.kernel_harness",
    "jupyter_duel_server.sandbox.fastkernel",
)
#: Also imported when the plan selects another kernel class (the full IPKernelApp path).
PRELOAD_IPKERNELAPP = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.iostream",
    "ipykernel.comm",
    "IPython.core.interactiveshell",
    "IPython.core.debugger",
    "IPython.display",
)


def _preload(names=PRELOAD) -> None:
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a missing optional piece only costs start-up time
            sys.stderr.write(f"forkserver: could not preload {name}: {e}\n")


def _resolve(kernel_class: str):
    from importlib import import_module

    module, _, name = kernel_class.rpartition(".")
    return getattr(import_module(module), name)


def _quiet_ipkernel_app(connection_file: str, kernel_class: str) -> None:
    """The full ``IPKernelApp`` (for another kernel class, e.g. IPythonKernel), configured without a command
    line, printing nothing: no banner, no subprocess-output pipe (it cannot bind 127.0.0.1 in an empty network
    namespace and would warn), no pdb set-up, logging at CRITICAL."""
    from ipykernel.iostream import IOPubThread
    from ipykernel.kernelapp import IPKernelApp
    from traitlets.config import Config

    class QuietKernelApp(IPKernelApp):
        def init_pdb(self):
            pass

        def log_connection_info(self):
            self._ports = dict(shell=self.shell_port, iopub=self.iopub_port, stdin=self.stdin_port,
                               hb=self.hb_port, control=self.control_port)

        def init_iopub(self, context):
            import zmq

            self.iopub_socket = context.socket(zmq.XPUB)
            self.iopub_socket.linger = 1000
            self.iopub_port = self._bind_socket(self.iopub_socket, self.iopub_port)
            self.configure_tornado_logger()
            self.iopub_thread = IOPubThread(self.iopub_socket, pipe=False, session=self.session)
            self.iopub_thread.start()
            self.iopub_socket = self.iopub_thread.background_socket

    c = Config()
    c.IPKernelApp.connection_file = connection_file
    c.IPKernelApp.kernel_class = kernel_class
    c.IPKernelApp.capture_fd_output = False
    c.IPKernelApp.quiet = True
    c.IPKernelApp.parent_handle = 0
    c.IPKernelApp.log_level = "CRITICAL"
    c.HistoryManager.enabled = False
    app = QuietKernelApp.instance(config=c)
    app.initialize([])
    app.start()


def _is_lean(kernel_class: str) -> bool:
    """True when the kernel runs through :func:`.fastkernel.serve` (a DuelKernel): shell + iopub only."""
    from .fastkernel import DuelKernel

    if kernel_class == DEFAULT_KERNEL:
        return True
    cls = _resolve(kernel_class)
    return isinstance(cls, type) and issubclass(cls, DuelKernel)


def _kernel_target(connection_file: str, kernel_class: str):
    def target() -> None:
        from .namespaces import BASE_ENV

        os.environ.clear()
        os.environ.update(BASE_ENV)
        from .fastkernel import serve

        if _is_lean(kernel_class):
            serve(connection_file, _resolve(kernel_class))
        else:
            _quiet_ipkernel_app(connection_file, kernel_class)
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
    os.dup2(null, 1)  # nothing of a sandbox reaches the judge's stdout: B's fds 1/2 are drained and dropped by A
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
    if plan.get("kernel_class", DEFAULT_KERNEL) != DEFAULT_KERNEL:
        _preload(PRELOAD_IPKERNELAPP + (plan["kernel_class"].rpartition(".")[0],))
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
                    kernel_class = req.get("kernel_class") or DEFAULT_KERNEL
                    lock_paths = req.get("lock_paths")
                    if req.get("ip") and req.get("ports"):
                        # The sockets the kernel binds: once they all exist, A makes the io dir read-only.
                        ports = req["ports"]
                        if _is_lean(kernel_class):
                            ports = {k: v for k, v in ports.items() if k in ("shell_port", "iopub_port")}
                        lock_paths = [f"{req['ip']}-{p}" for p in ports.values()]
                    pid = spawn(
                        plan,
                        cgroup_procs=req["procs"],
                        runtime_dir=req["runtime_dir"],
                        io_dir=req["io_dir"],
                        target=_kernel_target(req["connection_file"], kernel_class),
                        seccomp_filter=seccomp_filter,
                        lock_paths=lock_paths,
                        stdout_fd=None,  # the kernel's fds 1/2 are counted (capped) and discarded
                        close_fds=[0, out_fd, sig_r, sig_w],
                    )
                except Exception as e:  # noqa: BLE001 - the zygote must survive a bad request
                    emit({"op": "spawn_failed", "id": req["id"], "error": f"{type(e).__name__}: {e}"})
                    continue
                children[pid] = req["id"]
                emit({"op": "spawned", "id": req["id"], "pid": pid})


if __name__ == "__main__":
    main()
