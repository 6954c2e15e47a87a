"""``KernelSandboxRunner``: the judge's :class:`~jupyter_duel_server.judge.Runner` that runs every submission in a
fresh locked-down Jupyter kernel.

Flow per submission: take a ready sandbox from a small pool (each is used once, then destroyed; the pool only
hides start-up), set its cgroup memory limit to *current usage + memory_mb* (the limit is on top of the
kernel's own baseline), send one ``execute_request`` running :mod:`.kernel_harness`, which connects back to
the judge on a Unix socket in the sandbox's io directory; over it go the code, then each test's encoded input
(never the expected outputs), each only once the previous test has reported, and back come the results. Every
message is parsed defensively and within bounds (headers of at most HEADER_LIMIT bytes; the value is handed on
as unparsed text of at most ``result_limit_bytes``): the submission runs inside the kernel and can corrupt
anything there, so a malformed message is a runtime error of the submission, never an exception here.

Verdict mapping (RawResult statuses): ``timeout`` (TLE: no result within the time limit, or the cgroup's CPU
usage passed ``cpu_time_s``), ``memory_limit`` (MLE: the cgroup OOM-killed a process), ``output_limit`` (OLE:
the printed output or the raw fd 1/2 output passed its cap), ``error``/``crash`` (RE).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import sys
import tempfile
import uuid
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Sequence

from traitlets import Bool, Float, Instance, Int, Unicode, default
from traitlets.config import Configurable

from ..judge import (HEADER_LIMIT, RawResult, Runner, SubprocessRunner, capture_chars, input_message, parse_result,
                     read_message)
from . import namespaces
from .cgroups import Cgroup, CgroupHierarchy
from .config import SandboxConfig
from .errors import SandboxError, SandboxUnavailable
from .import_policy import ImportPolicy

log = logging.getLogger("jupyter_duel.sandbox")

PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
DELIM = b"<IDS|MSG>"
#: The harness's channel: a Unix socket in the sandbox's io directory (see kernel_harness).
CHANNEL = "duel"
#: How long a closed channel waits for the sandbox's exit status (which tells an output-limit kill from a crash).
EXIT_WAIT_S = 1.0
#: The module whose ``run`` the judge's cell calls inside the kernel.
HARNESS = "jupyter_duel_server.sandbox.kernel_harness"
#: Names of what a runner leaves on the host, with the owner's pid and start time (for the start-up sweep).
CGROUP_NAME = re.compile(r"^j-(\d+)-(\d+)-[0-9a-f]+$")
RUNTIME_PREFIX = "duel-sandbox-"
RUNTIME_NAME = re.compile(r"^duel-sandbox-(\d+)-(\d+)-")


class _Wire:
    """Just enough of the Jupyter wire protocol for the judge: sign its one ``execute_request`` (the results come
    back on the harness's channel, not as Jupyter messages). Replaces a full ``jupyter_client.Session`` (a
    traitlets object, date parsing) on the judge's hot path."""

    __slots__ = ("_mac", "session")

    def __init__(self, key: bytes):
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self.session = uuid.uuid4().hex

    def _sign(self, parts) -> bytes:
        mac = self._mac.copy()
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode()

    def request(self, msg_type: str, content: dict) -> tuple[str, list[bytes]]:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "username": "judge", "session": self.session,
                  "date": datetime.now(timezone.utc).isoformat(), "version": "5.3"}
        parts = [json.dumps(header).encode(), b"{}", b"{}",
                 json.dumps(content, ensure_ascii=True, allow_nan=False).encode()]
        return msg_id, [DELIM, self._sign(parts), *parts]


def _owner_tag() -> str:
    return f"{os.getpid()}-{namespaces.process_start_time(os.getpid())}"


def _owner_alive(pid: int, start: int) -> bool:
    return namespaces.process_start_time(pid) == start


def _package_paths() -> list[str]:
    """Where this process imports ``jupyter_duel_server`` (and ``jupyter_duel``, which it imports) from: handed to
    the fork server on its stdin, never through its environment. Usually the interpreter's site-packages
    (already on the fork server's path); a checkout's directories in a source or editable set-up."""
    import jupyter_duel_server

    paths = [os.path.dirname(os.path.dirname(os.path.abspath(jupyter_duel_server.__file__)))]
    try:
        import jupyter_duel

        paths.append(os.path.dirname(os.path.dirname(os.path.abspath(jupyter_duel.__file__))))
    except ImportError:
        pass
    return list(dict.fromkeys(paths))


class _Zygote:
    """The fork server process and the bookkeeping of its replies."""

    def __init__(self, python: str, plan: dict):
        self.python = python
        self.plan = plan
        self.proc: asyncio.subprocess.Process | None = None
        self.spawned: dict[str, asyncio.Future] = {}
        self.exits: dict[str, asyncio.Future] = {}
        self.ready = asyncio.get_running_loop().create_future()
        self._reader: asyncio.Task | None = None

    async def start(self, timeout: float) -> None:
        from .forkserver import BOOTSTRAP

        # Exactly the sandbox's fixed environment and a fixed command line: a sandbox is a fork of this process
        # and sees both (/proc/1/environ, /proc/1/cmdline). Where to import the package from comes on stdin.
        self.proc = await asyncio.create_subprocess_exec(
            self.python, "-s", "-P", "-c", BOOTSTRAP,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=dict(namespaces.BASE_ENV), cwd="/",
            limit=1 << 16,
        )
        self.proc.stdin.write((json.dumps(_package_paths()) + "\n").encode())
        self.proc.stdin.write((json.dumps({"op": "plan", "plan": self.plan}) + "\n").encode())
        self._reader = asyncio.ensure_future(self._read())
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        except asyncio.TimeoutError:
            raise SandboxError("the sandbox fork server did not start") from None

    async def _read(self) -> None:
        try:
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    break
                msg = json.loads(line)
                op, sid = msg.get("op"), msg.get("id")
                if op == "ready" and not self.ready.done():
                    self.ready.set_result(True)
                elif op == "spawned" and sid in self.spawned:
                    fut = self.spawned.pop(sid)
                    if not fut.done():
                        fut.set_result(msg["pid"])
                elif op == "spawn_failed" and sid in self.spawned:
                    fut = self.spawned.pop(sid)
                    if not fut.done():
                        fut.set_exception(SandboxError(f"could not fork a sandbox: {msg.get('error')}"))
                elif op == "exit":
                    fut = self.exits.get(sid)
                    if fut is not None and not fut.done():
                        fut.set_result(msg["status"])
        finally:
            err = SandboxError("the sandbox fork server exited")
            for fut in [*self.spawned.values(), self.ready]:
                if not fut.done():
                    fut.set_exception(err)
            for fut in self.exits.values():
                if not fut.done():
                    fut.set_result(-9)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self._reader is not None \
            and not self._reader.done()

    async def spawn(self, sid: str, request: dict) -> tuple[int, asyncio.Future]:
        loop = asyncio.get_running_loop()
        fut = self.spawned[sid] = loop.create_future()
        exited = self.exits[sid] = loop.create_future()
        self.proc.stdin.write((json.dumps({"op": "spawn", "id": sid, **request}) + "\n").encode())
        await self.proc.stdin.drain()
        return await fut, exited

    async def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 2)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def _line(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=True, allow_nan=False).encode() + b"\n"


class _Watch:
    """Waits for one step of a run while watching its limits: the deadline, the cgroup's CPU time (polled) and
    the sandbox's end."""

    def __init__(self, sb: "_Sandbox", cg: Cgroup, cpu0: float, cpu_cap: float, poll_s: float):
        self.sb, self.cg, self.cpu0, self.cpu_cap, self.poll_s = sb, cg, cpu0, cpu_cap, poll_s
        self._task: asyncio.Future | None = None

    async def wait(self, step, deadline: float) -> tuple[str, Any]:
        """``("done", what step returned)``, or ``("timeout", None)``, ``("cpu", seconds used)``,
        ``("exit", status)``, ``("bad", why)``."""
        loop = asyncio.get_running_loop()
        task = self._task = asyncio.ensure_future(step)
        exited = self.sb.exited
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return "timeout", None
                done, _ = await asyncio.wait({task, exited}, timeout=min(remaining, self.poll_s),
                                             return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    try:
                        result = task.result()
                    except OSError as e:
                        return "bad", f"the kernel's channel failed: {e}"
                    if isinstance(result, tuple) and result[:1] == ("eof",):
                        # The harness's side closed: the kernel most likely ended; its status says why.
                        await asyncio.wait({exited}, timeout=EXIT_WAIT_S)
                        if exited.done():
                            return "exit", exited.result()
                    return "done", result
                if exited.done():
                    return "exit", exited.result()
                try:
                    used = self.cg.cpu_usage_s() - self.cpu0
                except OSError:
                    continue
                if used > self.cpu_cap:
                    return "cpu", used
        finally:
            if not task.done():
                task.cancel()

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class _Sandbox:
    """One sandboxed kernel: its directories, cgroup, supervisor pid and the client sockets."""

    def __init__(self, sid: str, runtime_dir: str, io_dir: str, cgroup: Cgroup):
        self.id = sid
        self.runtime_dir = runtime_dir
        self.io_dir = io_dir
        self.cgroup = cgroup
        self.pid = 0
        self.exited: asyncio.Future | None = None
        self.wire: _Wire | None = None
        self.shell = None
        self.iopub = None
        self.channel: socket.socket | None = None  # where the harness connects (see kernel_harness)


class KernelSandboxRunner(Runner, Configurable):
    """Runs each submission in a fresh locked-down kernel forked by the sandbox fork server."""

    sandbox = Instance(SandboxConfig, help="Limits and layout of the sandboxes.")
    pool_size = Int(4, help="Sandboxes kept started and waiting (each serves exactly one submission). With "
                           "max_starting, what sustains >= 20 verdicts/s on 2 cores (benchmarks/judge.py); each "
                           "idle sandbox holds ~20 MB.").tag(config=True)
    max_starting = Int(3, help="Most sandboxes starting at the same time. Starts run in the background; a "
                               "submission finding the pool empty waits for the next one ready (first come, "
                               "first served) instead of starting yet another and slowing every start down."
                       ).tag(config=True)
    output_limit_bytes = Int(1 << 20, help="Most bytes a test may print.").tag(config=True)
    result_limit_bytes = Int(1 << 20, help="Largest encoded result accepted per test (JSON bytes), checked on the "
                                           "trusted side before anything is parsed; a larger one is a runtime "
                                           "error.").tag(config=True)
    code_limit_bytes = Int(50_000, help="Longest accepted code, in UTF-8 bytes.").tag(config=True)
    startup_timeout_s = Float(20.0, help="Time allowed for a sandboxed kernel to start.").tag(config=True)
    setup_grace_s = Float(1.0, help="Time allowed for module-level code, on top of the per-test time limit."
                          ).tag(config=True)
    cpu_poll_s = Float(0.05, help="How often the cgroup's CPU usage is checked during a run.").tag(config=True)
    kernel_class = Unicode("jupyter_duel_server.sandbox.fastkernel.DuelKernel", help="Kernel class of the "
                           "judge's kernels: the minimal DuelKernel (fast), or 'ipykernel.ipkernel.IPythonKernel' "
                           "(the full IPython kernel, ~40 ms more CPU per submission).").tag(config=True)
    python = Unicode(sys.executable, help="Interpreter of the fork server and the kernels.").tag(config=True)
    import_policy = Instance(ImportPolicy, allow_none=True, help="The teaching-layer import check (not a "
                             "security boundary); None disables it.")
    enforce_import_policy = Bool(False, help="Refuse, with a friendly message, code importing modules the "
                                             "import policy lists. Teaching layer only. Off by default: the "
                                             "Judge applies the policy before any runner is used (REFUSED); "
                                             "turn it on to use this runner without a Judge.").tag(config=True)
    unsafe_local_practice = Bool(False, help="UNSAFE. Run submissions in a plain subprocess with no isolation "
                                             "at all, for local practice on a machine that cannot build the "
                                             "sandbox. Never enable on a shared service.").tag(config=True)

    @default("sandbox")
    def _default_sandbox(self) -> SandboxConfig:
        return SandboxConfig(parent=self)

    @default("import_policy")
    def _default_import_policy(self) -> ImportPolicy:
        return ImportPolicy(parent=self)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._zygote: _Zygote | None = None
        self._hierarchy: CgroupHierarchy | None = None
        self._pool: collections.deque[_Sandbox] = collections.deque()
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._filling = 0
        self._plan: dict | None = None
        self._owner = _owner_tag()
        self._background: set[asyncio.Task] = set()
        self._start_lock: asyncio.Lock | None = None
        self._unsafe: SubprocessRunner | None = None
        self._ctx = None

    # --- lifecycle -----------------------------------------------------------------------------------------
    def preflight(self) -> None:
        """Raise SandboxUnavailable naming everything this host lacks to build the sandbox."""
        missing = namespaces.check_host()
        plan = self.sandbox.plan()
        if not missing:
            problem = namespaces.probe_userns(plan)
            if problem:
                missing.append(f"user namespaces usable from this process ({problem})")
        try:
            self._hierarchy = CgroupHierarchy.detect(self.sandbox.cgroup_version, self.sandbox.cgroup_parent)
        except SandboxUnavailable as e:
            missing += e.missing
        if plan["seccomp"]:
            try:
                from .seccomp import build_filter

                build_filter()
            except SandboxUnavailable as e:
                missing += e.missing
        if missing:
            raise SandboxUnavailable(missing)

    async def start(self) -> None:
        """Check the host, start the fork server and fill the pool (also done lazily by the first run)."""
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.unsafe_local_practice:
                if self._unsafe is None:
                    log.warning("UNSAFE LOCAL PRACTICE: submissions run with NO sandbox (unsafe_local_practice)")
                    self._unsafe = SubprocessRunner(parent=self, python=self.python,
                                                    output_limit_bytes=self.output_limit_bytes)
                return
            if self._zygote is not None and self._zygote.alive():
                return
            self.preflight()
            self._plan = self.sandbox.plan()
            await asyncio.to_thread(self.sweep_leftovers)
            import zmq.asyncio

            if self._ctx is None:
                self._ctx = zmq.asyncio.Context()
            self._zygote = _Zygote(self.python, {**self._plan, "kernel_class": self.kernel_class})
            await self._zygote.start(self.startup_timeout_s)
        self._refill()

    def sweep_leftovers(self) -> list[str]:
        """Remove the sandbox cgroups (under ``cgroup_parent``) and runtime directories (in ``runtime_dir``) that
        a runner which is no longer alive left behind (a crashed judge). Names carry the owner's pid and start
        time, so what belongs to a live runner, this one included, is never touched. Returns what was removed."""
        removed = []
        hierarchy = self._hierarchy or CgroupHierarchy.detect(self.sandbox.cgroup_version, self.sandbox.cgroup_parent)
        groups: dict[str, dict[str, str]] = {}
        for c, base in hierarchy.bases.items():
            try:
                names = os.listdir(base)
            except OSError:
                continue
            for name in names:
                m = CGROUP_NAME.match(name)
                if m and not _owner_alive(int(m.group(1)), int(m.group(2))):
                    groups.setdefault(name, {})[c] = os.path.join(base, name)
        for name, dirs in groups.items():
            if Cgroup(hierarchy.version, dirs).remove(2.0):
                removed.append(name)
            else:
                log.warning("could not remove the leftover sandbox cgroup %s", name)
        base = self.sandbox.runtime_dir or tempfile.gettempdir()
        try:
            names = os.listdir(base)
        except OSError:
            names = []
        for name in names:
            m = RUNTIME_NAME.match(name)
            if m and not _owner_alive(int(m.group(1)), int(m.group(2))):
                namespaces.remove_runtime_dir(os.path.join(base, name))
                removed.append(name)
        if removed:
            log.info("removed %d sandbox leftovers of a previous judge process", len(removed))
        return removed

    async def close(self) -> None:
        """Destroy the pooled sandboxes and stop the fork server."""
        pool, self._pool = self._pool, collections.deque()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(SandboxError("the sandbox runner was closed"))
        for sb in pool:
            self._spawn_bg(self._destroy(sb))
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        if self._zygote is not None:
            await self._zygote.close()
            self._zygote = None
        if self._ctx is not None:
            self._ctx.destroy(linger=0)
            self._ctx = None

    def _spawn_bg(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _refill(self) -> None:
        if self._zygote is None:
            return
        wanted = self.pool_size + len(self._waiters)
        while len(self._pool) + self._filling < wanted and self._filling < max(1, self.max_starting):
            self._filling += 1
            self._spawn_bg(self._fill_one())

    async def _fill_one(self) -> None:
        try:
            sb = await self._create()
        except Exception as e:  # noqa: BLE001 - handed to a waiting submission, else logged
            self._filling -= 1
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.set_exception(e if isinstance(e, SandboxError) else SandboxError(str(e)))
                    break
            else:
                log.warning("could not start a pooled sandbox: %s", e)
            return
        self._filling -= 1
        if self._zygote is None:
            await self._destroy(sb)
            return
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(sb)
                break
        else:
            self._pool.append(sb)
        self._refill()

    async def _acquire(self) -> _Sandbox:
        await self.start()
        while True:
            while self._pool:
                sb = self._pool.popleft()
                if sb.exited is not None and not sb.exited.done():
                    self._refill()
                    return sb
                self._spawn_bg(self._destroy(sb))
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            self._refill()
            try:
                sb = await asyncio.wait_for(asyncio.shield(fut), self.startup_timeout_s + 5)
            except asyncio.TimeoutError:
                raise SandboxError("no sandbox became ready in time") from None
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    self._spawn_bg(self._destroy(fut.result()))
                else:
                    fut.cancel()
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(fut)
            if sb.exited is not None and not sb.exited.done():
                return sb
            self._spawn_bg(self._destroy(sb))

    # --- one sandbox ---------------------------------------------------------------------------------------
    async def _create(self) -> _Sandbox:
        import zmq

        plan = self._plan or self.sandbox.plan()
        sid = uuid.uuid4().hex[:16]
        runtime_dir, io_dir = namespaces.prepare_runtime_dir(self.sandbox.runtime_dir or None, plan["uid"],
                                                             plan["gid"], prefix=f"{RUNTIME_PREFIX}{self._owner}-")
        try:
            cgroup = self._hierarchy.create(f"j-{self._owner}-{sid}", plan["kernel_memory_bytes"], plan["pids_max"],
                                            plan["cpu_cores"])
        except BaseException:
            namespaces.remove_runtime_dir(runtime_dir)
            raise
        sb = _Sandbox(sid, runtime_dir, io_dir, cgroup)
        try:
            key = secrets.token_hex(32)
            ip = os.path.join(io_dir, "k")
            info = {"transport": "ipc", "ip": ip, "key": key, "signature_scheme": "hmac-sha256", **PORTS}
            cf = os.path.join(io_dir, "connection.json")
            fd = os.open(cf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, json.dumps(info).encode())
                os.fchown(fd, plan["uid"], plan["gid"])
            finally:
                os.close(fd)
            sb.wire = _Wire(key.encode())
            # The harness's channel (kernel_harness): a Unix socket in the io directory, listened on by us,
            # connectable by the sandbox uid only; made before the kernel exists, so locking the directory
            # read-only later leaves it usable.
            sb.channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sb.channel.bind(os.path.join(io_dir, CHANNEL))
            os.chown(os.path.join(io_dir, CHANNEL), plan["uid"], plan["gid"])
            os.chmod(os.path.join(io_dir, CHANNEL), 0o600)
            sb.channel.listen(1)
            sb.channel.setblocking(False)
            sb.shell = self._ctx.socket(zmq.DEALER)
            sb.iopub = self._ctx.socket(zmq.SUB)
            for s in (sb.shell, sb.iopub):
                s.setsockopt(zmq.LINGER, 0)
                # Nothing large or numerous is expected on these sockets (results use the channel): what a
                # hostile kernel sends on them is bounded, then dropped.
                s.setsockopt(zmq.MAXMSGSIZE, HEADER_LIMIT)
                s.setsockopt(zmq.RCVHWM, 16)
                # We connect before the kernel binds: retry every 5 ms, not zmq's default 100 ms (which was
                # most of a sandbox's start-up latency).
                s.setsockopt(zmq.RECONNECT_IVL, 5)
            sb.iopub.setsockopt(zmq.SUBSCRIBE, b"")
            sb.shell.connect(f"ipc://{ip}-{PORTS['shell_port']}")
            sb.iopub.connect(f"ipc://{ip}-{PORTS['iopub_port']}")
            sb.pid, sb.exited = await self._zygote.spawn(sid, {
                "runtime_dir": runtime_dir, "io_dir": io_dir, "procs": cgroup.procs_files,
                "connection_file": cf, "kernel_class": self.kernel_class, "ip": ip, "ports": PORTS,
            })
            # Ready when the kernel welcomes our iopub subscription (so no result can be published unseen).
            recv = asyncio.ensure_future(sb.iopub.recv_multipart(copy=True))
            done, _ = await asyncio.wait({recv, sb.exited}, timeout=self.startup_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if recv not in done:
                recv.cancel()
                if sb.exited.done():
                    raise SandboxError(f"the sandboxed kernel exited during start-up (status {sb.exited.result()})")
                raise SandboxError(f"the sandboxed kernel did not start within {self.startup_timeout_s:g} s")
            # Readiness was all iopub was for: unsubscribed, the kernel's publishing goes nowhere.
            sb.iopub.close(linger=0)
            sb.iopub = None
            return sb
        except BaseException:
            await self._destroy(sb)
            raise

    async def _destroy(self, sb: _Sandbox) -> None:
        """Kill everything in the sandbox, wait for its supervisor, remove its cgroup and directories."""
        try:
            sb.cgroup.kill_all()
            for s in (sb.shell, sb.iopub, sb.channel):
                if s is not None:
                    s.close()
            if sb.exited is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(sb.exited), 5)
                except asyncio.TimeoutError:
                    log.warning("sandbox %s: supervisor did not exit", sb.id)
            await asyncio.to_thread(self._remove, sb)
        finally:
            if self._zygote is not None:
                self._zygote.exits.pop(sb.id, None)

    @staticmethod
    def _remove(sb: _Sandbox) -> None:
        if not sb.cgroup.remove(10.0):
            log.warning("sandbox %s: cgroup could not be removed", sb.id)
        namespaces.remove_runtime_dir(sb.runtime_dir)

    # --- a run ---------------------------------------------------------------------------------------------
    async def run(self, code: str, function: str, inputs: list[list], time_limit_s: float,
                  output_chars: Sequence[int] | None = None
                  ) -> AsyncIterator[RawResult]:
        n = len(inputs)
        refusal = None
        if len(code.encode("utf-8", "surrogatepass")) > self.code_limit_bytes:
            refusal = f"the code is longer than the {self.code_limit_bytes}-byte limit"
        elif self.enforce_import_policy and self.import_policy is not None:
            refusal = self.import_policy.check(code)
        if refusal is not None:
            for i in range(n):
                yield RawResult(i, "error", None, refusal, 0.0)
            return
        if self.unsafe_local_practice:
            await self.start()
            async with contextlib.aclosing(self._unsafe.run(code, function, inputs, time_limit_s,
                                                            output_chars)) as results:
                async for r in results:
                    yield r
            return
        sb = await self._acquire()
        try:
            async for r in self._run_in(sb, code, function, inputs, time_limit_s, output_chars):
                yield r
        finally:
            self._spawn_bg(self._destroy(sb))

    async def _run_in(self, sb: _Sandbox, code: str, function: str, inputs: list[list], time_limit_s: float,
                      output_chars: Sequence[int] | None = None) -> AsyncIterator[RawResult]:
        n = len(inputs)
        plan = self._plan or self.sandbox.plan()
        cg = sb.cgroup
        try:
            cg.set_memory_limit(cg.memory_usage() + plan["memory_bytes"])
            cpu0 = cg.cpu_usage_s()
            oom0 = cg.oom_kills()
        except OSError as e:
            raise SandboxError(f"sandbox cgroup: {e}") from e
        loop = asyncio.get_running_loop()
        path = os.path.join(sb.io_dir, CHANNEL)
        _, frames = sb.wire.request("execute_request", {
            "code": f"from {HARNESS} import run as __duel_run\n__duel_run({path!r})\n", "silent": True,
            "store_history": False, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        await sb.shell.send_multipart(frames, copy=True)
        watch = _Watch(sb, cg, cpu0, plan["cpu_time_s"], self.cpu_poll_s)
        writer = None
        try:
            deadline = loop.time() + time_limit_s + self.setup_grace_s
            kind, conn = await watch.wait(loop.sock_accept(sb.channel), deadline)
            if kind != "done":
                failure = self._failure(0, kind, conn, time_limit_s, cg, oom0)
                for index in range(n):
                    yield RawResult(index, failure.status, None, failure.error, failure.time_ms if index == 0 else 0.0)
                return
            sb.channel.close()  # one connection: the harness's, made before any submitted code runs
            reader, writer = await asyncio.open_unix_connection(sock=conn[0], limit=HEADER_LIMIT)
            writer.write(_line({"code": code, "function": function, "output_limit": self.output_limit_bytes,
                                "result_limit": self.result_limit_bytes, "memory_limit": 0,
                                "capture_chars": capture_chars(output_chars)}))
            # module-level code
            kind, message = await watch.wait(read_message(reader, self.result_limit_bytes), deadline)
            body = message[1] if kind == "done" and message[0] == "message" else None
            if isinstance(body, dict) and body.get("ready") is True and len(body) == 1:
                pass
            elif (isinstance(body, dict) and body.get("setup") in ("error", "output_limit", "memory_limit")
                  and isinstance(body.get("error"), str)):
                for index in range(n):
                    yield RawResult(index, body["setup"], None, body["error"][:8000], 0.0)
                return
            else:
                kind, why = (message[0], message[1]) if kind == "done" else (kind, message)
                failure = self._failure(0, kind, why, time_limit_s, cg, oom0)
                for index in range(n):
                    yield RawResult(index, failure.status, None, failure.error, failure.time_ms if index == 0 else 0.0)
                return
            # One input at a time, each only once the previous test has reported: module-level code and
            # earlier tests never find a later input in the kernel.
            started = self._send_input(writer, loop, inputs, 0, output_chars) if n else 0.0
            for index in range(n):
                kind, message = await watch.wait(read_message(reader, self.result_limit_bytes),
                                                 started + time_limit_s)
                wall_ms = (loop.time() - started) * 1000.0
                result = None
                if kind == "done":
                    kind, body, value = message
                    result = parse_result(index, body, value, wall_ms) if kind == "message" else None
                    why = body
                else:
                    why = message
                if result is None:
                    failure = self._failure(index, kind if kind != "message" else "bad", why, time_limit_s, cg,
                                            oom0)
                    yield failure
                    skipped = f"not run: test {index + 1} ended the run ({failure.error})"
                    for j in range(index + 1, n):
                        yield RawResult(j, failure.status, None, skipped, 0.0, skipped=True)
                    return
                if index + 1 < n:  # the next test starts now, while the judge looks at this result
                    started = self._send_input(writer, loop, inputs, index + 1, output_chars)
                yield result
        finally:
            watch.close()
            if writer is not None:
                writer.close()

    @staticmethod
    def _send_input(writer: asyncio.StreamWriter, loop, inputs: list[list], index: int,
                    output_chars: Sequence[int] | None = None) -> float:
        """Send test ``index``'s input; returns when (loop time): its clock starts then. (A small write to a
        socket the harness reads at once: no drain needed; a harness that stops reading only stops its tests.)"""
        writer.write(_line(input_message(inputs, index, output_chars)))
        return loop.time()

    def _failure(self, index: int, kind: str, why: Any, time_limit_s: float, cg: Cgroup, oom0: int) -> RawResult:
        try:
            oom = cg.oom_kills() > oom0
        except OSError:
            oom = False
        if oom:
            return RawResult(index, "memory_limit", None,
                             f"memory limit exceeded ({self.sandbox.memory_mb} MB): a process was killed", 0.0)
        if kind == "timeout":
            return RawResult(index, "timeout", None, f"no result within {time_limit_s:g} s", time_limit_s * 1000.0)
        if kind == "cpu":
            return RawResult(index, "timeout", None,
                             f"used more than {self.sandbox.cpu_time_s:g} s of CPU time", time_limit_s * 1000.0)
        if kind == "exit":
            if why == namespaces.EXIT_OUTPUT_LIMIT:
                return RawResult(index, "output_limit", None,
                                 f"more than {self.sandbox.fd_output_limit_bytes} bytes were written to the "
                                 "standard output/error file descriptors", 0.0)
            return RawResult(index, "crash", None, "the kernel running the code exited (sys.exit/os._exit, a "
                                                   "crash, or a killed process)", 0.0)
        if kind == "eof":
            return RawResult(index, "crash", None, "the code ended the run before every test reported a result",
                             0.0)
        return RawResult(index, "crash", None, why if isinstance(why, str) else "malformed result", 0.0)
