"""One pairing round of the real matchmaker with many players waiting (target: <= 50 ms for 10,000).

    python benchmarks/matchmaking.py [--players 10000] [--repeat 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from jupyter_duel_server.matchmaker import Matchmaker, QueueEntry


def build(players: int, rng: random.Random) -> Matchmaker:
    mm = Matchmaker()
    for i in range(players):
        mm.join(
            QueueEntry(
                f"p{i}",
                rng.choice(["any", "any", "easy", "medium", "hard"]),
                rng.random() < 0.8,
                rng.gauss(1500, 350),
                joined_at=-rng.uniform(0, 60),  # waited up to a minute: windows of every width
            )
        )
        if rng.random() < 0.05:  # some just played each other
            mm.record_battle(f"p{i}", f"p{max(0, i - 1)}")
    return mm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    times, paired, gaps = [], [], []
    for _ in range(args.repeat):
        mm = build(args.players, rng)
        start = time.perf_counter()
        pairings = mm.pair_round(now=0.0)
        times.append((time.perf_counter() - start) * 1000)
        paired.append(2 * len(pairings))
        gaps.append(statistics.fmean(p.gap for p in pairings))
    times.sort()
    print(
        f"pairing round, {args.players} waiting: p50 {statistics.median(times):.1f} ms, "
        f"max {times[-1]:.1f} ms over {args.repeat} rounds; paired {statistics.fmean(paired):.0f} players, "
        f"mean gap {statistics.fmean(gaps):.1f}"
    )


if __name__ == "__main__":
    main()
