"""Judging: run a submission on a challenge's tests and turn raw results into verdicts.

Why two layers: a :class:`Runner` is the sandbox boundary. Code and encoded inputs go in (one test's input at a
time), typed raw results come out; expected results never leave this process, and :class:`Judge` compares on the
trusted side (``result_check``: within a fixed budget, whatever was returned). The locked-down kernel sandbox
(``sandbox.runner.KernelSandboxRunner``) is the runner a service uses (``remote.GatewayPoolRunner`` runs the same
sandbox on other hosts, through Kernel Gateway); :class:`SubprocessRunner` is a plain child process with a
wall-clock timeout and no isolation, for tests and unsafe local practice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Literal, Sequence

from traitlets import Bool, Dict, Float, Instance, Int, Unicode, default
from traitlets.config import Configurable

from .challenges import Challenge, _Expected
from .codec import encode
from .harness import shorten
from .result_check import OverBudget, ResultChecker, ResultRejected, safe_repr as _safe_repr

__all__ = ["CustomRunReport", "JudgeReport", "Judge", "RawResult", "Runner", "SubprocessRunner", "TestOutcome",
           "HARNESS", "clean_output"]

HARNESS = Path(__file__).with_name("harness.py")
RawStatus = Literal["ok", "error", "timeout", "crash", "output_limit", "memory_limit"]
STATUSES = ("ok", "error", "timeout", "crash", "output_limit", "memory_limit")
#: Statuses the harness itself reports per test (the others are decided on the trusted side).
HARNESS_STATUSES = ("ok", "error", "output_limit", "memory_limit")
VERDICT_OF_STATUS = {"error": "RE", "timeout": "TLE", "output_limit": "OLE", "memory_limit": "MLE", "crash": "RE"}
VERDICT_NAMES = {"WA": "Wrong answer", "RE": "Runtime error", "TLE": "Time limit exceeded",
                 "OLE": "Output limit exceeded", "MLE": "Memory limit exceeded"}
MAX_REPR_CHARS = 1000
#: Longest message header a harness may send (values travel apart, capped by ``result_limit_bytes``).
HEADER_LIMIT = 1 << 16
#: Longest error text shown for a sample test (hidden tests show none).
MAX_SAMPLE_ERROR_CHARS = 2000
#: Most printed characters a runner may be asked to keep per test (``DuelService.run_output_chars`` is capped here).
MAX_OUTPUT_CHARS = 20_000
#: Longest output line a harness may send: MAX_OUTPUT_CHARS as an ASCII JSON string (a character outside the
#: BMP escapes to 12 bytes), quotes included.
OUTPUT_LINE_LIMIT = 12 * MAX_OUTPUT_CHARS + 2
#: Appended to printed output that was longer than the cap.
OUTPUT_CUT_MARKER = "\n\u2026 output cut"
#: Characters printed output never shows as they are: C0 controls other than tab and newline, DEL, C1 controls
#: (terminal escapes, a carriage return rewriting the line), bidirectional overrides and isolates (text that
#: reads otherwise than it is), lone surrogates (not Unicode).
_UNSAFE_OUTPUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _visible(match: re.Match) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: \x1b shows as U+241B
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def clean_output(text: str, limit: int, cut: bool = False) -> str:
    """Printed ``text`` as players may see it: at most ``limit`` characters, CRLF and CR as newlines, unsafe
    characters replaced by visible ones, and OUTPUT_CUT_MARKER at the end when anything was cut (``cut``: the
    harness kept only a part)."""
    if len(text) > limit:
        text, cut = text[:limit], True
    text = _UNSAFE_OUTPUT.sub(_visible, text.replace("\r\n", "\n").replace("\r", "\n"))
    return text + OUTPUT_CUT_MARKER if cut else text


@dataclass(frozen=True)
class RawResult:
    """What a runner reports for one input: ``value_json`` is the encoded result as JSON text (status ``ok``
    only), left unparsed: the judge decides where parsing it may spend CPU (``result_check``)."""

    index: int
    status: RawStatus
    value_json: str | None = None
    error: str | None = None
    time_ms: float = 0.0
    #: What the test printed (raw, untrusted: ``clean_output`` before anyone sees it), when it was asked for.
    output: str | None = None
    output_cut: bool = False
    #: Never ran: an earlier test ended the run (its verdict is carried over, with no time).
    skipped: bool = False

    @property
    def value(self) -> Any:
        """The encoded result, parsed (for tools and tests; the judge itself goes through ``result_check``)."""
        return None if self.value_json is None else json.loads(self.value_json)


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
    #: What a sample test printed (``clean_output``), when the run asked for it; hidden tests: always None.
    output: str | None = None
    #: Never ran: an earlier test ended the run.
    skipped: bool = False


@dataclass
class CustomRunReport:
    """A run on the player's own arguments: nothing compared. ``verdict`` is OK when the call returned;
    ``value`` is the returned value's repr, ``output`` what the call printed (``clean_output``)."""

    verdict: str
    value: str | None
    output: str | None
    error: str | None
    time_ms: float


@dataclass
class JudgeReport:
    """The whole run: ``verdict`` is AC when every test passed, else the first failing test's verdict."""

    verdict: str
    passed: int
    total: int
    message: str | None
    outcomes: list[TestOutcome]


async def read_message(reader: asyncio.StreamReader, result_limit: int) -> tuple[str, Any, str | None]:
    """One harness message (``harness.serve``): ``("message", header, value text | None)``, ``("eof", None,
    None)`` or ``("bad", why, None)``. Parses at most a HEADER_LIMIT-byte header (the reader's ``limit``); the
    value, at most ``result_limit`` bytes, is read as raw text and never parsed here. A printed-output line (at
    most OUTPUT_LINE_LIMIT bytes: one flat JSON string, linear to parse) ends up in the header as ``output``;
    a header's own ``output`` key is dropped."""
    try:
        raw = await reader.readline()
    except (ValueError, asyncio.LimitOverrunError):
        return "bad", f"a result header was longer than {HEADER_LIMIT} bytes", None
    if not raw or not raw.endswith(b"\n"):
        return "eof", None, None
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return "bad", "a result header was not valid JSON", None
    if not isinstance(msg, dict):
        return "bad", "a result header was not a JSON object", None
    msg.pop("output", None)
    size = msg.get("value_bytes")
    value_text = None
    if size is not None:
        if type(size) is not int or not 0 < size <= result_limit:
            return "bad", f"the returned value is larger than {result_limit} bytes", None
        try:
            value = await reader.readexactly(size + 1)
        except asyncio.IncompleteReadError:
            return "eof", None, None
        if not value.endswith(b"\n") or not value.isascii():
            return "bad", "a result value was malformed", None
        value_text = value[:-1].decode("ascii")
    size = msg.get("output_bytes")
    if size is not None:
        if type(size) is not int or not 2 <= size <= OUTPUT_LINE_LIMIT:
            return "bad", "the printed output was malformed", None
        try:
            line = await reader.readexactly(size + 1)
        except asyncio.IncompleteReadError:
            return "eof", None, None
        try:
            output = json.loads(line) if line.endswith(b"\n") and line.isascii() else None
        except ValueError:
            output = None
        if not isinstance(output, str):
            return "bad", "the printed output was malformed", None
        msg["output"] = output
    return "message", msg, value_text


def parse_result(index: int, msg: Any, value: str | None, wall_ms: float) -> RawResult | None:
    """Test ``index``'s RawResult from a harness message, or None when the message is not a valid one."""
    if not isinstance(msg, dict):
        return None
    status = msg.get("status")
    if msg.get("i") != index or type(msg.get("i")) is not int or status not in HARNESS_STATUSES:
        return None
    error = msg.get("error")
    if error is not None and not isinstance(error, str):
        return None
    t = msg.get("time_ms")
    if type(t) not in (int, float) or not (0 <= t <= wall_ms + 1000):
        t = wall_ms
    if status == "ok" and (error is not None or value is None):
        return None
    if status != "ok" and value is not None:
        return None
    output = msg.get("output")
    return RawResult(index, status, value, error[:8000] if isinstance(error, str) else None, float(t),
                     output, msg.get("output_cut") is True)


class Runner:
    """The sandbox plug point (abstract; not an ABC because traitlets' metaclass would conflict).

    ``run`` is an async generator yielding exactly one :class:`RawResult` per input, in order. It must never
    raise for anything the submitted code does (that is a status), only for infrastructure failures, and must
    release everything it started when closed early.
    """

    def run(self, code: str, function: str, inputs: list[list], time_limit_s: float,
            output_chars: Sequence[int] | None = None) -> AsyncIterator[RawResult]:
        """``output_chars[i]``: how many printed characters test ``i`` keeps and reports (0: none; its
        RawResult's ``output`` is then None). Omitted: no test reports output."""
        raise NotImplementedError


def capture_chars(output_chars: Sequence[int] | None) -> int:
    """The harness set-up's ``capture_chars``: the most any test keeps, within MAX_OUTPUT_CHARS."""
    return min(max(output_chars or [0]), MAX_OUTPUT_CHARS)


def input_message(inputs: list[list], index: int, output_chars: Sequence[int] | None) -> dict:
    """Test ``index``'s input line; ``capture`` only for a test whose output is wanted."""
    message = {"i": index, "args": inputs[index]}
    if output_chars and output_chars[index] > 0:
        message["capture"] = True
    return message


class SubprocessRunner(Runner, Configurable):
    """Runs the harness in a fresh Python process per submission: a timeout and an output cap, no isolation."""

    python = Unicode(sys.executable, help="Python interpreter that runs submissions.").tag(config=True)
    output_limit_bytes = Int(1 << 20, help="Most bytes a test may print.").tag(config=True)
    result_limit_bytes = Int(
        1 << 20, help="Largest encoded result accepted per test (JSON bytes); a larger one is a runtime error."
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
        self, code: str, function: str, inputs: list[list], time_limit_s: float,
        output_chars: Sequence[int] | None = None,
    ) -> AsyncIterator[RawResult]:
        n = len(inputs)
        setup = {
            "code": code,
            "function": function,
            "output_limit": self.output_limit_bytes,
            "result_limit": self.result_limit_bytes,
            "memory_limit": self.memory_limit_mb * 1024 * 1024,
            "capture_chars": capture_chars(output_chars),
        }
        proc = await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            "-S",
            str(HARNESS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            limit=HEADER_LIMIT,
            cwd="/",
            env=dict(self.env),
        )
        # Messages are read as they arrive and stamped, so a test's deadline runs from the moment its input was
        # sent, however long the consumer takes between two results.
        messages: asyncio.Queue = asyncio.Queue()
        pump = asyncio.create_task(self._pump(proc, messages, n + 1))
        try:
            await self._send(proc, setup)
            # Startup and module-level code: no test is running yet.
            _, kind, msg, _ = await self._next(messages, time.monotonic() + self.startup_timeout_s + time_limit_s)
            if kind == "message" and msg.get("ready") is True and len(msg) == 1:
                pass
            elif kind == "message" and msg.get("setup") in HARNESS_STATUSES[1:] and isinstance(msg.get("error"), str):
                for index in range(n):
                    yield RawResult(index, msg["setup"], None, msg["error"], 0.0)
                return
            else:
                for index in range(n):
                    yield self._failure(index, kind, msg, time_limit_s, proc)
                return

            if n:
                await self._send(proc, input_message(inputs, 0, output_chars))
                sent = time.monotonic()
            for index in range(n):
                # One input at a time: the next one is sent only once this test has reported.
                arrived, kind, msg, value = await self._next(messages, sent + time_limit_s)
                wall_ms = (arrived - sent) * 1000.0
                result = parse_result(index, msg, value, wall_ms) if kind == "message" else None
                if result is None:
                    failure = self._failure(index, kind, msg, time_limit_s, proc)
                    yield failure
                    skipped = f"not run: test {index + 1} ended the process ({failure.error})"
                    for rest in range(index + 1, n):
                        yield RawResult(rest, failure.status, None, skipped, 0.0, skipped=True)
                    return
                if index + 1 < n:  # the next test starts now, while the judge looks at this result
                    await self._send(proc, input_message(inputs, index + 1, output_chars))
                    sent = time.monotonic()
                yield result
        finally:
            pump.cancel()
            await self._reap(proc)
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    @staticmethod
    async def _send(proc, message: dict) -> None:
        try:
            proc.stdin.write(json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8",
                                                                                           "surrogatepass") + b"\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died; reading reports it

    async def _pump(self, proc, messages: asyncio.Queue, most: int) -> None:
        """Read at most ``most`` messages (what the harness can legitimately send), stamping each on arrival."""
        for _ in range(most):
            kind, msg, value = await self._read(proc)
            messages.put_nowait((time.monotonic(), kind, msg, value))
            if kind != "message":
                return
        messages.put_nowait((time.monotonic(), "bad", "more results than tests", None))

    @staticmethod
    async def _next(messages: asyncio.Queue, deadline: float) -> tuple[float, str, Any, str | None]:
        """The next stamped message, or a timeout when none arrived by ``deadline`` (even if read later)."""
        if messages.empty():
            try:
                item = await asyncio.wait_for(messages.get(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return time.monotonic(), "timeout", None, None
        else:
            item = messages.get_nowait()
        if item[0] > deadline:
            return item[0], "timeout", None, None
        return item

    async def _read(self, proc) -> tuple[str, Any, str | None]:
        return await read_message(proc.stdout, self.result_limit_bytes)

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
        # What the child wrote and nobody read (a value refused unread) may have paused the pipe's reading, and
        # the process only counts as finished once its pipes are: read what is left (the writer is dead).
        with contextlib.suppress(Exception):
            while await asyncio.wait_for(proc.stdout.read(1 << 16), 5):
                pass
        await proc.wait()


def _short(text: str, limit: int = MAX_REPR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Judge(Configurable):
    """Judges a submission against a challenge: streaming per-test outcomes, then a report."""

    runner = Instance(Runner, help="Where submissions run (the sandbox).").tag(config=True)
    checker = Instance(ResultChecker, help="Decides AC/WA for each returned value within a fixed budget.")
    max_time_s = Float(10.0, help="Service-wide cap on a challenge's per-test time limit.").tag(config=True)
    enforce_import_policy = Bool(
        True, help="Refuse code importing the import policy's modules (REFUSED), before anything runs. A teaching "
        "aid with a friendly message, not a security boundary: the sandbox contains whatever gets past it."
    ).tag(config=True)

    @default("runner")
    def _default_runner(self) -> Runner:
        return SubprocessRunner(parent=self)

    @default("checker")
    def _default_checker(self) -> ResultChecker:
        return ResultChecker(parent=self)

    async def close(self) -> None:
        """Stop the result checker's worker and the runner (its sandboxes), if they hold anything."""
        await self.checker.close()
        close = getattr(self.runner, "close", None)
        if close is not None:
            await close()

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
        hidden_details: bool = False,
        output_chars: int = 0,
    ) -> JudgeReport:
        """Run the tests (samples, then hidden unless ``samples_only``) and return the report.

        ``on_test`` is awaited once per outcome, in order, as soon as it is known (also for CE, where nothing
        runs). Raises only when the runner itself fails, never because of what the code does.

        A hidden test's outcome carries its verdict, number and time only, unless ``hidden_details`` (for the
        people who hold the challenge files anyway: the validator, the judge command line).

        ``output_chars`` > 0: each *sample* test's outcome carries what it printed, cut at that many characters.
        Hidden tests are never asked for their output (the sandbox keeps none of it), and any output reported
        for one anyway is dropped: printed text could echo a hidden input.
        """
        tests = challenge.tests(samples_only)
        total = len(tests)
        time_limit = min(challenge.limits.time_s, self.max_time_s)
        outcomes: list[TestOutcome] = []

        async def emit(outcome: TestOutcome) -> None:
            outcomes.append(outcome)
            if on_test is not None:
                await on_test(outcome)

        output_chars = min(max(output_chars, 0), MAX_OUTPUT_CHARS)
        capture = [output_chars if kind == "sample" else 0 for kind, _ in tests]

        def outcome(i: int, verdict: str, *, time_ms=0.0, got=None, error=None, raw=None, skipped=False
                    ) -> TestOutcome:
            kind, test = tests[i]
            hide = kind == "hidden" and not hidden_details
            output = None
            if capture[i] and raw is not None and raw.output is not None:
                output = clean_output(raw.output, capture[i], raw.output_cut)
            if hide and verdict not in ("CE", "REFUSED"):
                # A hidden test answers with its verdict, number and time only: any text the submission chose
                # (a message, a traceback, a line number, a repr of what it returned, what it printed) could
                # carry the input.
                got = error = output = None
            elif isinstance(error, str):
                error = shorten(error, MAX_SAMPLE_ERROR_CHARS)
            return TestOutcome(
                index=i,
                kind=kind,
                total=total,
                passed=verdict == "AC",
                verdict=verdict,
                time_ms=time_ms,
                call="" if hide else _short(challenge.call_repr(test)),
                expected="" if hide else _safe_repr(test.expected),
                got=got,
                error=error,
                output=output,
                skipped=skipped or (raw is not None and raw.skipped),
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
        result_limit = getattr(self.runner, "result_limit_bytes", 1 << 20)
        if output_chars:
            results = self.runner.run(code, challenge.function, inputs, time_limit, output_chars=capture)
        else:  # (runners written before output existed take four arguments)
            results = self.runner.run(code, challenge.function, inputs, time_limit)
        async with contextlib.aclosing(results):
            async for raw in results:
                i = len(outcomes)
                if i >= total:
                    break
                if raw.status != "ok":
                    await emit(outcome(i, VERDICT_OF_STATUS.get(raw.status, "RE"), time_ms=raw.time_ms,
                                       error=raw.error, raw=raw))
                    continue
                test = tests[i][1]
                expected = test.expected.value if isinstance(test.expected, _Expected) else test.expected
                try:
                    if not isinstance(raw.value_json, str) or len(raw.value_json) > result_limit:
                        raise ResultRejected(f"the returned value is larger than {result_limit} bytes")
                    checked = await self.checker.check(challenge, i, expected, test.args, raw.value_json)
                except ResultRejected as e:
                    await emit(outcome(i, "RE", time_ms=raw.time_ms, error=str(e), raw=raw))
                    if isinstance(e, OverBudget):
                        for j in range(i + 1, total):
                            await emit(outcome(j, "RE", error=f"not run: test {i + 1} ended the run ({e})", skipped=True))
                        break
                    continue
                await emit(outcome(i, "AC" if checked.passed else "WA", time_ms=raw.time_ms, got=checked.got,
                                   raw=raw))
        while len(outcomes) < total:  # a runner that stopped early: never count a test as passed
            await emit(outcome(len(outcomes), "RE", error="no result was reported for this test", skipped=True))

        passed = sum(o.passed for o in outcomes)
        first = next((o for o in outcomes if not o.passed), None)
        if first is None:
            return JudgeReport("AC", passed, total, None, outcomes)
        return JudgeReport(first.verdict, passed, total, self._message(first, hidden_details), outcomes)

    async def run_custom(self, challenge: Challenge, code: str, args: tuple, output_chars: int) -> CustomRunReport:
        """Run ``code``'s function once on ``args`` (the player's own, already validated literals) in the same
        sandbox and limits as a test: the verdict, the returned value's repr, what it printed (at most
        ``output_chars`` characters) and the error. Nothing is compared: no expected value exists here.
        Raises only when the runner itself fails."""
        output_chars = min(max(output_chars, 0), MAX_OUTPUT_CHARS)
        try:
            compile(code, "<solution>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            message = "".join(traceback.format_exception_only(type(e), e)).rstrip("\n")
            return CustomRunReport("CE", None, None, shorten(message, MAX_SAMPLE_ERROR_CHARS), 0.0)
        refusal = self._import_refusal(code)
        if refusal is not None:
            return CustomRunReport("REFUSED", None, None, refusal, 0.0)
        time_limit = min(challenge.limits.time_s, self.max_time_s)
        raw = None
        results = self.runner.run(code, challenge.function, [[encode(a) for a in args]], time_limit,
                                  output_chars=[output_chars])
        async with contextlib.aclosing(results):
            async for raw in results:
                break
        if raw is None:
            return CustomRunReport("RE", None, None, "no result was reported for this run", 0.0)
        output = None if raw.output is None else clean_output(raw.output, output_chars, raw.output_cut)
        error = shorten(raw.error, MAX_SAMPLE_ERROR_CHARS) if isinstance(raw.error, str) else None
        if raw.status != "ok":
            return CustomRunReport(VERDICT_OF_STATUS.get(raw.status, "RE"), None, output, error, raw.time_ms)
        result_limit = getattr(self.runner, "result_limit_bytes", 1 << 20)
        try:
            if not isinstance(raw.value_json, str) or len(raw.value_json) > result_limit:
                raise ResultRejected(f"the returned value is larger than {result_limit} bytes")
            value = await self.checker.show(raw.value_json)
        except ResultRejected as e:
            return CustomRunReport("RE", None, output, str(e), raw.time_ms)
        return CustomRunReport("OK", value, output, None, raw.time_ms)

    @staticmethod
    def _message(o: TestOutcome, hidden_details: bool = False) -> str:
        where = f"{o.kind} test {o.index + 1}"
        if o.kind == "hidden" and o.verdict not in ("CE", "REFUSED") and not hidden_details:
            return f"{VERDICT_NAMES.get(o.verdict, 'Runtime error')} on {where} (hidden tests show only their verdict)."
        if o.verdict == "WA":
            return f"Wrong answer on {where}."
        if o.verdict == "TLE":
            return f"Time limit exceeded on {where}: {o.error}."
        if o.verdict == "OLE":
            return f"Output limit exceeded on {where}: {o.error}."
        if o.verdict == "MLE":
            return f"Memory limit exceeded on {where}: {o.error}"
        return o.error or f"Runtime error on {where}."


