"""A submission cannot carry hidden test inputs out through its error messages."""

from __future__ import annotations

from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server.judge import Judge

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())

LEAKY = {
    "message": "def add(a, b):\n    raise ValueError(f'LEAK<{a},{b}>')\n",
    "class name": "def add(a, b):\n    raise type(f'LEAK_{abs(a)}', (Exception,), {})()\n",
    "multi-line": "def add(a, b):\n    raise ValueError(f'x\\nLEAK {a}\\n  File \"<solution>\", line {a}, in f')\n",
}


async def test_hidden_runtime_errors_keep_their_message_to_themselves():
    challenge = LIBRARY.get("add-two")
    hidden_values = {repr(v) for t in challenge.hidden for v in t.args} - {repr(v) for t in challenge.samples for v in t.args}
    for name, code in LEAKY.items():
        report = await Judge().judge(challenge, code)
        assert report.verdict == "RE"
        first_hidden = next(o for o in report.outcomes if o.kind == "hidden")
        # What the service shows the author for a failing hidden test: the report's message when the first
        # failure is hidden, built the same way for any hidden failure.
        message = Judge._message(first_hidden)
        assert "LEAK" not in message, (name, message)
        assert not any(v in message for v in hidden_values if len(v) > 2), (name, message)
        assert "line 2" in message
    # Samples still show the full traceback to their author.
    report = await Judge().judge(challenge, LEAKY["message"])
    assert "LEAK<" in report.message and report.outcomes[0].kind == "sample"


async def test_import_policy_refuses_kindly_before_anything_runs():
    challenge = LIBRARY.get("add-two")
    report = await Judge().judge(challenge, "import subprocess\ndef add(a, b):\n    return a + b\n")
    assert report.verdict == "REFUSED" and report.passed == 0
    assert "importing 'subprocess' is not allowed" in report.message
    assert all(o.verdict == "REFUSED" for o in report.outcomes)
    # The policy is a teaching aid: it can be switched off, and then only the sandbox stands in the way.
    report = await Judge(enforce_import_policy=False).judge(challenge, "import math\ndef add(a, b):\n    return a + b\n")
    assert report.verdict == "AC"
