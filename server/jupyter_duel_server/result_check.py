"""Judging a returned value on the trusted side, within a small fixed budget whatever the submission returned.

A result arrives as JSON text (the sandbox's encoding, ``codec``). Decoding it builds Python containers, and a
hostile submission chooses their contents: a ``frozenset`` of 40,000 integers that all hash alike costs seconds of
CPU to rebuild, huge or deeply nested values cost milliseconds per kilobyte to parse. On the service's event loop
that would stall every player. So:

- a result larger than the runner's ``result_limit_bytes`` never gets here (the runner refuses it: RE);
- a result of at most :attr:`ResultChecker.inline_bytes` holding no set, frozenset or dict with non-string keys
  is decoded and compared on the loop: lists, tuples and JSON objects cost time linear in their size (a few
  microseconds per kilobyte), and no hash table is built from values whose hashes the submission chooses;
- anything else is decoded and compared in a worker process (``python -m jupyter_duel_server.result_check``),
  which is killed and replaced when it exceeds :attr:`ResultChecker.budget_s`: the result is then RE with a
  clear message, and the loop never waited on it.

The worker is trusted (it sees expected values): it is the service's own child and never runs submitted code.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

from .codec import EncodingError, decode, encode

__all__ = ["Checked", "OverBudget", "ResultChecker", "ResultRejected", "safe_repr"]

MAX_REPR_CHARS = 1000
#: Longest header line the worker and its parent exchange (the payloads travel apart, as raw bytes).
HEADER_LIMIT = 1 << 16
START_TIMEOUT_S = 30.0
#: Encoded sets, frozensets and dicts with non-string keys: the containers whose hashes a submission chooses
#: (ints, floats and tuples hash alike in every process; strings are salted per process, so plain JSON objects
#: are safe). Decoding them builds hash tables from sandbox data: never on the event loop.
HASHED_TAGS = re.compile(r'"\$(?:set|frozenset|dict)"')


class ResultRejected(Exception):
    """The result cannot be judged (malformed, or over the budget): a runtime error of the submission."""


class OverBudget(ResultRejected):
    """Judging the result took longer than the budget: the judge stops the run there (each such result costs
    a whole budget of the shared worker)."""


@dataclass(frozen=True)
class Checked:
    passed: bool
    got: str


def safe_repr(value: Any, limit: int = MAX_REPR_CHARS) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return "<too deeply nested to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_value(value_json: str | bytes) -> str:
    """The repr of the value ``value_json`` encodes (where the caller chose to spend the CPU)."""
    try:
        return safe_repr(decode(json.loads(value_json)))
    except (ValueError, RecursionError) as e:
        raise ResultRejected(f"malformed result: {str(e)[:200]}") from None


def check_value(comparator, expected: Any, args: tuple | None, value_json: str | bytes) -> Checked:
    """Decode ``value_json`` and compare it (where the caller chose to spend the CPU)."""
    try:
        value = decode(json.loads(value_json))
    except (ValueError, RecursionError) as e:  # EncodingError is a ValueError; so is int()'s digit limit
        raise ResultRejected(f"malformed result: {str(e)[:200]}") from None
    passed, _note = comparator.check(expected, value, args=args)
    return Checked(passed, safe_repr(value))


class ResultChecker(LoggingConfigurable):
    """Decides AC/WA for one returned value, on the loop when it is small, else in a worker under a deadline."""

    inline_bytes = Int(4096, help="Results up to this many bytes (encoded JSON) are decoded and compared on "
                                       "the service's event loop; larger ones in a worker process.").tag(config=True)
    budget_s = Float(1.0, help="Most wall-clock time the worker may spend decoding and comparing one result; past "
                               "it the worker is replaced and the test is a runtime error.").tag(config=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._worker: _Worker | None = None
        self._lock = asyncio.Lock()
        self._expected: collections.OrderedDict[tuple, tuple[Any, bytes, bytes]] = collections.OrderedDict()

    async def check(self, challenge, index: int, expected: Any, args: tuple | None, value_json: str) -> Checked:
        """AC/WA for ``value_json`` on test ``index`` of ``challenge``; ResultRejected when it cannot be judged."""
        comparator = challenge.comparator
        inline = len(value_json) <= self.inline_bytes and not HASHED_TAGS.search(value_json)
        if inline or (comparator.kind == "custom" and not challenge.checker_source):
            # (A custom checker given as a function, not a file, cannot go to the worker: in-memory challenges.)
            return check_value(comparator, expected, args, value_json)
        expected_json, args_json = await self._encoded(challenge, index, expected, args)
        config = {"kind": comparator.kind}
        if comparator.kind == "float":
            config["tolerance"] = comparator.tolerance
        elif comparator.kind == "unordered":
            config["depth"] = comparator.depth
        header = {"comparator": config,
                  "checker": challenge.checker_source if comparator.kind == "custom" else None,
                  "sizes": [len(expected_json), len(args_json), len(value_json)]}
        reply = await self._ask(header, [expected_json, args_json, value_json.encode("ascii", "replace")])
        return Checked(bool(reply.get("passed")), str(reply.get("got", ""))[:MAX_REPR_CHARS])

    async def show(self, value_json: str) -> str:
        """The repr of the value ``value_json`` encodes (a custom run's result: nothing to compare), decoded
        where ``check`` would decode it, within the same budget; ResultRejected when it cannot be shown."""
        if len(value_json) <= self.inline_bytes and not HASHED_TAGS.search(value_json):
            return show_value(value_json)
        reply = await self._ask({"show": True, "sizes": [0, 0, len(value_json)]},
                                [value_json.encode("ascii", "replace")])
        return str(reply.get("got", ""))[:MAX_REPR_CHARS]

    async def _ask(self, header: dict, blobs: list[bytes]) -> dict:
        """One request to the worker, within the budget; its reply, or ResultRejected/OverBudget."""
        async with self._lock:  # one result at a time per worker: each gets the whole budget
            try:
                if self._worker is None or not self._worker.alive():
                    self._worker = await _Worker.start()
            except OSError as e:  # the judge's own failure, not the submission's: no verdict
                raise RuntimeError(f"the result checker could not start: {e}") from None
            try:
                reply = await asyncio.wait_for(self._worker.ask(header, blobs), self.budget_s)
            except (asyncio.TimeoutError, OSError, ValueError, EOFError) as e:
                await self._worker.kill()
                self._worker = None
                if isinstance(e, asyncio.TimeoutError):
                    raise OverBudget(f"the returned value took more than {self.budget_s:g} s to judge "
                                         "(the judge's budget for one result)") from None
                self.log.error("jupyter-duel: the result checker failed: %s", e)
                raise ResultRejected("the returned value could not be judged") from None
        if "error" in reply:
            raise ResultRejected(str(reply["error"])[:300])
        return reply

    async def _encoded(self, challenge, index: int, expected: Any, args: tuple | None) -> tuple[bytes, bytes]:
        """The test's expected value and arguments as encoded JSON, computed once (off the loop: they can be
        large) and cached while the challenge is in use."""
        key = (id(challenge), index)
        hit = self._expected.get(key)
        if hit is not None and hit[0] is challenge:
            self._expected.move_to_end(key)
            return hit[1], hit[2]

        def encode_both() -> tuple[bytes, bytes]:
            return (json.dumps(encode(expected), allow_nan=False).encode(),
                    json.dumps(encode(args) if args is not None else None, allow_nan=False).encode())

        expected_json, args_json = await asyncio.to_thread(encode_both)
        self._expected[key] = (challenge, expected_json, args_json)
        while len(self._expected) > 256:
            self._expected.popitem(last=False)
        return expected_json, args_json

    async def close(self) -> None:
        if self._worker is not None:
            await self._worker.kill()
            self._worker = None


class _Worker:
    """``python -m jupyter_duel_server.result_check``: a header line then raw payloads in, one JSON line out."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc

    @classmethod
    async def start(cls) -> "_Worker":
        import jupyter_duel_server

        package_root = os.path.dirname(os.path.dirname(os.path.abspath(jupyter_duel_server.__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jupyter_duel_server.result_check",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, cwd="/", limit=HEADER_LIMIT)
        worker = cls(proc)
        # Its start-up (imports) is not charged to the first result's budget.
        try:
            ready = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        except asyncio.TimeoutError:
            ready = b""
        if ready.strip() != b'{"ready": true}':
            await worker.kill()
            raise OSError("the result checker did not start")
        return worker

    def alive(self) -> bool:
        return self.proc.returncode is None

    async def ask(self, header: dict, blobs: list[bytes]) -> dict:
        self.proc.stdin.write(json.dumps(header).encode() + b"\n" + b"".join(blobs))
        await self.proc.stdin.drain()
        line = await self.proc.stdout.readline()
        if not line:
            raise EOFError("the result checker exited")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ValueError("malformed reply")
        return reply

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()


def _serve() -> None:  # pragma: no cover - exercised through ResultChecker's tests
    """The worker's loop: read a request, decode and compare, answer; exit at end of input."""
    import types

    from .challenges import Comparator

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    checkers: dict[str, Any] = {}
    stdout.write(b'{"ready": true}\n')
    stdout.flush()
    while True:
        line = stdin.readline(HEADER_LIMIT)
        if not line:
            return
        header = json.loads(line)
        expected_json, args_json, value_json = (stdin.read(n) for n in header["sizes"])
        try:
            if header.get("show"):
                stdout.write(json.dumps({"got": show_value(value_json)}).encode() + b"\n")
                stdout.flush()
                continue
            checker = None
            source = header.get("checker")
            if source is not None:
                checker = checkers.get(source)
                if checker is None:
                    module = types.ModuleType("jupyter_duel_checker")
                    exec(compile(source, "checker.py", "exec", dont_inherit=True), module.__dict__)
                    checker = checkers[source] = module.check
            comparator = Comparator.from_config(header["comparator"], checker=checker)
            args = decode(json.loads(args_json))
            checked = check_value(comparator, decode(json.loads(expected_json)), args, value_json)
            reply = {"passed": checked.passed, "got": checked.got}
        except ResultRejected as e:
            reply = {"error": str(e)}
        except (EncodingError, ValueError, RecursionError, MemoryError) as e:
            reply = {"error": f"the returned value could not be judged: {type(e).__name__}"}
        stdout.write(json.dumps(reply).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    _serve()
