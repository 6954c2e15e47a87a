"""Seeded simulations of whole tournaments through the real rules, on a simulated clock (no sleeping, no I/O).

``tests/unit/test_tournament_rules.py`` checks their invariants; ``benchmarks/tournament_simulation.py`` prints
their figures.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from .arena import PAIRING_INTERVAL_S, REMATCH_AFTER_S, ArenaGame, FreePlayer, may_meet, pair_arena, score_sequence
from .standings import DRAW, LOSS, WIN, Entrant, Game
from .swiss import SwissRound, pair_swiss_round


def _result(rng: random.Random, rating_a: float, rating_b: float, draw_share: float = 0.1) -> float:
    """A random result for the first player, likelier a win the higher their rating (Elo odds)."""
    if rng.random() < draw_share:
        return DRAW
    expected = 1 / (1 + 10 ** ((rating_b - rating_a) / 400))
    return WIN if rng.random() < expected else LOSS


def _ratings(rng: random.Random, count: int) -> list[float]:
    return [round(rng.gauss(1500, 250)) for _ in range(count)]


@dataclass
class SwissSimulation:
    """What a simulated Swiss did: its rounds, its records and the figures the rules promise."""

    entrants: list[Entrant]
    rounds: list[SwissRound] = field(default_factory=list)
    games: list[Game] = field(default_factory=list)

    def repeat_pairings(self) -> int:
        """How many pairings met a pair that had met in an earlier round."""
        seen: set[frozenset[str]] = set()
        repeats = 0
        for swiss_round in self.rounds:
            for a, b in swiss_round.pairs:
                pair = frozenset((a, b))
                repeats += pair in seen
                seen.add(pair)
        return repeats

    def byes(self) -> Counter[str]:
        """How many byes each player received."""
        return Counter(swiss_round.bye for swiss_round in self.rounds if swiss_round.bye is not None)


def simulate_swiss(
    players: int, rounds: int, seed: int, withdraw_each_round: int = 0, join_each_round: int = 0
) -> SwissSimulation:
    """A Swiss of ``players`` over ``rounds`` with random results; optionally some players withdraw after each
    round and some join late before each round."""
    rng = random.Random(seed)
    entrants = [Entrant(f"p{i:03d}", rating) for i, rating in enumerate(_ratings(rng, players))]
    simulation = SwissSimulation(entrants)
    for round_no in range(1, rounds + 1):
        if round_no > 1:
            active = [e for e in entrants if e.plays_in(round_no)]
            for leaving in rng.sample(active, min(withdraw_each_round, len(active) - 2)):
                entrants[entrants.index(leaving)] = Entrant(
                    leaving.name, leaving.rating, leaving.joined_round, withdrawn_from_round=round_no
                )
            for _ in range(join_each_round):
                entrants.append(Entrant(f"late{len(entrants):03d}", _ratings(rng, 1)[0], joined_round=round_no))
        swiss_round = pair_swiss_round(entrants, simulation.games, round_no)
        rating = {e.name: e.rating for e in entrants}
        simulation.rounds.append(swiss_round)
        for a, b in swiss_round.pairs:
            simulation.games.append(Game.result(round_no, a, b, _result(rng, rating[a], rating[b])))
        if swiss_round.bye is not None:
            simulation.games.append(Game.bye(round_no, swiss_round.bye, WIN))
    simulation.entrants = entrants
    return simulation


@dataclass
class ArenaSimulation:
    """What a simulated arena did.

    ``waits``: for every pairing, seconds from becoming free to being paired. ``left_twice``: (time, player) for
    every player left unpaired at two pairing rounds in a row although at the second one somebody free could meet
    them. ``left_pairable``: (time, a, b) for two players left unpaired at one round who could have met.
    """

    waits: list[float] = field(default_factory=list)
    games: list[ArenaGame] = field(default_factory=list)
    pairing_rounds: int = 0
    left_twice: list[tuple[float, str]] = field(default_factory=list)
    left_pairable: list[tuple[float, str, str]] = field(default_factory=list)
    immediate_rematches: int = 0


def simulate_arena(
    players: int = 200,
    duration_s: float = 600.0,
    seed: int = 1,
    game_s: tuple[float, float] = (20.0, 120.0),
    pause_share: float = 0.05,
    pause_s: tuple[float, float] = (5.0, 60.0),
    interval_s: float = PAIRING_INTERVAL_S,
    rematch_after_s: float = REMATCH_AFTER_S,
) -> ArenaSimulation:
    """An arena of bots on a simulated clock: each game lasts a random time, the pairer runs every ``interval_s``
    on whoever is free; after a game a bot pauses now and then (``pause_share``) for a random while."""
    rng = random.Random(seed)
    ratings = dict(zip((f"b{i:03d}" for i in range(players)), _ratings(rng, players)))
    free_since = {name: 0.0 for name in ratings}  # the free players, and since when
    paused_until: dict[str, float] = {}
    last_opponent: dict[str, str | None] = {name: None for name in ratings}
    results: dict[str, list[float]] = {name: [] for name in ratings}
    running: list[tuple[float, str, str]] = []  # (end, a, b)
    simulation = ArenaSimulation()
    left_before: set[str] = set()
    now = 0.0
    while now < duration_s:
        for end, a, b in sorted(running):
            if end > now:
                continue
            running.remove((end, a, b))
            result = _result(rng, ratings[a], ratings[b])
            simulation.games.append(ArenaGame(a, b, result, end))
            results[a].append(result)
            results[b].append(1.0 - result)
            for player, opponent in ((a, b), (b, a)):
                last_opponent[player] = opponent
                free_since[player] = end
                if rng.random() < pause_share:
                    paused_until[player] = end + rng.uniform(*pause_s)
        for player, until in list(paused_until.items()):
            if until <= now:
                del paused_until[player]
                free_since[player] = until  # waiting counts from the return
        free = [
            FreePlayer(name, sum(score_sequence(results[name])[0]), ratings[name], last_opponent[name], since,
                       paused=name in paused_until)
            for name, since in sorted(free_since.items())
        ]
        pairs = pair_arena(free, now, rematch_after_s)
        simulation.pairing_rounds += 1
        paired = {name for pair in pairs for name in pair}
        eligible = {p.name: p for p in free if not p.paused}
        left = set(eligible) - paired
        for name in sorted(left & left_before):
            if any(may_meet(eligible[name], other, now, rematch_after_s) for other in eligible.values()):
                simulation.left_twice.append((now, name))
        ordered = sorted(left)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                if may_meet(eligible[a], eligible[b], now, rematch_after_s):
                    simulation.left_pairable.append((now, a, b))
        left_before = left
        for a, b in pairs:
            simulation.immediate_rematches += last_opponent[a] == b
            for player in (a, b):
                simulation.waits.append(now - free_since.pop(player))
            running.append((now + rng.uniform(*game_s), a, b))
        now += interval_s
    return simulation
