"""What a submission can learn of hidden tests, checked through any runner (a plain child process, the sandbox).

Each check takes a ``Judge`` (import policy off: these submissions import ``sys`` and ``gc`` on purpose) and
raises AssertionError with what leaked. ``tests/judge/test_hidden_leaks.py`` runs them through the subprocess
runner, ``tests/sandbox/test_hidden_channels.py`` through locked-down kernels.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from jupyter_duel_server.challenges import Challenge, Comparator, Limits, TestCase
from jupyter_duel_server.judge import Judge, MAX_SAMPLE_ERROR_CHARS


def challenge(function: str, samples: list[TestCase], hidden: list[TestCase], time_s: float = 2.0) -> Challenge:
    return Challenge(
        id="hidden-channels", title="T", difficulty="easy", tags=[], statement="s", function=function,
        signature=f"def {function}(x):", starter_code="", samples=samples, hidden=hidden,
        comparator=Comparator("exact"), limits=Limits(time_s), reference="", path=Path("."),
    )


# Submissions that try to carry a hidden input out through the text of a failure. ``SECRET`` is the only
# sample input: every other call is a hidden test.
LEAKY = {
    "message": "def f(x):\n    if x == 'SAMPLE': return 1\n    raise ValueError(f'LEAK<{x}>')\n",
    "class name": "def f(x):\n    if x == 'SAMPLE': return 1\n    raise type(f'LEAK_{x}', (Exception,), {})()\n",
    "fake traceback lines": (
        "def f(x):\n    if x == 'SAMPLE': return 1\n"
        "    raise ValueError(f'x\\nLEAK {x}\\n  File \"<solution>\", line {len(x)}, in f')\n"),
    # A line number is the submission's to choose: a function whose code object claims to start at line N.
    "forged line number": (
        "def f(x):\n    if x == 'SAMPLE': return 1\n"
        "    def boom():\n        raise ValueError('no')\n"
        "    boom.__code__ = boom.__code__.replace(co_firstlineno=int(x.split('-')[1]) + 7000)\n"
        "    boom()\n"),
    # The error formatter is inside the submission's own process: replace it.
    "replaced formatter": (
        "import sys\n"
        "def _fmt(e):\n    return f'Traceback (most recent call last):\\n  File \"<solution>\", line {e.args[0]}, in f\\nValueError: LEAK'\n"
        "for _name in ('__main__', 'jupyter_duel_server.harness'):\n"
        "    _m = sys.modules.get(_name)\n"
        "    if _m is not None and hasattr(_m, 'format_error'):\n        _m.format_error = _fmt\n"
        "def f(x):\n    if x == 'SAMPLE': return 1\n    raise ValueError(int(x.split('-')[1]) + 7000)\n"),
    # What it returned is not shown for a hidden test either.
    "returned value": "def f(x):\n    if x == 'SAMPLE': return 1\n    return f'LEAK {x}'\n",
}


async def check_hidden_failures_show_verdict_number_and_time_only(judge: Judge) -> None:
    token = secrets.token_hex(4)
    hidden_inputs = [f"H-{i}-{token}" for i in range(3)]
    c = challenge("f", [TestCase(("SAMPLE",), 1)], [TestCase((x,), 1) for x in hidden_inputs])
    for name, code in LEAKY.items():
        report = await judge.judge(c, code)
        assert report.outcomes[0].verdict == "AC", (name, report.outcomes[0])
        for o in report.outcomes[1:]:
            assert o.kind == "hidden" and not o.passed, (name, o)
            assert (o.error, o.got, o.expected) == (None, None, ""), (name, o)
            assert o.call == "", (name, o)
            text = Judge._message(o)
            assert "LEAK" not in text and token not in text, (name, text)
        verdict = report.outcomes[1].verdict
        what = {"RE": "Runtime error", "WA": "Wrong answer"}[verdict]
        assert report.message == f"{what} on hidden test 2 (hidden tests show only their verdict).", (name, report)


# Scans everything reachable in its own process for the inputs' markers: module-level code must find none, a
# test must find none of a later test's.
SCANNER = r'''
import gc, re, sys
PATTERN = re.compile(r"IN-(\d+)-TOKEN")

def _texts():
    for o in gc.get_objects():
        try:
            if isinstance(o, dict):
                items = list(o.keys()) + list(o.values())
            elif isinstance(o, (list, tuple, set, frozenset)):
                items = list(o)
            else:
                items = [o]
        except Exception:
            continue
        for it in items:
            if isinstance(it, str):
                yield it
            elif isinstance(it, (bytes, bytearray, memoryview)):
                yield bytes(it).decode("latin-1")
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, str):
                yield value
        frame = frame.f_back

def _seen():
    return {int(m) for text in _texts() for m in PATTERN.findall(text)}

AT_MODULE_LEVEL = _seen()

def f(x):
    me = int(x.split("-")[1])
    later = {i for i in _seen() if i > me}
    return bool(AT_MODULE_LEVEL or later)
'''


async def check_inputs_arrive_one_test_at_a_time(judge: Judge) -> None:
    token = secrets.token_hex(6)
    inputs = [f"IN-{i}-{token}" for i in range(6)]
    c = challenge("f", [TestCase((inputs[0],), False), TestCase((inputs[1],), False)],
                  [TestCase((x,), False) for x in inputs[2:]], time_s=5.0)
    report = await judge.judge(c, SCANNER.replace("TOKEN", token), hidden_details=True)
    # True (WA) where module-level code saw an input, or a test saw a later test's input.
    assert [o.verdict for o in report.outcomes] == ["AC"] * len(inputs), [(o.verdict, o.got) for o in report.outcomes]
    assert report.verdict == "AC"


async def check_sample_messages_are_capped(judge: Judge) -> None:
    c = challenge("f", [TestCase(("a",), 1)], [TestCase(("b",), 1)])
    report = await judge.judge(c, "def f(x):\n    raise ValueError('y' * 100000)\n")
    sample = report.outcomes[0]
    assert sample.verdict == "RE" and "ValueError" in sample.error
    assert len(sample.error) <= MAX_SAMPLE_ERROR_CHARS and len(report.message) <= MAX_SAMPLE_ERROR_CHARS
    report = await judge.judge(c, "def f(x):\n    return 'z' * 100000\n")
    assert report.outcomes[0].verdict == "WA" and len(report.outcomes[0].got) <= 1000

