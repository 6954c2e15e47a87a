"""Cost of flushing running battles to the store (``Store.flush_live``), the write a service makes every
``DuelService.state_flush_interval_s`` so that battles survive a crash.

Creates ``--battles`` running battles on a fresh temporary SQLite database, then runs ``--rounds`` flushes in
which every seat changed (new code, a new ``seq`` and ``--edits`` timeline rows since the previous flush: the
worst case, everyone typing) and every battle gets its heartbeat. The flushes run twice in a worker thread, as in
the service: once alone, and once beside a thread that runs Python without pause, standing in for a busy event
loop (both want the GIL). Prints, for each, median, p95 and max seconds per flush, and for the second the stalls
of the busy thread while a flush ran (the longest, and their total per flush, counting gaps over 1 ms), and the
flushing thread's CPU per flush. ``--vary``: each round changes a random 85-100 % of the seats, as in a class,
where the number changed differs from one flush to the next (the growth of the process's memory over the
flushes alone shows what the driver's statement cache keeps). ``--json`` prints one JSON line.

    .venv/bin/python benchmarks/flush_live.py --battles 500 --rounds 20
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from jupyter_duel_server.rating import PlayerRating
from jupyter_duel_server.store import SeatFlush, Store


class BusyLoop(threading.Thread):
    """Python work without pause; records the gaps between its steps that fall inside a flush."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = False
        self.flushing = False
        self.gaps: list[float] = []

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop:
            total = 0
            for i in range(200):  # about 10 µs of work per step
                total += i
            now = time.perf_counter()
            if self.flushing:
                self.gaps.append(now - last)
            last = now


def rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def figures(times: list[float]) -> dict:
    times = sorted(times)
    return {"median_s": round(statistics.median(times), 4), "p95_s": round(times[int(0.95 * (len(times) - 1))], 4),
            "max_s": round(times[-1], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--edits", type=int, default=12, help="timeline rows per seat per flush")
    parser.add_argument("--code-chars", type=int, default=1500)
    parser.add_argument("--vary", action="store_true", help="change a random 85-100%% of the seats each round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'duel.sqlite'}", PlayerRating(1500.0))
        battles = []
        for i in range(args.battles):
            a, b = store.get_or_create_user(f"a{i}"), store.get_or_create_user(f"b{i}")
            store.create_battle(f"battle{i}", "c", a, b, True, time.time(), "shape", time_limit_s=900)
            battles.append((f"battle{i}", a.id, b.id))
        alive = [bid for bid, *_ in battles]

        picker = random.Random(1)

        def rounds(first: int) -> list[list[SeatFlush]]:  # built beforehand: only the flush is measured
            code = ("x = 1\n" * (args.code_chars // 6))[: args.code_chars]
            made = []
            for r in range(first, first + args.rounds):
                seats = [SeatFlush(bid, uid, code, r, [], [], "", 0,
                                   [[r + k / 100, r, [{"retain": k}, {"insert": "x"}], None]
                                    for k in range(args.edits)])
                         for bid, *uids in battles for uid in uids]
                made.append(picker.sample(seats, int(len(seats) * picker.uniform(0.85, 1.0))) if args.vary
                            else seats)
            return made

        cpu: list[float] = []

        def flush_all(seat_rounds: list[list[SeatFlush]], busy: BusyLoop | None) -> list[float]:
            times = []

            def worker() -> None:  # the service's database worker thread
                for seats in seat_rounds:
                    if busy is not None:
                        busy.flushing = True
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    store.flush_live(seats, alive, time.time())
                    times.append(time.perf_counter() - start)
                    if busy is None:
                        cpu.append(time.thread_time() - start_cpu)
                    if busy is not None:
                        busy.flushing = False
                    time.sleep(0.05)

            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
            return times

        first_rounds, seat_rounds = rounds(1), rounds(args.rounds + 1)
        rss_before = rss_mb()
        alone = flush_all(first_rounds, None)
        rss_growth = rss_mb() - rss_before  # (the busy loop's record of its stalls would count in a later reading)
        busy = BusyLoop()
        busy.start()
        time.sleep(0.2)
        beside = flush_all(seat_rounds, busy)
        busy.stop = True
        busy.join()
        store.close()
    result = {"battles": args.battles, "rounds": args.rounds, "vary": args.vary, "alone": figures(alone),
              "median_ms_per_battle": round(1000 * statistics.median(alone) / args.battles, 3),
              "thread_cpu_ms_per_flush": round(1000 * statistics.median(cpu), 1),
              "rss_growth_mb": round(rss_growth),
              "beside_a_busy_loop": figures(beside)}
    result["beside_a_busy_loop"].update({
        "loop_longest_stall_ms": round(1000 * max(busy.gaps), 1),
        "loop_stalled_ms_per_flush": round(1000 * sum(g for g in busy.gaps if g > 0.001) / args.rounds, 1),
    })
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k:>26}: {v}")
            else:
                print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
