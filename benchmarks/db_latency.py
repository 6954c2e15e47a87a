#!/usr/bin/env python3
"""Database-latency benchmark: the mirror's relay latency with the database as is and with every SQL statement
slowed down, while other clients keep reading from the database.

Runs ``mirror_latency.py``'s measurement twice (N Socket.IO clients in N/2 casual battles relaying edits, see
benchmarks/README.md), each time with ``--readers`` threads that keep asking the REST API for the leaderboard and a
player's history (each answer is a few SQL statements), one read per ``--read-interval-ms`` each, during the whole
run. The second run starts the service with ``JUPYTER_DUEL_DB_DELAY_S`` (``--delay-ms``, 50 by default): every
statement first sleeps that long (a SQLAlchemy ``before_cursor_execute`` hook, ``Store.slow_down``; benchmarks
only). Since no database call runs on
the event loop (``DuelService.db``), the relay's p50/p99 stay about the same; a database call on the loop would
add the delay to every edit relayed meanwhile.

    python benchmarks/db_latency.py --clients 200 --duration 20

Prints one line per run (relay p50/p99/max, REST reads answered) and a verdict line; exit status 1 when a run
failed or the slowed run's p99 is more than ``--tolerance-ms`` (25) above the other's; 130 when interrupted.
Other options are mirror_latency.py's.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mirror_latency  # noqa: E402


class RestReaders:
    """Threads that keep reading the leaderboard and a history through the REST API until stopped."""

    def __init__(self, url: str, count: int, interval_s: float):
        self.url, self.interval_s, self.stop_event, self.answered = url, interval_s, threading.Event(), 0
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, daemon=True) for _ in range(count)]

    def start(self) -> "RestReaders":
        for t in self.threads:
            t.start()
        return self

    def _read(self) -> None:
        paths = ["/api/leaderboard", "/api/users/guest:bench-reader/battles"]
        i = 0
        while not self.stop_event.is_set():
            try:
                with urllib.request.urlopen(self.url + paths[i % 2], timeout=30) as response:
                    response.read()
            except urllib.error.HTTPError:
                pass  # the unknown reader's 404 is an answer too: it read the database
            except OSError:  # no answer (the service has stopped): not counted
                i += 1
                continue
            with self._lock:
                self.answered += 1
            i += 1
            self.stop_event.wait(self.interval_s)  # the same pace in both runs, not a flood

    def stop(self) -> int:
        self.stop_event.set()
        for t in self.threads:
            t.join(35)
        return self.answered


def measure(args, delay_ms: float) -> dict:
    """One mirror_latency run with REST readers, the service's statements each ``delay_ms`` slower."""
    readers: list[RestReaders] = []
    start_service = mirror_latency.start_service

    def with_readers(margs, tmp, log_path):
        proc, url, path = start_service(margs, tmp, log_path)
        readers.append(RestReaders(url, args.readers, args.read_interval_ms / 1000.0).start())
        return proc, url, path

    previous = os.environ.get("JUPYTER_DUEL_DB_DELAY_S")
    os.environ["JUPYTER_DUEL_DB_DELAY_S"] = str(delay_ms / 1000.0)
    mirror_latency.start_service = with_readers
    try:
        result, status = mirror_latency.run(args)
    finally:
        mirror_latency.start_service = start_service
        if previous is None:
            os.environ.pop("JUPYTER_DUEL_DB_DELAY_S", None)
        else:
            os.environ["JUPYTER_DUEL_DB_DELAY_S"] = previous
        answered = sum(r.stop() for r in readers)
    result["rest_reads"] = answered
    result["status"] = status
    return result


def main(argv=None) -> int:
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--delay-ms", type=float, default=50.0, help="added before every SQL statement (slow run)")
    own.add_argument("--readers", type=int, default=4, help="threads reading the REST API during each run")
    own.add_argument("--read-interval-ms", type=float, default=100.0, help="each reader's pause between reads")
    own.add_argument("--tolerance-ms", type=float, default=25.0, help="largest p99 difference that passes")
    mine, rest = own.parse_known_args(argv)
    args = mirror_latency.parse_args(rest)
    # Both runs alike: all clients register and queue at once, and with every statement slowed down on SQLite (one
    # writer at a time) a client may wait longer for its registered than the default heartbeat allows (a
    # connection's events, pongs included, are handled in order). The relay, measured after, is not concerned.
    args.service_arg = ["--DuelService.ping_timeout=600", *args.service_arg]
    if "--setup-timeout" not in " ".join(rest):
        args.setup_timeout = 900.0
    lines, ok, runs = [], True, {}
    try:
        for label, delay in (("database as is", 0.0), (f"+{mine.delay_ms:g} ms per statement", mine.delay_ms)):
            r = measure(argparse.Namespace(**vars(args), readers=mine.readers,
                                           read_interval_ms=mine.read_interval_ms), delay)
            runs[label] = r
            lat = r.get("latency_ms") or {}
            ok = ok and r["status"] == 0
            lines.append(f"  {label:<28} relay p50 {mirror_latency.fmt(lat.get('p50'), ' ms', 2):>10}  "
                         f"p99 {mirror_latency.fmt(lat.get('p99'), ' ms', 2):>10}  "
                         f"max {mirror_latency.fmt(lat.get('max'), ' ms', 2):>10}  "
                         f"REST reads answered {r['rest_reads']:>6}  ({r.get('received', 0)} edits relayed)"
                         + ("" if r["status"] == 0 else "  FAILED: " + "; ".join(r.get("failures") or [])))
    except KeyboardInterrupt:
        print("interrupted; service and load generator stopped", file=sys.stderr)
        return 130
    print(f"jupyter-duel relay latency with a slow database ({args.clients} clients, {args.duration:g} s, "
          f"{mine.readers} REST readers)")
    print("\n".join(lines))
    p99 = [(r.get("latency_ms") or {}).get("p99") for r in runs.values()]
    if ok and None not in p99:
        difference = p99[1] - p99[0]
        ok = difference <= mine.tolerance_ms
        print(f"  p99 difference {difference:+.2f} ms (tolerance {mine.tolerance_ms:g} ms): "
              + ("OK" if ok else "the relay waits for the database"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
