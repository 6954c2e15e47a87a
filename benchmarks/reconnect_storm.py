#!/usr/bin/env python3
"""Reconnect storm: every client in a battle dropped at once, all coming back and resuming.

Starts the service (``--workers N``: N processes joined by a redis-server of the run's own), has the Node load
generator (loadgen/storm.mjs) pair ``--clients`` guests into casual battles and type a few acknowledged edits
each, then drops every connection at once: ``--drop sockets`` closes them all from the clients' side (a network
blip), ``--drop restart`` stops the service (SIGINT: a clean stop, which flushes) and starts it again on the same
ports. Every client reconnects, registers again, goes to the worker that runs its battle and resumes it.

Prints the time from the drop until every client had its battle back, the median, and what was lost: an edit the
service had acknowledged before the drop but did not give back on resume (the client's own code or its
opponent's). Timings depend on the machine and its load; run it on a quiet one for figures worth comparing.

    python benchmarks/reconnect_storm.py --clients 1000 --drop sockets
    python benchmarks/reconnect_storm.py --clients 1000 --drop restart --workers 2
"""

from __future__ import annotations

import argparse
import json
import queue
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mirror_latency import (  # noqa: E402  (the mirror benchmark's process helpers)
    LOADGEN, REPO, BenchmarkFailed, ensure_loadgen, log_tail, pump, raise_fd_limit, start_redis, start_service,
    stop_process,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="clients in battles (even: they duel in pairs)")
    p.add_argument("--edits", type=int, default=5, help="acknowledged edits each client types before the drop")
    p.add_argument("--drop", choices=("sockets", "restart"), default="sockets",
                   help="how the connections drop: closed by the clients, or the service restarted")
    p.add_argument("--workers", type=int, default=1, help="service processes (joined by Redis when more than 1)")
    p.add_argument("--target-s", type=float, default=10.0, help="the time every client should be back within")
    p.add_argument("--resume-timeout", type=float, default=60.0, help="seconds after the drop before giving up")
    p.add_argument("--python", default=None, help="interpreter that runs the service")
    p.add_argument("--source", type=Path, default=REPO, help="checkout whose service code is measured")
    p.add_argument("--service-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for 'jupyter duel serve' (repeatable)")
    p.add_argument("--redis-server", default="redis-server", help="the redis-server executable for --workers > 1")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for the service")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = p.parse_args(argv)
    if args.clients < 2 or args.clients % 2:
        p.error("--clients must be an even number >= 2")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_all(args, tmp: Path, ports: list[int], redis_url: str | None) -> tuple[list[subprocess.Popen], list[str]]:
    """Every worker at once, as a supervisor starts them (one after the other would add their start-ups up)."""
    # Nobody loses a battle by being away during the storm; the registrations of a whole class at once are
    # within the session class's limits per connection and per player already.
    base = ["--DuelService.disconnect_grace_s=300"]

    def start(i: int) -> tuple[subprocess.Popen, str]:
        extra = list(base)
        if redis_url is not None:
            extra += [f"--DuelService.redis_url={redis_url}", f"--DuelService.worker_id={i}",
                      "--DuelService.redis_max_connections=256"]
        proc, url, _ = start_service(args, tmp, tmp / f"service-{i}.log", extra, port=ports[i])
        return proc, url

    with ThreadPoolExecutor(len(ports)) as pool:
        started = list(pool.map(start, range(len(ports))))
    return [proc for proc, _ in started], [url for _, url in started]


def stop_all(procs: list[subprocess.Popen]) -> None:
    """A clean stop (SIGINT: each flushes its battles) of every worker at once."""
    with ThreadPoolExecutor(max(1, len(procs))) as pool:
        list(pool.map(lambda proc: stop_process(proc, signal.SIGINT, grace=60), procs))


def run(args) -> dict:
    node = shutil.which("node")
    if node is None:
        raise BenchmarkFailed("node not found: install Node.js 20 to run the load generator")
    ensure_loadgen(node, quiet=True)
    raise_fd_limit(args.clients * 4 + 1024)
    tmp = Path(tempfile.mkdtemp(prefix="duel-storm-"))
    # One secret for every process, before and after the restart: the resume tokens must stay valid.
    os.environ.setdefault("JUPYTER_DUEL_SECRET", secrets.token_hex(16))
    args.service_arg = list(args.service_arg)
    procs: list[subprocess.Popen] = []
    redis_proc = loadgen = None
    result: dict = {}
    try:
        redis_url = None
        if args.workers > 1:
            redis_proc, redis_url = start_redis(args, tmp)
        ports = [free_port() for _ in range(args.workers)]
        procs, urls = start_all(args, tmp, ports, redis_url)
        loadgen = subprocess.Popen(
            [node, str(LOADGEN / "storm.mjs"), "--url", ",".join(urls), "--clients", str(args.clients),
             "--edits", str(args.edits), "--drop", args.drop, "--resume-timeout-s", str(args.resume_timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=pump, args=(loadgen.stdout, lines), daemon=True).start()
        restart_s = None
        while True:
            line = lines.get(timeout=args.startup_timeout + args.clients)
            if line is None:
                raise BenchmarkFailed("the load generator stopped without a result")
            if line.startswith("PHASE ready"):
                print(f"[storm] {args.clients} clients in battles; dropping them all ({args.drop})", file=sys.stderr)
                loadgen.stdin.write(b"drop\n")
                loadgen.stdin.flush()
                if args.drop == "restart":
                    t0 = time.monotonic()
                    stop_all(procs)
                    procs, _ = start_all(args, tmp, ports, redis_url)
                    restart_s = round(time.monotonic() - t0, 2)
            elif line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
                break
        result["service_restart_s"] = restart_s
        result["target_s"] = args.target_s
        result["ok"] = (not result.get("fatal") and result.get("not_resumed") == 0 and result.get("lost") == 0
                        and result.get("all_resumed_s") is not None and result["all_resumed_s"] <= args.target_s)
        if result.get("fatal") or result.get("not_resumed"):
            result["service_log_tail"] = log_tail(tmp / "service-0.log", 15)
    finally:
        stop_process(loadgen, signal.SIGTERM, grace=5)
        stop_all(procs)
        stop_process(redis_proc, signal.SIGTERM, grace=5)
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except BenchmarkFailed as exc:
        result = {"ok": False, "fatal": str(exc)}
    if args.json:
        print(json.dumps(result))
        return 0 if result.get("ok") else 1
    print(f"jupyter-duel reconnect storm ({result.get('workers', args.workers)} worker(s), drop: {args.drop})")
    print(f"  clients           {result.get('clients')} in {(result.get('clients') or 0) // 2} battles "
          f"(set up in {result.get('setup_s')} s)")
    if result.get("service_restart_s") is not None:
        print(f"  service restart   {result['service_restart_s']} s (stop, flush, start, battles carried on)")
        if result.get("all_resumed_s") is not None:
            # The drop is seen when the stop begins: the rest is the storm itself, once the service listens.
            back = max(0.0, result["all_resumed_s"] - result["service_restart_s"])
            print(f"  once listening    every client resumed within ~{back:.2f} s")
    print(f"  all resumed in    {result.get('all_resumed_s')} s after the drop (median {result.get('p50_resumed_s')} s;"
          f" target {args.target_s:g} s)")
    print(f"  resumed           {result.get('resumed')}, not resumed {result.get('not_resumed')}")
    print(f"  lost              {result.get('lost')} acknowledged edit(s)")
    for key in ("fatal", "errors", "service_log_tail"):
        if result.get(key):
            print(f"  {key}: {result[key]}")
    print(f"  result: {'OK' if result.get('ok') else 'NOT OK'}")
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
