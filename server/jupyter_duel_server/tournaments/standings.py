"""What every tournament format shares: entrants, game records, standings rows, and the errors the rules raise.

Results are written from a player's side as chess-style points: 1 a win, 0.5 a draw, 0 a loss. Each format turns
them into its own score (the arena scores 2/1/0 with streaks, see ``arena.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

WIN, DRAW, LOSS = 1.0, 0.5, 0.0
RESULTS = (WIN, DRAW, LOSS)


class RulesError(ValueError):
    """Input the rules refuse; ``code`` is the machine-readable reason the service can pass on."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Entrant:
    """A player of a tournament.

    ``joined_round`` is the first round a Swiss player may be paired in (later than 1 for a late joiner);
    ``withdrawn_from_round`` the first round they are no longer paired in (``None``: still playing).
    """

    name: str
    rating: float = 1500.0
    joined_round: int = 1
    withdrawn_from_round: int | None = None

    def plays_in(self, round_no: int) -> bool:
        """Whether this player is to be paired in round ``round_no``."""
        return self.joined_round <= round_no and (
            self.withdrawn_from_round is None or round_no < self.withdrawn_from_round
        )


@dataclass(frozen=True)
class Game:
    """One player's round: a game, a forfeit, or a bye (``second`` is ``None``).

    ``played`` is false when nobody played: a bye, a no-show, a withdrawal. ``points_second`` defaults to the
    complement of ``points_first`` (a double no-show gives both 0).
    """

    round: int
    first: str
    second: str | None
    points_first: float
    played: bool = True
    points_second: float | None = None

    def __post_init__(self) -> None:
        if self.points_first not in RESULTS or (self.points_second is not None and self.points_second not in RESULTS):
            raise RulesError("bad_result", f"points must be 1, 0.5 or 0: {self!r}")
        if self.second is None and self.played:
            raise RulesError("bad_result", "a bye is never a played game")
        if self.second is not None and self.second == self.first:
            raise RulesError("bad_result", "a player cannot meet themself")
        if self.points_second is None and self.second is not None:
            object.__setattr__(self, "points_second", 1.0 - self.points_first)

    @classmethod
    def result(cls, round_no: int, first: str, second: str, points_first: float) -> Game:
        """A game played to its end (a disconnect loss is an ordinary loss)."""
        return cls(round_no, first, second, points_first)

    @classmethod
    def forfeit(cls, round_no: int, present: str, absent: str) -> Game:
        """``absent`` did not play (no-show, withdrawal): ``present`` wins without a game."""
        return cls(round_no, present, absent, WIN, played=False)

    @classmethod
    def double_forfeit(cls, round_no: int, first: str, second: str) -> Game:
        """Neither player showed up: both lose."""
        return cls(round_no, first, second, LOSS, played=False, points_second=LOSS)

    @classmethod
    def bye(cls, round_no: int, player: str, points: float) -> Game:
        """A round without an opponent."""
        return cls(round_no, player, None, points, played=False)

    def sides(self) -> Iterable[tuple[str, str | None, float]]:
        """(player, opponent, points) for each player in this record."""
        yield self.first, self.second, self.points_first
        if self.second is not None:
            yield self.second, self.first, float(self.points_second)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Standing:
    """One row of a table. ``games`` counts rounds against an opponent (forfeits included, byes not); wins,
    draws and losses split them. ``tiebreaks`` are in the order they were applied. ``streak`` (the arena) is the
    current run of wins, ``on_fire`` whether the next game scores double."""

    rank: int
    player: str
    score: float
    games: int
    wins: int
    draws: int
    losses: int
    tiebreaks: dict[str, float] = field(default_factory=dict)
    withdrawn: bool = False
    streak: int | None = None
    on_fire: bool | None = None


def check_entrants(entrants: Sequence[Entrant]) -> dict[str, Entrant]:
    """The entrants by name; refuses duplicate or empty names and impossible join/withdraw rounds."""
    by_name: dict[str, Entrant] = {}
    for entrant in entrants:
        if not entrant.name:
            raise RulesError("bad_player", "a player needs a name")
        if entrant.joined_round < 1 or (
            entrant.withdrawn_from_round is not None and entrant.withdrawn_from_round < entrant.joined_round
        ):
            raise RulesError("bad_player", f"{entrant.name!r} leaves before joining")
        if entrant.name in by_name:
            raise RulesError("duplicate_player", f"{entrant.name!r} entered twice")
        by_name[entrant.name] = entrant
    return by_name


def check_games(games: Iterable[Game], by_name: dict[str, Entrant]) -> None:
    """Refuses games naming unknown players or giving a player two records in one round."""
    seen: set[tuple[int, str]] = set()
    for game in games:
        for player in (game.first, game.second):
            if player is None:
                continue
            if player not in by_name:
                raise RulesError("unknown_player", f"{player!r} is not in the tournament")
            if (game.round, player) in seen:
                raise RulesError("duplicate_game", f"{player!r} has two records in round {game.round}")
            seen.add((game.round, player))


def win_draw_loss(points: Iterable[float]) -> tuple[int, int, int]:
    """How many of these results are wins, draws and losses."""
    results = list(points)
    return results.count(WIN), results.count(DRAW), results.count(LOSS)


def ranked(rows: list[tuple[tuple, dict]]) -> list[Standing]:
    """Rows sorted by their key (smallest first), numbered from 1."""
    rows.sort(key=lambda row: row[0])
    return [Standing(rank=i + 1, **fields) for i, (_key, fields) in enumerate(rows)]
