"""Cost of flushing running battles to the store (``Store.flush_live``), the write a service makes every
``DuelService.state_flush_interval_s`` so that battles survive a crash.

Creates ``--battles`` running battles on a fresh temporary SQLite database, then runs ``--rounds`` flushes in
which every seat changed (new code, a new ``seq`` and ``--edits`` timeline rows since the previous flush: the
worst case, everyone typing) and every battle gets its heartbeat. Prints median, p95 and max seconds per flush,
and per battle; ``--json`` prints one JSON line.

    .venv/bin/python benchmarks/flush_live.py --battles 500 --rounds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from jupyter_duel_server.rating import PlayerRating
from jupyter_duel_server.store import SeatFlush, Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--edits", type=int, default=12, help="timeline rows per seat per flush")
    parser.add_argument("--code-chars", type=int, default=1500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'duel.sqlite'}", PlayerRating(1500.0))
        battles = []
        for i in range(args.battles):
            a, b = store.get_or_create_user(f"a{i}"), store.get_or_create_user(f"b{i}")
            store.create_battle(f"battle{i}", "c", a, b, True, time.time(), "shape", time_limit_s=900)
            battles.append((f"battle{i}", a.id, b.id))
        times = []
        for r in range(1, args.rounds + 1):
            code = ("x = 1\n" * (args.code_chars // 6))[: args.code_chars]
            seats = [SeatFlush(bid, uid, code, r, [], [], "", 0,
                               [[r + k / 100, r, [{"retain": k}, {"insert": "x"}], None] for k in range(args.edits)])
                     for bid, *uids in battles for uid in uids]
            start = time.perf_counter()
            store.flush_live(seats, [bid for bid, *_ in battles], time.time())
            times.append(time.perf_counter() - start)
        store.close()
    times.sort()
    figures = {
        "battles": args.battles, "rounds": args.rounds,
        "median_s": round(statistics.median(times), 4), "p95_s": round(times[int(0.95 * (len(times) - 1))], 4),
        "max_s": round(times[-1], 4), "median_ms_per_battle": round(1000 * statistics.median(times) / args.battles, 3),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
