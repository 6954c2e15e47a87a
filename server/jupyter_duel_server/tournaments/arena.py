"""Arena: a fixed duration in which players are paired again as soon as they are free; the most points win.

Scoring: a win 2, a draw 1, a loss 0. After two wins in a row a player is *on fire*: every game scores double
(a win 4, a draw 2) until a game that is not a win. Pairing runs every ``PAIRING_INTERVAL_S`` on the players free
at that moment (``pair_arena``). The rules in prose are in ``docs/tournaments.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .matching import maximum_matching, pair_in_preference_order
from .standings import DRAW, WIN, Entrant, RulesError, Standing, check_entrants, ranked, win_draw_loss

WIN_POINTS, DRAW_POINTS, LOSS_POINTS = 2, 1, 0
FIRE_AFTER_WINS = 2
FIRE_MULTIPLIER = 2
PAIRING_INTERVAL_S = 1.0
# Two players who just met may meet again once both have waited this long: one pairing round left them alone.
REMATCH_AFTER_S = PAIRING_INTERVAL_S


@dataclass(frozen=True)
class ArenaGame:
    """A finished arena game: ``points_first`` is 1, 0.5 or 0 (a disconnect or forfeit is a loss, 0)."""

    first: str
    second: str
    points_first: float
    ended_at: float


@dataclass(frozen=True)
class FreePlayer:
    """A player not in a game right now, as the pairer sees them. ``waiting_since`` is when they became free
    (their last game's end, or when they joined or resumed)."""

    name: str
    score: int
    rating: float
    last_opponent: str | None
    waiting_since: float
    paused: bool = False


def game_points(result: float, on_fire: bool) -> int:
    """The arena points a result (1, 0.5, 0) is worth."""
    base = WIN_POINTS if result == WIN else DRAW_POINTS if result == DRAW else LOSS_POINTS
    return base * FIRE_MULTIPLIER if on_fire else base


def score_sequence(results: Sequence[float]) -> tuple[list[int], int]:
    """The points of each of a player's results, in the order played, and the run of wins they end on."""
    points, streak = [], 0
    for result in results:
        points.append(game_points(result, streak >= FIRE_AFTER_WINS))
        streak = streak + 1 if result == WIN else 0
    return points, streak


def may_meet(a: FreePlayer, b: FreePlayer, now: float, rematch_after_s: float = REMATCH_AFTER_S) -> bool:
    """Two free players may be paired unless one was the other's last opponent, and that only until both have
    waited ``rematch_after_s``."""
    if a.name == b.name or a.paused or b.paused:
        return False
    if a.last_opponent != b.name and b.last_opponent != a.name:
        return True
    return now - a.waiting_since >= rematch_after_s and now - b.waiting_since >= rematch_after_s


def pair_arena(
    free: Sequence[FreePlayer], now: float, rematch_after_s: float = REMATCH_AFTER_S
) -> list[tuple[str, str]]:
    """The games to start now among the free players (paused ones excluded).

    1. As many games as possible (a maximum matching of the pairs that ``may_meet``).
    2. Who plays, when not everybody can: the longest waiting first (ties: the higher-ranked). Each player in that
       order is in if the players already in and they can all be paired at once.
    3. Who meets whom: from the top of the ranking (score, then rating, then name) down, each player meets the
       closest-ranked player in that is left, as long as the others can still all be paired; the opponent they
       just played (allowed once both have waited ``rematch_after_s``) only if nobody else fits.
    """
    names = [player.name for player in free]
    if len(set(names)) != len(names):
        raise RulesError("duplicate_player", "a player is listed twice")
    eligible = [player for player in free if not player.paused]
    by_name = {player.name: player for player in eligible}

    def adjacent(a: str, b: str) -> bool:
        return may_meet(by_name[a], by_name[b], now, rematch_after_s)

    ranking = [p.name for p in sorted(eligible, key=lambda p: (-p.score, -p.rating, p.name))]
    rank = {name: i for i, name in enumerate(ranking)}
    matching = maximum_matching(ranking, adjacent)
    target = len(matching)
    chosen: list[str] = []
    for player in sorted(eligible, key=lambda p: (p.waiting_since, rank[p.name])):
        if len(chosen) == target:
            break
        if player.name not in matching:
            covering = _matching_covering(ranking, adjacent, [*chosen, player.name])
            if covering is None:
                continue
            matching = maximum_matching(ranking, adjacent, covering)
        chosen.append(player.name)
    chosen.sort(key=rank.__getitem__)

    def just_met(a: str, b: str) -> bool:
        return by_name[a].last_opponent == b or by_name[b].last_opponent == a

    def closest(player: str, unpaired: list[str]) -> list[str]:
        # A rematch allowed after waiting is still the last resort.
        return sorted(unpaired, key=lambda o: (just_met(player, o), abs(rank[o] - rank[player]), rank[o]))

    pairs = pair_in_preference_order(chosen, adjacent, closest)
    assert pairs is not None  # ``chosen`` is covered by a matching of its own players
    return pairs


class _Filler:
    """A placeholder node standing in for 'this player plays nobody' in ``_matching_covering``."""

    def __init__(self, index: int):
        self.index = index


def _matching_covering(nodes: list[str], adjacent, required: list[str]) -> dict[str, str] | None:
    """A matching that pairs every ``required`` node (others optional), or ``None`` if there is none.

    Each optional node may be matched to a filler node instead of a real one; fillers match each other, and their
    count has the parity of the nodes', so a perfect matching of the whole exists exactly when one pairs the
    required nodes.
    """
    required_set = set(required)
    optional = [node for node in nodes if node not in required_set]
    fillers = [_Filler(i) for i in range(len(optional) + (len(optional) + len(nodes)) % 2)]
    optional_set = set(optional)

    def extended(a, b) -> bool:
        if isinstance(a, _Filler) or isinstance(b, _Filler):
            real = b if isinstance(a, _Filler) else a
            return isinstance(real, _Filler) or real in optional_set
        return adjacent(a, b)

    everything = [*nodes, *fillers]
    matching = maximum_matching(everything, extended)
    if len(matching) != len(everything):
        return None
    return {a: b for a, b in matching.items() if isinstance(a, str) and isinstance(b, str)}


def arena_standings(
    entrants: Sequence[Entrant], games: Sequence[ArenaGame], withdrawn: Collection[str] = ()
) -> list[Standing]:
    """The table: score, then points per game (the same score in fewer games first), rating, name. Games count in
    the order they ended."""
    by_name = check_entrants(entrants)
    results: dict[str, list[float]] = {name: [] for name in by_name}
    for game in sorted(games, key=lambda game: game.ended_at):
        for player in (game.first, game.second):
            if player not in by_name:
                raise RulesError("unknown_player", f"{player!r} is not in the arena")
        if game.first == game.second or game.points_first not in (WIN, DRAW, 0.0):
            raise RulesError("bad_result", f"not a game: {game!r}")
        results[game.first].append(game.points_first)
        results[game.second].append(1.0 - game.points_first)
    rows = []
    for name, entrant in by_name.items():
        points, streak = score_sequence(results[name])
        score = sum(points)
        per_game = score / len(points) if points else 0.0
        wins, draws, losses = win_draw_loss(results[name])
        key = (-score, -per_game, -entrant.rating, name)
        rows.append((key, dict(
            player=name, score=score, games=len(points), wins=wins, draws=draws, losses=losses,
            tiebreaks={"points_per_game": per_game}, withdrawn=name in withdrawn,
            streak=streak, on_fire=streak >= FIRE_AFTER_WINS,
        )))
    return ranked(rows)
