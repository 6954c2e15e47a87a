"""Judge latency and throughput: the full kernel sandbox vs a plain unsandboxed subprocess (the floor).

Workload: a correct trivial solution with 10 tests, judged end to end (code and encoded inputs into the runner,
typed results out, compared on the trusted side). Prints, in one run, p50/p99 submit-to-verdict latency
(sequential submissions, with a pause that lets the pool refill, as between real submissions) and sustained
verdicts per second (``--concurrency`` submissions in flight for ``--seconds``).

    PYTHONPATH=$PWD:$PWD/server .venv/bin/python benchmarks/judge.py [--n 60] [--seconds 10] [--repeat 3]

The sandbox runs with ``KernelSandboxRunner``'s defaults (pool size, concurrent starts) unless ``--pool`` /
``--max-starting`` are given. With ``--repeat N`` the whole measurement is repeated and the median of each column
is reported, with the load average (other processes on the machine skew every figure: compare runs made at
similar load). Also printed: the CPU time per sandboxed verdict, split into the judge process, the fork server
and the sandboxes themselves (everything on the machine is not ours on a shared host).
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
    return done / (time.perf_counter() - start), done


def _cpu_of(pid: int) -> tuple[float, float]:
    """(own, waited-for children) CPU seconds of a process."""
    import os

    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / hz, (int(fields[13]) + int(fields[14])) / hz


async def measure(args, floor, sandbox) -> dict:
    import resource

    out = {}
    for name, runner in (("floor", floor), ("sandbox", sandbox)):
        lat = await latency(runner, args.n, args.pause)
        if runner is sandbox:
            while sandbox._background:
                await asyncio.gather(*list(sandbox._background), return_exceptions=True)
            zpid = sandbox._zygote.proc.pid
            z0, j0 = _cpu_of(zpid), resource.getrusage(resource.RUSAGE_SELF)
        tput, done = await throughput(runner, args.seconds, args.concurrency)
        if runner is sandbox:
            while sandbox._background:
                await asyncio.gather(*list(sandbox._background), return_exceptions=True)
            z1, j1 = _cpu_of(zpid), resource.getrusage(resource.RUSAGE_SELF)
            judge = (j1.ru_utime + j1.ru_stime - j0.ru_utime - j0.ru_stime) * 1000 / done
            out["cpu"] = (judge, (z1[0] - z0[0]) * 1000 / done, (z1[1] - z0[1]) * 1000 / done)
        out[name] = (statistics.median(lat), pct(lat, 0.99), tput)
    return out


async def main() -> None:
    import os

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--pool", type=int, default=None, help="default: KernelSandboxRunner.pool_size")
    ap.add_argument("--max-starting", type=int, default=None, help="default: KernelSandboxRunner.max_starting")
    ap.add_argument("--pause", type=float, default=0.25)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    kwargs = {}
    if args.pool is not None:
        kwargs["pool_size"] = args.pool
    if args.max_starting is not None:
        kwargs["max_starting"] = args.max_starting
    floor = SubprocessRunner()
    sandbox = KernelSandboxRunner(**kwargs)
    await sandbox.start()
    print(f"pool_size={sandbox.pool_size} max_starting={sandbox.max_starting} concurrency={args.concurrency} "
          f"cpus={os.cpu_count()}")
    runs = []
    try:
        for i in range(args.repeat):
            load0 = os.getloadavg()[0]
            m = await measure(args, floor, sandbox)
            m["load"] = (load0, os.getloadavg()[0])
            runs.append(m)
            (fp50, fp99, ft), (sp50, sp99, st) = m["floor"], m["sandbox"]
            print(f"run {i + 1}: load {m['load'][0]:.2f}->{m['load'][1]:.2f}  floor p50 {fp50:.1f} p99 {fp99:.1f} "
                  f"{ft:.1f}/s | sandbox p50 {sp50:.1f} p99 {sp99:.1f} {st:.1f}/s | CPU ms/verdict: judge "
                  f"{m['cpu'][0]:.1f}, fork server {m['cpu'][1]:.1f}, sandboxes {m['cpu'][2]:.1f}", flush=True)
    finally:
        await sandbox.close()

    def med(key, i):
        return statistics.median(r[key][i] for r in runs)

    print(f"\nmedian of {len(runs)} run(s)")
    print(f"{'runner':28} {'p50 ms':>8} {'p99 ms':>8} {'verdicts/s':>11}")
    for name, key in (("floor (plain subprocess)", "floor"), ("kernel sandbox", "sandbox")):
        print(f"{name:28} {med(key, 0):8.1f} {med(key, 1):8.1f} {med(key, 2):11.1f}")
    print(f"CPU per sandboxed verdict (ms): judge {med('cpu', 0):.1f}, fork server {med('cpu', 1):.1f}, "
          f"sandboxes {med('cpu', 2):.1f}")
    ratio = med("sandbox", 0) / med("floor", 0)
    print(f"sandbox p50 / floor p50 = {ratio:.2f} (target <= 2.0); sandbox throughput {med('sandbox', 2):.1f}/s "
          f"(target >= 20)")


if __name__ == "__main__":
    asyncio.run(main())
