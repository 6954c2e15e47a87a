"""Judging: run a submission on a challenge's tests and turn raw results into verdicts.

Why two layers: a :class:`Runner` is the sandbox boundary. Code and encoded inputs go in, typed raw results
come out; expected results never leave this process, and :class:`Judge` compares on the trusted side. Today's
:class:`SubprocessRunner` is a plain child process with a wall-clock timeout; a locked-down kernel sandbox
replaces it later behind the same interface.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import re
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Literal

from traitlets import Bool, Dict, Float, Instance, Int, Unicode, default
from traitlets.config import Configurable

from .challenges import Challenge
from .codec import EncodingError, decode, encode

__all__ = ["JudgeReport", "Judge", "RawResult", "Runner", "SubprocessRunner", "TestOutcome", "HARNESS"]

HARNESS = Path(__file__).with_name("harness.py")
RawStatus = Literal["ok", "error", "timeout", "crash", "output_limit", "memory_limit"]
STATUSES = ("ok", "error", "timeout", "crash", "output_limit", "memory_limit")
#: Statuses the harness itself reports per test (the others are decided on the trusted side).
HARNESS_STATUSES = ("ok", "error", "output_limit", "memory_limit")
VERDICT_OF_STATUS = {"error": "RE", "timeout": "TLE", "output_limit": "OLE", "memory_limit": "MLE", "crash": "RE"}
MAX_REPR_CHARS = 1000


@dataclass(frozen=True)
class RawResult:
    """What a runner reports for one input: ``value`` is the *encoded* result (status ``ok`` only)."""

    index: int
    status: RawStatus
    value: Any = None
    error: str | None = None
    time_ms: float = 0.0


@dataclass
class TestOutcome:
    """One judged test; ``expected``/``got`` are reprs, ``call`` the call as source."""

    __test__ = False

    index: int
    kind: str
    total: int
    passed: bool
    verdict: str
    time_ms: float
    call: str
    expected: str
    got: str | None
    error: str | None


@dataclass
class JudgeReport:
    """The whole run: ``verdict`` is AC when every test passed, else the first failing test's verdict."""

    verdict: str
    passed: int
    total: int
    message: str | None
    outcomes: list[TestOutcome]


class Runner:
    """The sandbox plug point (abstract; not an ABC because traitlets' metaclass would conflict).

    ``run`` is an async generator yielding exactly one :class:`RawResult` per input, in order. It must never
    raise for anything the submitted code does (that is a status), only for infrastructure failures, and must
    release everything it started when closed early.
    """

    def run(self, code: str, function: str, inputs: list[list], time_limit_s: float) -> AsyncIterator[RawResult]:
        raise NotImplementedError


class SubprocessRunner(Runner, Configurable):
    """Runs the harness in a fresh Python process per submission: a timeout and an output cap, no isolation."""

    python = Unicode(sys.executable, help="Python interpreter that runs submissions.").tag(config=True)
    output_limit_bytes = Int(
        1 << 20, help="Most bytes a test may print, and the largest encoded result accepted per test."
    ).tag(config=True)
    startup_timeout_s = Float(
        5.0, help="Time allowed for the interpreter to start, on top of the time limit given to module-level code."
    ).tag(config=True)
    memory_limit_mb = Int(
        512, help="Address-space limit of the child (RLIMIT_AS) in MiB; a MemoryError is MLE. 0 disables it."
    ).tag(config=True)
    env = Dict(
        {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        help="The child's whole environment: the service's own (secrets included) is never passed on.",
    ).tag(config=True)

    async def run(
        self, code: str, function: str, inputs: list[list], time_limit_s: float
    ) -> AsyncIterator[RawResult]:
        n = len(inputs)
        payload = json.dumps(
            {
                "code": code,
                "function": function,
                "inputs": inputs,
                "output_limit": self.output_limit_bytes,
                "memory_limit": self.memory_limit_mb * 1024 * 1024,
            },
            ensure_ascii=False,
            allow_nan=False,
        ).encode("utf-8")
        # The harness keeps its own lines under output_limit_bytes; anything longer is not from the harness.
        line_limit = self.output_limit_bytes + 4096
        proc = await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            "-S",
            str(HARNESS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            limit=line_limit,
            cwd="/",
            env=dict(self.env),
        )
        # Lines are read as they arrive and stamped, so a test's deadline runs from the moment the previous
        # result arrived, however long the consumer takes between two results.
        lines: asyncio.Queue = asyncio.Queue()
        pump = asyncio.create_task(self._pump(proc, lines, n + 1, line_limit))
        spawned = time.monotonic()
        try:
            try:
                proc.stdin.write(payload)
                await proc.stdin.drain()
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the child died; reading below reports it

            # Startup and module-level code: no test is running yet.
            arrived, kind, msg = await self._next(lines, spawned + self.startup_timeout_s + time_limit_s)
            if kind == "line" and msg.get("ready") is True and len(msg) == 1:
                pass
            elif kind == "line" and msg.get("setup") in HARNESS_STATUSES[1:] and isinstance(msg.get("error"), str):
                for index in range(n):
                    yield RawResult(index, msg["setup"], None, msg["error"], 0.0)
                return
            else:
                for index in range(n):
                    yield self._failure(index, kind, msg, time_limit_s, proc)
                return

            for index in range(n):
                previous = arrived
                arrived, kind, msg = await self._next(lines, previous + time_limit_s)
                wall_ms = (arrived - previous) * 1000.0
                result = self._parse(index, msg, wall_ms) if kind == "line" else None
                if result is None:
                    failure = self._failure(index, kind, msg, time_limit_s, proc)
                    yield failure
                    skipped = f"not run: test {index + 1} ended the process ({failure.error})"
                    for rest in range(index + 1, n):
                        yield RawResult(rest, failure.status, None, skipped, 0.0)
                    return
                yield result
        finally:
            pump.cancel()
            await self._reap(proc)
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _pump(self, proc, lines: asyncio.Queue, most: int, line_limit: int) -> None:
        """Read at most ``most`` lines (what the harness can legitimately send), stamping each on arrival."""
        for _ in range(most):
            kind, msg = await self._read(proc, line_limit)
            lines.put_nowait((time.monotonic(), kind, msg))
            if kind != "line":
                return
        lines.put_nowait((time.monotonic(), "bad", "more result lines than tests"))

    @staticmethod
    async def _next(lines: asyncio.Queue, deadline: float) -> tuple[float, str, Any]:
        """The next stamped line, or a timeout when none arrived by ``deadline`` (even if read later)."""
        if lines.empty():
            try:
                item = await asyncio.wait_for(lines.get(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return time.monotonic(), "timeout", None
        else:
            item = lines.get_nowait()
        if item[0] > deadline:
            return item[0], "timeout", None
        return item

    @staticmethod
    async def _read(proc, line_limit: int) -> tuple[str, Any]:
        """One line from the result channel: ("line", obj) | ("eof", None) | ("bad", why)."""
        try:
            raw = await proc.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError):
            return "bad", f"a result line was longer than {line_limit} bytes"
        if not raw or not raw.endswith(b"\n"):
            return "eof", None
        try:
            msg = json.loads(raw)
        except (ValueError, RecursionError):
            return "bad", "a result line was not valid JSON"
        if not isinstance(msg, dict):
            return "bad", "a result line was not a JSON object"
        return "line", msg

    @staticmethod
    def _parse(index: int, msg: dict, wall_ms: float) -> RawResult | None:
        status = msg.get("status")
        if msg.get("i") != index or type(msg.get("i")) is not int or status not in HARNESS_STATUSES:
            return None
        error = msg.get("error")
        if error is not None and not isinstance(error, str):
            return None
        t = msg.get("time_ms")
        if type(t) not in (int, float) or not (0 <= t <= wall_ms + 1000):
            t = wall_ms
        if status == "ok" and error is not None:
            return None
        return RawResult(index, status, msg.get("value") if status == "ok" else None, error, float(t))

    @staticmethod
    def _failure(index: int, kind: str, why: Any, time_limit_s: float, proc) -> RawResult:
        if kind == "timeout":
            return RawResult(index, "timeout", None, f"no result within {time_limit_s:g} s", time_limit_s * 1000.0)
        if kind == "eof":
            code = proc.returncode
            text = "the process running the code exited" + (f" with status {code}" if code is not None else "")
            return RawResult(index, "crash", None, text + " (sys.exit/os._exit, a crash, or memory exhaustion)", 0.0)
        return RawResult(index, "crash", None, why if isinstance(why, str) else "malformed result", 0.0)

    @staticmethod
    async def _reap(proc) -> None:
        """Kill the whole process group (the submission may have started children) and wait for the child."""
        # killpg, not proc.kill(): Popen.send_signal polls first and would steal the exit status from asyncio's
        # child watcher. start_new_session made the child the leader of its own group, so this reaches it too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


def _short(text: str, limit: int = MAX_REPR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _safe_repr(value: Any) -> str:
    try:
        return _short(repr(value))
    except RecursionError:
        return "<too deeply nested to show>"


class Judge(Configurable):
    """Judges a submission against a challenge: streaming per-test outcomes, then a report."""

    runner = Instance(Runner, help="Where submissions run (the sandbox).").tag(config=True)
    max_time_s = Float(10.0, help="Service-wide cap on a challenge's per-test time limit.").tag(config=True)
    enforce_import_policy = Bool(
        True, help="Refuse code importing the import policy's modules (REFUSED), before anything runs. A teaching "
        "aid with a friendly message, not a security boundary: the sandbox contains whatever gets past it."
    ).tag(config=True)

    @default("runner")
    def _default_runner(self) -> Runner:
        return SubprocessRunner(parent=self)

    def _import_refusal(self, code: str) -> str | None:
        if not self.enforce_import_policy:
            return None
        from .sandbox.import_policy import ImportPolicy

        if self._policy is None:
            self._policy = ImportPolicy(parent=self)
        return self._policy.check(code)

    _policy = None

    async def judge(
        self,
        challenge: Challenge,
        code: str,
        *,
        samples_only: bool = False,
        on_test: Callable[[TestOutcome], Awaitable[None]] | None = None,
    ) -> JudgeReport:
        """Run the tests (samples, then hidden unless ``samples_only``) and return the report.

        ``on_test`` is awaited once per outcome, in order, as soon as it is known (also for CE, where nothing
        runs). Raises only when the runner itself fails, never because of what the code does.
        """
        tests = challenge.tests(samples_only)
        total = len(tests)
        time_limit = min(challenge.limits.time_s, self.max_time_s)
        outcomes: list[TestOutcome] = []

        async def emit(outcome: TestOutcome) -> None:
            outcomes.append(outcome)
            if on_test is not None:
                await on_test(outcome)

        def outcome(i: int, verdict: str, *, time_ms=0.0, got=None, error=None) -> TestOutcome:
            kind, test = tests[i]
            return TestOutcome(
                index=i,
                kind=kind,
                total=total,
                passed=verdict == "AC",
                verdict=verdict,
                time_ms=time_ms,
                call=_short(challenge.call_repr(test)),
                expected=_safe_repr(test.expected),
                got=got,
                error=error,
            )

        try:
            compile(code, "<solution>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            message = "".join(traceback.format_exception_only(type(e), e)).rstrip("\n")
            for i in range(total):
                await emit(outcome(i, "CE", error=message))
            return JudgeReport("CE", 0, total, message, outcomes)

        refusal = self._import_refusal(code)
        if refusal is not None:
            for i in range(total):
                await emit(outcome(i, "REFUSED", error=refusal))
            return JudgeReport("REFUSED", 0, total, refusal, outcomes)

        inputs = [[encode(a) for a in test.args] for _, test in tests]
        results = self.runner.run(code, challenge.function, inputs, time_limit)
        async with contextlib.aclosing(results):
            async for raw in results:
                i = len(outcomes)
                if i >= total:
                    break
                if raw.status == "ok":
                    try:
                        value = decode(raw.value)
                    except EncodingError as e:
                        await emit(outcome(i, "RE", time_ms=raw.time_ms, error=f"malformed result: {e}"))
                        continue
                    passed, _note = challenge.comparator.check(tests[i][1].expected, value, args=tests[i][1].args)
                    await emit(outcome(i, "AC" if passed else "WA", time_ms=raw.time_ms, got=_safe_repr(value)))
                else:
                    verdict = VERDICT_OF_STATUS.get(raw.status, "RE")
                    await emit(outcome(i, verdict, time_ms=raw.time_ms, error=raw.error))
        while len(outcomes) < total:  # a runner that stopped early: never count a test as passed
            await emit(outcome(len(outcomes), "RE", error="no result was reported for this test"))

        passed = sum(o.passed for o in outcomes)
        first = next((o for o in outcomes if not o.passed), None)
        if first is None:
            return JudgeReport("AC", passed, total, None, outcomes)
        return JudgeReport(first.verdict, passed, total, self._message(first), outcomes)

    @staticmethod
    def _message(o: TestOutcome) -> str:
        where = f"{o.kind} test {o.index + 1}"
        if o.verdict == "WA":
            return f"Wrong answer on {where}."
        if o.verdict == "TLE":
            return f"Time limit exceeded on {where}: {o.error}."
        if o.verdict == "OLE":
            return f"Output limit exceeded on {where}: {o.error}."
        if o.verdict == "MLE":
            return f"Memory limit exceeded on {where}: {o.error}"
        if o.kind == "hidden":
            return _hidden_error(where, o.error)
        return o.error or f"Runtime error on {where}."


_FRAME = re.compile(r'^  File "<solution>", line (\d+), in ', re.M)
_BUILTIN_EXCEPTIONS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
}


def _hidden_error(where: str, error: str | None) -> str:
    """A runtime error on a hidden test, without its message: the message is the submission's to choose, so
    ``raise ValueError(args)`` would hand the hidden input to the browser. Only a built-in exception's type and
    the line in the solution stay (a made-up exception class could carry the input in its name, and a message
    can imitate traceback lines, so only the frames above the exception line count)."""
    text = error or ""
    exc_type, line_no = "an exception", None
    if text.startswith("Traceback"):
        for line in text.split("\n")[1:]:
            if line.startswith(" "):
                frame = _FRAME.match(line)
                if frame:
                    line_no = frame.group(1)
                continue
            name = re.match(r"^([A-Za-z_]\w*)(:|$)", line)
            if name and name.group(1) in _BUILTIN_EXCEPTIONS:
                exc_type = name.group(1)
            break
    where_in_code = f" at line {line_no}" if line_no else ""
    return f"Runtime error on {where}: {exc_type}{where_in_code} (hidden tests do not show the error's message)."
