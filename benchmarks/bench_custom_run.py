"""Latency of a custom run (``run_custom``) through a real service, against ``run_samples`` for comparison.

Starts ``python -m jupyter_duel serve`` (fresh temporary SQLite database, guests allowed, no countdown, no
cooldown, the judge's rate limit lifted, an empty ``JUPYTER_CONFIG_DIR``), opens two python-socketio clients that
are matched in a casual battle, and has the first one send ``--runs`` custom runs one after the other (each once
the previous answered): the time from sending ``run_custom`` to receiving its ``custom_result``. The code prints a
line and returns a value: the path a player debugging their code takes. Then the same for ``run_samples`` (send
to the run's ``submission_result``). Prints median, p95 and max per kind; ``--json`` prints one JSON line.

    .venv/bin/python benchmarks/bench_custom_run.py --runs 50
    .venv/bin/python benchmarks/bench_custom_run.py --runs 20 --service-arg=--DuelService.sandbox=False
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parents[1]


def start_service(tmp: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    config = tmp / "jupyter_duel_config.py"
    config.write_text("c.DuelService.rate_limits = {'judge': [0, 0]}\n")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DUEL_SECRET="bench-secret",
               PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "server"), str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_duel", "serve", "--ip=127.0.0.1", "--port=0", "--allow-guests",
         f"--db=sqlite:///{tmp / 'duel.sqlite'}", "--DuelService.countdown_s=0",
         "--DuelService.run_samples_cooldown_s=0", "--DuelService.submit_cooldown_s=0", f"--config={config}", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp,
    )
    for line in proc.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return proc, match.group(1).rstrip("/")
    raise RuntimeError("the service did not start")


class Client:
    def __init__(self, url: str):
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.queues: dict[str, asyncio.Queue] = {}
        self.sio.on("*", self._on)

    async def _on(self, event, data):
        await self.queues.setdefault(event, asyncio.Queue()).put(data)

    async def expect(self, event: str, timeout: float = 60.0):
        return await asyncio.wait_for(self.queues.setdefault(event, asyncio.Queue()).get(), timeout)

    async def start(self, name: str) -> "Client":
        await self.sio.connect(self.url, transports=["websocket"])
        ack = await self.sio.call("register_user", {"display_name": name}, timeout=10)
        assert ack["ok"], ack
        return self


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ordered[-1], 1)}


async def measure(url: str, runs: int) -> dict:
    a, b = await Client(url).start("bench-a"), await Client(url).start("bench-b")
    try:
        for c in (a, b):
            assert (await c.sio.call("join_queue", {"pool": "easy", "ranked": False}, timeout=10))["ok"]
        match = await a.expect("match_found")
        await b.expect("match_found")
        bid, fn = match["battle_id"], match["challenge"]["function"]
        call = match["challenge"]["samples"][0]["call"]
        args = call[len(fn) + 1:-1]
        code = f"def {fn}(*args):\n    print('debug', len(args))\n    return len(args)\n"
        custom, samples = [], []
        for _ in range(runs):
            start = time.perf_counter()
            ack = await a.sio.call("run_custom", {"battle_id": bid, "code": code, "args": args}, timeout=60)
            assert ack["ok"], ack
            result = await a.expect("custom_result")
            custom.append((time.perf_counter() - start) * 1000)
            assert result["verdict"] == "OK" and result["output"].startswith("debug"), result
        for _ in range(runs):
            start = time.perf_counter()
            ack = await a.sio.call("run_samples", {"battle_id": bid, "code": code}, timeout=60)
            assert ack["ok"], ack
            while (await a.expect("submission_result"))["submission_id"] != ack["submission_id"]:
                pass
            samples.append((time.perf_counter() - start) * 1000)
        return {"run_custom": summary(custom), "run_samples": summary(samples),
                "samples_per_run": len(match["challenge"]["samples"])}
    finally:
        for c in (a, b):
            await c.sio.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each kind (default 30)")
    parser.add_argument("--service-arg", action="append", default=[], help="passed to `jupyter duel serve`")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-custom-") as tmp:
        proc, url = start_service(Path(tmp), args.service_arg)
        try:
            result = asyncio.run(measure(url, args.runs))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    if args.json:
        print(json.dumps(result))
        return
    print(f"custom runs through a real service ({result['samples_per_run']} samples per run_samples run)")
    for kind in ("run_custom", "run_samples"):
        r = result[kind]
        print(f"  {kind:<12} n={r['n']:<4} median {r['median_ms']:>7.1f} ms   p95 {r['p95_ms']:>7.1f} ms"
              f"   max {r['max_ms']:>7.1f} ms")


if __name__ == "__main__":
    main()
