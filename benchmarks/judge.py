"""Judge latency and throughput: the full kernel sandbox vs a plain unsandboxed subprocess (the floor).

Workload: a correct trivial solution with 10 tests, judged end to end (code and encoded inputs into the runner,
typed results out, compared on the trusted side). Prints, in one run, p50/p99 submit-to-verdict latency
(sequential submissions, with a pause that lets the pool refill, as between real submissions) and sustained
verdicts per second (``--concurrency`` submissions in flight for ``--seconds``).

    PYTHONPATH=$PWD:$PWD/server .venv/bin/python benchmarks/judge.py [--n 60] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from jupyter_duel_server.codec import decode, encode
from jupyter_duel_server.judge import SubprocessRunner

CODE = "def add(a, b):\n    return a + b\n"
TESTS = [((i, 2 * i), 3 * i) for i in range(10)]
INPUTS = [[encode(a) for a in args] for args, _ in TESTS]


async def judge_once(runner) -> float:
    start = time.perf_counter()
    results = [r async for r in runner.run(CODE, "add", INPUTS, 2.0)]
    ok = len(results) == len(TESTS) and all(
        r.status == "ok" and decode(r.value) == expected for r, (_, expected) in zip(results, TESTS))
    if not ok:
        raise SystemExit(f"wrong verdict from {type(runner).__name__}: {results[:2]}")
    return (time.perf_counter() - start) * 1000.0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def latency(runner, n: int, pause: float) -> list[float]:
    for _ in range(3):  # warm-up
        await judge_once(runner)
        await asyncio.sleep(pause)
    out = []
    for _ in range(n):
        out.append(await judge_once(runner))
        await asyncio.sleep(pause)
    return out


async def throughput(runner, seconds: float, concurrency: int) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker():
        nonlocal done
        while time.perf_counter() < stop:
            await judge_once(runner)
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - start)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--pool", type=int, default=6)
    ap.add_argument("--pause", type=float, default=0.25)
    args = ap.parse_args()

    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    floor = SubprocessRunner()
    sandbox = KernelSandboxRunner(pool_size=args.pool)
    await sandbox.start()
    rows = []
    for name, runner in (("floor (plain subprocess)", floor), ("kernel sandbox", sandbox)):
        lat = await latency(runner, args.n, args.pause)
        if runner is sandbox:
            while sandbox._background:
                await asyncio.gather(*list(sandbox._background), return_exceptions=True)
        tput = await throughput(runner, args.seconds, args.concurrency)
        rows.append((name, statistics.median(lat), pct(lat, 0.99), tput))
    await sandbox.close()
    print(f"{'runner':28} {'p50 ms':>8} {'p99 ms':>8} {'verdicts/s':>11}")
    for name, p50, p99, tput in rows:
        print(f"{name:28} {p50:8.1f} {p99:8.1f} {tput:11.1f}")
    ratio = rows[1][1] / rows[0][1]
    print(f"sandbox p50 / floor p50 = {ratio:.2f} (target <= 2.0); sandbox throughput {rows[1][3]:.1f}/s "
          f"(target >= 20)")


if __name__ == "__main__":
    asyncio.run(main())
