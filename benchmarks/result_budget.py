"""Event-loop lag while the judge handles hostile results, against ordinary ones (target: p99 lag < 20 ms).

The judge runs on this process's event loop with the real sandbox (``KernelSandboxRunner``), as it does inside
the service; a monitor task sleeps 1 ms at a time and records how late it wakes up. Phases, each a series of
submissions judged one after the other:

- ``small``: a correct solution on 10 tests with small values (the common case);
- ``large``: a correct solution returning ~200 KB per test (decoded and compared in the worker process);
- one phase per hostile kind of ``tests/hostile_results.py`` (hash floods, deep nesting, huge ints and strings,
  oversized and self-referential results), each submission returning the crafted value on every test.

    .venv/bin/python benchmarks/result_budget.py [--rounds 3]

Prints, per phase: submissions, verdicts seen, lag p50 / p99 / max (ms), and the mean time per submission.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_results import VERDICTS, hostile_code  # noqa: E402

from jupyter_duel_server.challenges import Challenge, Comparator, Limits, TestCase  # noqa: E402
from jupyter_duel_server.judge import Judge  # noqa: E402


def challenge(hidden: list[TestCase]) -> Challenge:
    return Challenge(id="bench", title="T", difficulty="easy", tags=[], statement="s", function="f",
                     signature="def f(n):", starter_code="", samples=hidden[:1], hidden=hidden[1:],
                     comparator=Comparator("exact"), limits=Limits(5.0), reference="", path=Path("."))


SMALL = (challenge([TestCase((i,), 3 * i) for i in range(10)]), "def f(n):\n    return 3 * n\n")
LARGE = (challenge([TestCase((i,), list(range(i, i + 30000))) for i in range(4)]),
         "def f(n):\n    return list(range(n, n + 30000))\n")
HOSTILE = challenge([TestCase((i,), "x") for i in range(4)])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def phase(judge: Judge, name: str, c: Challenge, code: str, rounds: int) -> None:
    lags: list[float] = []
    stop = asyncio.Event()

    async def monitor() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.001)
            lags.append((loop.time() - before - 0.001) * 1000)

    watcher = asyncio.ensure_future(monitor())
    verdicts: set[str] = set()
    started = time.perf_counter()
    for _ in range(rounds):
        report = await judge.judge(c, code)
        verdicts.add(report.outcomes[0].verdict)
    elapsed = (time.perf_counter() - started) / rounds
    stop.set()
    await watcher
    print(f"{name:18} {rounds:5d} {','.join(sorted(verdicts)):>9} {statistics.median(lags):8.2f} "
          f"{pct(lags, 0.99):8.2f} {max(lags):8.2f} {elapsed * 1000:10.0f}", flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3, help="submissions per hostile phase (x5 for small)")
    args = ap.parse_args()
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    judge = Judge(runner=KernelSandboxRunner())
    await judge.runner.start()
    await judge.judge(*SMALL)  # warm-up: pool, worker start-up
    await judge.judge(*LARGE)
    print(f"{'phase':18} {'subs':>5} {'verdicts':>9} {'lag p50':>8} {'p99':>8} {'max':>8} {'ms/sub':>10}")
    try:
        await phase(judge, "small", *SMALL, args.rounds * 5)
        await phase(judge, "large (worker)", *LARGE, args.rounds)
        for kind in VERDICTS:
            await phase(judge, kind, HOSTILE, hostile_code("f", [kind]), args.rounds)
    finally:
        await judge.close()


if __name__ == "__main__":
    asyncio.run(main())
