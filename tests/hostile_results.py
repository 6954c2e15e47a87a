"""Submissions that hand the judge results built to cost the trusted side as much as possible.

A real attacker does not build a 40,000-element set of colliding integers in the sandbox (that would cost it the
same seconds): it replaces the harness's ``run_test`` and writes the encoded JSON text directly. The code below
does exactly that, in both harnesses (``jupyter_duel_server.harness`` in the kernel, the plain child process's
``__main__``), reaching ``sys`` past the import policy (a teaching layer only). Test number ``i`` of a run
returns ``KINDS[plan[i]]``.
"""

from __future__ import annotations

P = 2**61 - 1  # integers k * P all hash to 0

# name -> Python expression building the crafted JSON text inside the sandbox (cheap string operations only).
KINDS = {
    "hash_flood": "'{\"$frozenset\":[' + ','.join(str(P * k) for k in range(1, 40001)) + ']}'",
    "dict_key_flood": "'{\"$dict\":[' + ','.join('[%d,0]' % (P * k) for k in range(1, 30001)) + ']}'",
    "small_hash_flood": "'{\"$set\":[' + ','.join(str(P * k) for k in range(1, 200)) + ']}'",
    "deep_nesting": "'[' * 200000 + ']' * 200000",
    "huge_int": "'9' * 1000000",
    "huge_string": "'\"' + 'a' * 1000000 + '\"'",
    "oversized": "'\"' + 'a' * 3000000 + '\"'",
}
#: What each kind may come out as: never AC, and RE wherever the value cannot be judged. A flood of colliding
#: dict keys sits near the judge's budget (about a second in the worker): judged in time it is merely wrong.
VERDICTS = {"hash_flood": {"RE"}, "dict_key_flood": {"RE", "WA"}, "small_hash_flood": {"WA"},
            "deep_nesting": {"RE"}, "huge_int": {"RE"}, "huge_string": {"WA"}, "oversized": {"RE"},
            "self_referential": {"RE"}}


def hostile_code(function: str, plan: list[str]) -> str:
    """A submission defining ``function`` whose i-th test returns the crafted value ``plan[i]`` (the last kind
    repeats). ``self_referential`` is a real list containing itself, returned through the normal path."""
    cases = ",\n".join(f"    {KINDS[k]}" if k in KINDS else "    None" for k in plan)
    return f"""
P = {P}
CRAFTED = [
{cases},
]
_sys = __import__("sys")
_calls = [0]


def {function}(*args):
    loop = []
    loop.append(loop)
    return loop


def _crafted(codec, fn, index, encoded_args, sink, result_limit, memory_message=None):
    n = _calls[0]
    _calls[0] += 1
    text = CRAFTED[min(n, len(CRAFTED) - 1)]
    if text is None:
        return _real_run_test(codec, fn, index, encoded_args, sink, result_limit, memory_message)
    return {{"i": index, "status": "ok", "error": None, "time_ms": 1.0, "value_bytes": len(text)}}, text


_real_run_test = None
for _name in ("jupyter_duel_server.harness", "__main__"):
    _module = _sys.modules.get(_name)
    if _module is not None and hasattr(_module, "run_test"):
        _real_run_test = _real_run_test or _module.run_test
        _module.run_test = _crafted
"""


async def check_hostile_results(judge) -> dict[str, float]:
    """Judge every kind (each its own submission) and check its verdict; returns the worst event-loop lag seen
    per kind in ms (the judge runs on this loop, as in the service): for the record, not asserted here."""
    import asyncio
    from pathlib import Path

    from jupyter_duel_server.challenges import Challenge, Comparator, Limits, TestCase

    challenge = Challenge(
        id="hostile-results", title="T", difficulty="easy", tags=[], statement="s", function="f",
        signature="def f(x):", starter_code="", samples=[TestCase((0,), "x")],
        hidden=[TestCase((i,), "x") for i in range(1, 4)], comparator=Comparator("exact"), limits=Limits(5.0),
        reference="", path=Path("."),
    )
    lags: dict[str, float] = {}
    for kind in VERDICTS:
        worst = 0.0
        stop = asyncio.Event()

        async def monitor() -> None:
            nonlocal worst
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                before = loop.time()
                await asyncio.sleep(0.002)
                worst = max(worst, loop.time() - before - 0.002)

        watcher = asyncio.ensure_future(monitor())
        try:
            report = await judge.judge(challenge, hostile_code("f", [kind]))
        finally:
            stop.set()
            await watcher
        lags[kind] = worst * 1000
        verdicts = [o.verdict for o in report.outcomes]
        assert "AC" not in verdicts, (kind, verdicts)
        assert verdicts[0] in VERDICTS[kind], (kind, report.outcomes[0])
        if verdicts[0] == "RE":
            assert report.outcomes[0].error and "Traceback" not in report.outcomes[0].error, (kind, report.outcomes[0])
    return lags
