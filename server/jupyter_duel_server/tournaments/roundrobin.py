"""Round robin: everyone meets everyone once, on a schedule fixed before the first game (the circle method).

Scoring: a win 1, a draw ½, a loss 0. With an odd number of players each round has one bye, which scores nothing
since every player gets exactly one. A player who withdraws keeps the games already played; each game they had
left is a forfeit: their opponent wins it without playing. Ties: Sonneborn–Berger, then wins, then rating, then
name (``docs/tournaments.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .standings import Entrant, Game, RulesError, Standing, check_entrants, check_games, ranked, win_draw_loss

Round = list[tuple[str, str | None]]


def round_robin_schedule(players: Sequence[str]) -> list[Round]:
    """Every round up front: ``n - 1`` rounds of pairs (``n`` rounds with one ``(player, None)`` bye each if odd).

    The circle method: the first seat stays put while the others turn one seat each round, so every pair meets
    exactly once. Players are listed in seeding order.
    """
    names = list(players)
    if len(set(names)) != len(names):
        raise RulesError("duplicate_player", "a player is listed twice")
    if len(names) < 2:
        raise RulesError("too_few_players", "a round robin needs two players")
    seats: list[str | None] = [*names, None] if len(names) % 2 else list(names)
    count = len(seats)
    rounds: list[Round] = []
    for _ in range(count - 1):
        pairs: Round = []
        for i in range(count // 2):
            a, b = seats[i], seats[count - 1 - i]
            if a is None:
                a, b = b, a
            pairs.append((a, b))  # type: ignore[arg-type]
        rounds.append(pairs)
        seats = [seats[0], seats[-1], *seats[1:-1]]
    return rounds


def round_robin_withdrawal(schedule: Sequence[Round], games: Sequence[Game], player: str) -> list[Game]:
    """The forfeits that close a withdrawn ``player``'s schedule: every scheduled game of theirs without a record."""
    recorded = {(game.round, frozenset((game.first, game.second))) for game in games}
    forfeits = []
    for round_index, pairs in enumerate(schedule, start=1):
        for a, b in pairs:
            if b is None or player not in (a, b):
                continue
            if (round_index, frozenset((a, b))) not in recorded:
                forfeits.append(Game.forfeit(round_index, b if a == player else a, player))
    return forfeits


def round_robin_standings(entrants: Sequence[Entrant], games: Sequence[Game]) -> list[Standing]:
    """The table: score, then Sonneborn–Berger (points won against each opponent × that opponent's score, summed;
    a draw counts half), then wins, rating and name. Forfeits count as the result they give."""
    by_name = check_entrants(entrants)
    check_games(games, by_name)
    results: dict[str, list[tuple[str, float]]] = {name: [] for name in by_name}
    for game in games:
        for player, opponent, points in game.sides():
            if opponent is not None:
                results[player].append((opponent, points))
    scores = {name: sum(points for _opponent, points in rows) for name, rows in results.items()}
    rows = []
    for name, entrant in by_name.items():
        sonneborn_berger = sum(points * scores[opponent] for opponent, points in results[name])
        wins, draws, losses = win_draw_loss(points for _opponent, points in results[name])
        key = (-scores[name], -sonneborn_berger, -wins, -entrant.rating, name)
        rows.append((key, dict(
            player=name, score=scores[name], games=len(results[name]), wins=wins, draws=draws, losses=losses,
            tiebreaks={"sonneborn_berger": sonneborn_berger}, withdrawn=entrant.withdrawn_from_round is not None,
        )))
    return ranked(rows)
