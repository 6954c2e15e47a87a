"""Seeded tournaments through the real tournament rules, on a simulated clock: figures, no pass/fail.

    python benchmarks/tournament_simulation.py [--seeds 5] [--arena-players 200] [--arena-duration 900]

Swiss: 64 players over 6 rounds and 63 over 6 (random results, likelier for the higher rated), one line per
seed: repeat pairings (the rules promise 0), most byes one player received (at most 1), rounds the pairer had to
allow rematches in, and how long pairing all rounds took. Also 21 players over 7 rounds with one withdrawal and
one late joiner a round.

Arena: bots on a simulated clock (each game lasts 20-120 s, a bot pauses after 5% of its games for 5-60 s), the
pairer running every second: games played, the wait from becoming free to being paired (median, p99, max), how
often a player was left unpaired two rounds in a row while someone free could meet them (the rules promise 0),
and how often the two players who had just met were paired again (allowed once both have waited a round).
``tests/unit/test_tournament_rules.py`` runs the same simulations and asserts the promises.
"""

from __future__ import annotations

import argparse
import statistics
import time

from jupyter_duel_server.tournaments.simulation import simulate_arena, simulate_swiss


def swiss_line(label: str, players: int, rounds: int, seed: int, **changes: int) -> str:
    started = time.perf_counter()
    simulation = simulate_swiss(players, rounds, seed, **changes)
    elapsed = time.perf_counter() - started
    byes = simulation.byes()
    return (
        f"{label:<22} seed {seed}: repeats {simulation.repeat_pairings()}, most byes {max(byes.values(), default=0)}, "
        f"rounds with rematches {sum(r.rematches for r in simulation.rounds)}, pairing {elapsed * 1000:.0f} ms"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--arena-players", type=int, default=200)
    parser.add_argument("--arena-duration", type=float, default=900.0, help="simulated seconds")
    options = parser.parse_args()
    for seed in range(1, options.seeds + 1):
        print(swiss_line("swiss 64 x 6", 64, 6, seed))
        print(swiss_line("swiss 63 x 6", 63, 6, seed))
        print(swiss_line("swiss 21 x 7 +/-1/round", 21, 7, seed, withdraw_each_round=1, join_each_round=1))
    for seed in range(1, options.seeds + 1):
        started = time.perf_counter()
        arena = simulate_arena(options.arena_players, options.arena_duration, seed)
        elapsed = time.perf_counter() - started
        print(
            f"arena {options.arena_players} bots {options.arena_duration:g} s seed {seed}: {len(arena.games)} games, "
            f"wait median {statistics.median(arena.waits):.2f} s, p99 {percentile(arena.waits, 0.99):.2f} s, "
            f"max {max(arena.waits):.2f} s; left unpaired twice with a partner free {len(arena.left_twice)}; "
            f"immediate rematches {arena.immediate_rematches}; "
            f"{elapsed / arena.pairing_rounds * 1000:.2f} ms per simulated second"
        )


if __name__ == "__main__":
    main()
