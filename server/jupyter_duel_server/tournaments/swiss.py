"""Swiss: a fixed number of rounds, each paired from the scores so far, never the same two players twice.

Scoring: a win 1, a draw ½, a loss 0; a bye 1; a no-show loses by forfeit (0, the opponent 1, nobody played); a
late joiner gets ½ for each round missed. The rules in prose, with the tie-breaks, are in ``docs/tournaments.md``.

Pairing a round (``pair_swiss_round``):

1. The players of the round are ranked by score, then rating, then name.
2. With an odd count, the bye goes to the lowest-ranked player who has not had one yet and without whom the others
   can all be paired without a rematch.
3. From the top, each unpaired player meets, within its score group (the unpaired players on its score), the
   player half the group below it: the top half meets the bottom half in order. Failing that, the next player of
   the bottom half, then of the top half going up; a player left over in its group floats down and meets the
   highest-ranked player of the groups below that it can.
4. A choice is kept only if everybody left can still be paired without a rematch (a maximum matching search), so a
   round with no rematch is found whenever one exists. Only when none exists (more rounds than the players allow,
   withdrawals) are rematches allowed, fewest repeats first; the round then says so (``rematches``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .matching import has_perfect_matching, pair_in_preference_order
from .standings import (
    WIN, DRAW, Entrant, Game, RulesError, Standing, check_entrants, check_games, ranked, win_draw_loss,
)

BYE_POINTS = WIN
MISSED_ROUND_POINTS = DRAW
UNPLAYED_ROUND_FOR_TIEBREAKS = DRAW


@dataclass(frozen=True)
class SwissRound:
    """The pairings of one round: ``pairs`` (higher-ranked player first), the ``bye`` and whether rematches were
    unavoidable."""

    round: int
    pairs: list[tuple[str, str]]
    bye: str | None
    rematches: bool = False


def swiss_scores(entrants: Sequence[Entrant], games: Sequence[Game]) -> dict[str, float]:
    """Each player's score: the points of their records plus ½ per round missed before joining."""
    by_name = check_entrants(entrants)
    check_games(games, by_name)
    scores = {name: MISSED_ROUND_POINTS * (entrant.joined_round - 1) for name, entrant in by_name.items()}
    for game in games:
        for player, _opponent, points in game.sides():
            scores[player] += points
    return scores


def pair_swiss_round(entrants: Sequence[Entrant], games: Sequence[Game], round_no: int) -> SwissRound:
    """The pairings of round ``round_no`` given every record of the rounds before it."""
    by_name = check_entrants(entrants)
    check_games(games, by_name)
    if round_no < 1 or any(game.round >= round_no for game in games):
        raise RulesError("bad_round", f"round {round_no} is not after the rounds recorded")
    scores = swiss_scores(entrants, games)
    players = sorted(
        (entrant for entrant in entrants if entrant.plays_in(round_no)),
        key=lambda entrant: (-scores[entrant.name], -entrant.rating, entrant.name),
    )
    order = [entrant.name for entrant in players]
    if len(order) < 2:
        raise RulesError("too_few_players", "a round needs two players")
    met = Counter(frozenset((game.first, game.second)) for game in games if game.played)
    had_bye = {game.first for game in games if game.second is None}

    def new_pair(a: str, b: str) -> bool:
        return frozenset((a, b)) not in met

    bye = None
    rematches = False
    if len(order) % 2:
        bye = _choose_bye(order, had_bye, new_pair)
        if bye is None:
            rematches = True
            bye = next((name for name in reversed(order) if name not in had_bye), order[-1])
        order.remove(bye)

    def candidates(player: str, unpaired: list[str]) -> list[str]:
        rest = [name for name in order if name in unpaired]  # ranking order
        group = [player] + [name for name in rest if scores[name] == scores[player]]
        if len(group) == 1:  # floating down: the top of the groups below first
            preferred = rest
        else:
            half = len(group) // 2
            preferred = group[half:] + group[half - 1:0:-1]
            preferred += [name for name in rest if name not in preferred]
        if rematches:  # fewest meetings first, the usual order inside each count
            preferred.sort(key=lambda name: met[frozenset((player, name))])
        return preferred

    pairs = None if rematches else pair_in_preference_order(order, new_pair, candidates)
    if pairs is None:
        rematches = True
        pairs = pair_in_preference_order(order, lambda a, b: True, candidates)
    assert pairs is not None  # the complete graph on an even count always pairs
    return SwissRound(round_no, pairs, bye, rematches)


def _choose_bye(order: list[str], had_bye: set[str], new_pair) -> str | None:
    """The lowest-ranked player who may take the bye: first among those without one, then anyone; ``None`` if no
    bye leaves a round without rematches."""
    for allowed in (lambda name: name not in had_bye, lambda name: True):
        for name in reversed(order):
            if allowed(name) and has_perfect_matching([other for other in order if other != name], new_pair):
                return name
    return None


def swiss_standings(entrants: Sequence[Entrant], games: Sequence[Game], rounds: int | None = None) -> list[Standing]:
    """The table after ``rounds`` rounds (by default the last round recorded).

    Order: score, Buchholz, Sonneborn–Berger, rating, name. For both tie-breaks an opponent counts with their
    *adjusted* score: every round they did not play (bye, forfeit either way, missed before joining, after
    withdrawing) counts as ½. A round a player did not play counts as a game against a virtual opponent with the
    player's own adjusted score. Buchholz adds the opponents' adjusted scores; Sonneborn–Berger adds each
    opponent's adjusted score times the points scored against them.
    """
    by_name = check_entrants(entrants)
    scores = swiss_scores(entrants, games)
    completed = rounds if rounds is not None else max((game.round for game in games), default=0)
    played: dict[str, list[tuple[str, float]]] = {name: [] for name in by_name}
    unplayed_points = {name: MISSED_ROUND_POINTS * (e.joined_round - 1) for name, e in by_name.items()}
    opponents: dict[str, list[float]] = {name: [] for name in by_name}
    for game in games:
        for player, opponent, points in game.sides():
            if game.played:
                played[player].append((opponent, points))  # type: ignore[arg-type]
            else:
                unplayed_points[player] += points
            if opponent is not None:
                opponents[player].append(points)
    adjusted = {
        name: sum(points for _o, points in games_of)
        + UNPLAYED_ROUND_FOR_TIEBREAKS * (completed - len(games_of))
        for name, games_of in played.items()
    }
    rows = []
    for name, entrant in by_name.items():
        unplayed = completed - len(played[name])
        buchholz = sum(adjusted[opponent] for opponent, _p in played[name]) + unplayed * adjusted[name]
        sonneborn_berger = (
            sum(points * adjusted[opponent] for opponent, points in played[name])
            + unplayed_points[name] * adjusted[name]
        )
        wins, draws, losses = win_draw_loss(opponents[name])
        key = (-scores[name], -buchholz, -sonneborn_berger, -entrant.rating, name)
        rows.append((key, dict(
            player=name, score=scores[name], games=len(opponents[name]), wins=wins, draws=draws, losses=losses,
            tiebreaks={"buchholz": buchholz, "sonneborn_berger": sonneborn_berger},
            withdrawn=entrant.withdrawn_from_round is not None,
        )))
    return ranked(rows)
