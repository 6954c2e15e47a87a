"""Judge latency on this host vs through a pool of Kernel Gateway hosts (decision 0018).

Workload: the same as ``benchmarks/judge.py``: a correct trivial solution with 10 tests, judged end to end
(code and encoded inputs into the runner, typed results out, compared on the trusted side), sequential
submissions with a pause between them (as between real submissions: pools refill meanwhile). Prints the median
and p95 submit-to-verdict latency of:

- ``local``: ``KernelSandboxRunner`` (fork server, pooled sandboxes);
- ``gateways``: ``GatewayPoolRunner`` on two gateway hosts, each in a network namespace reached over a veth pair,
  TLS with a pinned certificate and a token (``tests/gateway_hosts.py``), ``--pool`` kernels started ahead per host;
- ``gateways-cold``: the same with no kernel started ahead (each submission waits for a gateway to start one).

Needs root (network namespaces, the sandbox).

    PYTHONPATH=$PWD:$PWD/server .venv/bin/python benchmarks/gateway_judge.py [--n 40] [--pause 0.5] [--pool 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from gateway_hosts import CGROUP_PARENT, SANDBOX_UID, Lab  # noqa: E402

# The workload and its timing, as benchmarks/judge.py measures the local runner.
from judge import latency, pct  # noqa: E402


async def measure(lab: Lab, args) -> list[tuple[str, list[float]]]:
    from jupyter_duel_server.remote import GatewayPoolRunner
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    config = Config()
    config.SandboxConfig.uid = SANDBOX_UID
    config.SandboxConfig.gid = SANDBOX_UID
    config.SandboxConfig.cgroup_parent = CGROUP_PARENT
    config.SandboxConfig.runtime_dir = str(lab.runtime_dir)
    rows = []
    local = KernelSandboxRunner(config=config)
    await local.start()
    try:
        rows.append(("local", await latency(local, args.n, args.pause)))
    finally:
        await local.close()
    for name, pool, n in (("gateways", args.pool, args.n), ("gateways-cold", 0, max(5, args.n // 4))):
        remote = GatewayPoolRunner(**lab.runner_config(), pool_size=pool)
        await remote.start()
        await remote.wait_ready()
        try:
            rows.append((name, await latency(remote, n, args.pause)))
        finally:
            await remote.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--pause", type=float, default=0.5)
    ap.add_argument("--pool", type=int, default=2, help="kernels started ahead per gateway host")
    args = ap.parse_args()
    lab = Lab(2)
    try:
        for host in lab.hosts:
            host.start()
        for host in lab.hosts:
            host.wait_up()
        rows = asyncio.run(measure(lab, args))
    finally:
        lab.close()
    print(f"judge latency, 10 tests, sequential (pause {args.pause:g} s), load {os.getloadavg()[0]:.2f}")
    print(f"{'runner':<15}{'n':>5}{'median ms':>12}{'p95 ms':>10}")
    for name, values in rows:
        print(f"{name:<15}{len(values):>5}{statistics.median(values):>12.1f}{pct(values, 0.95):>10.1f}")


if __name__ == "__main__":
    main()
