"""Seeded simulation: players with hidden skill play many rounds through the real matchmaker and rating code.

Prints, per rating system, how well the final ratings order the players by skill (Spearman's rank correlation)
and the mean rating gap of the pairs the matchmaker made. ``tests/unit/test_rating_simulation.py`` runs the
same function and holds it to Spearman >= 0.8.

    python benchmarks/rating_simulation.py [--players 200] [--rounds 150] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics

from jupyter_duel_server.matchmaker import Matchmaker, QueueEntry
from jupyter_duel_server.rating import RATING_SYSTEMS


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def simulate(system: str = "elo", players: int = 200, rounds: int = 150, seed: int = 7) -> dict:
    rng = random.Random(seed)
    rating = RATING_SYSTEMS[system]()
    skill = {f"p{i}": rng.gauss(1500, 300) for i in range(players)}
    state = {name: rating.initial() for name in skill}
    matchmaker = Matchmaker()
    gaps: list[float] = []
    clock = 0.0
    for _round in range(rounds):
        for name in skill:  # everyone queues, in a random order
            matchmaker.join(QueueEntry(name, rng.choice(["any", "easy", "medium", "hard"]), True,
                                       state[name].rating, joined_at=clock))
        for _ in range(12):  # wait (windows widen) until nearly everyone is paired
            for pairing in matchmaker.pair_round(now=clock):
                a, b = pairing.first.name, pairing.second.name
                gaps.append(pairing.gap)
                p_a = 1.0 / (1.0 + 10 ** ((skill[b] - skill[a]) / 400.0))
                score = 1.0 if rng.random() < p_a else 0.0
                state[a], state[b] = rating.update(state[a], state[b], score, now=clock)
            clock += 5.0
            if len(matchmaker) < 2:
                break
        for entry in matchmaker.entries():
            matchmaker.leave(entry.name)
        clock += 60.0
    names = list(skill)
    return {
        "system": system,
        "players": players,
        "rounds": rounds,
        "games": len(gaps),
        "spearman": spearman([state[n].rating for n in names], [skill[n] for n in names]),
        "mean_gap": statistics.fmean(gaps),
        "mean_gap_last_third": statistics.fmean(gaps[-len(gaps) // 3 :]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for system in RATING_SYSTEMS:
        r = simulate(system, args.players, args.rounds, args.seed)
        print(
            f"{system:8} players={r['players']} games={r['games']} spearman={r['spearman']:.3f} "
            f"mean_gap={r['mean_gap']:.1f} mean_gap_last_third={r['mean_gap_last_third']:.1f}"
        )


if __name__ == "__main__":
    main()
