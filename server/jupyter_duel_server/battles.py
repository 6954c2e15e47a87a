"""The battle rules: a running battle's state and how it ends (``docs/rules.md`` says the same in prose).

A battle has two seats and starts after a countdown. It is won by the first submission that passes every test;
at the time limit the seat with more tests passed by its best submission wins, equal counts are a draw; a
forfeit loses; a player gone longer than the grace period loses (both gone: aborted, without rating change). A
forfeit or a disconnect loss before anybody submitted is unrated. The state here is pure data and decisions: sending events,
timers and the store are the service's job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fairplay import inserted_chars
from .protocol import SyncCode, apply_delta

if TYPE_CHECKING:
    from .challenges import Challenge
    from .mirror import DelayedFeed
    from .protocol import SubmissionResult, TestResult
    from .store import Profile


class SyncRefused(Exception):
    """A ``sync_code`` that does not follow the seat's previous one; carries the protocol error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Seat:
    """One player's side of a battle."""

    profile: "Profile"
    bot: bool = False
    code: str = ""
    seq: int = 0
    judging: bool = False
    best_passed: int = 0
    submissions: int = 0
    connected: bool = True
    gone_since: float | None = None
    tab: str | None = None  # the connection that plays this seat; None until one claims it
    last_tests: list["TestResult"] = field(default_factory=list)  # the latest run, as its author saw it
    results: list["SubmissionResult"] = field(default_factory=list)  # every finished run, oldest first
    pastes: list[tuple[float, int]] = field(default_factory=list)  # (seconds into the battle, characters)
    delayed: "DelayedFeed | None" = None  # in the delayed mirror: the edits not yet shown to the opponent
    shape_due: bool = False  # in the shape mirror: an outline is about to be sent
    timeline: list[list] = field(default_factory=list)  # [seconds into the battle, seq, delta, text] per edit
    flushed: tuple = ()  # what the store holds of this seat (BattleRoom.flush): skip it while unchanged
    flushed_edits: int = 0  # how many timeline rows the store holds
    # last_tests as the store writes them, with the (last run, count) it was made for: made once per result,
    # not at every flush while the player types
    last_tests_json: tuple = ((None, 0), [])

    @property
    def name(self) -> str:
        return self.profile.name

    def apply_sync(self, msg: SyncCode, max_bytes: int) -> int:
        """Apply a ``sync_code`` to this seat's copy of the code, or raise SyncRefused and change nothing.
        Returns how many characters the edit added (a paste's size, for the fair-play signals)."""
        if msg.text is not None:
            if msg.seq <= self.seq:
                raise SyncRefused("out_of_sync", f"seq {msg.seq} is not after {self.seq}")
            new_text = msg.text
        else:
            if msg.seq != self.seq + 1:
                raise SyncRefused("out_of_sync", f"expected seq {self.seq + 1}, got {msg.seq}")
            try:
                new_text = apply_delta(self.code, msg.delta or [])
            except ValueError as exc:
                raise SyncRefused("out_of_sync", f"the delta does not fit the text: {exc}") from None
        if len(new_text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise SyncRefused("code_too_large", f"the code is over {max_bytes} bytes")
        added = inserted_chars(msg.delta) if msg.text is None else len(new_text) - len(self.code)
        self.code, self.seq = new_text, msg.seq
        return added


@dataclass
class Outcome:
    winner: str | None
    reason: str  # solved | forfeit | time_limit | disconnect | aborted
    rated: bool = True  # False: ratings stay as they were, even in a ranked battle (see ``unrated_end``)


@dataclass
class BattleState:
    id: str
    challenge: "Challenge"
    seats: tuple[Seat, Seat]
    ranked: bool
    time_limit_s: int
    started_at: float = field(default_factory=time.time)  # when the clock starts (after the countdown)
    outcome: Outcome | None = None
    mirror: str = "live"  # mirror.MODES: what each player sees of the other's code
    note: str | None = None  # why an instructor aborted it
    spectators: set[str] = field(default_factory=set)  # sids of instructors watching it at full fidelity
    results: list["SubmissionResult"] = field(default_factory=list)  # every finished run, as spectators see it
    tournament_id: str | None = None  # the tournament this battle is a game of

    @property
    def over(self) -> bool:
        return self.outcome is not None

    @property
    def names(self) -> tuple[str, str]:
        return self.seats[0].name, self.seats[1].name

    @property
    def deadline(self) -> float:
        return self.started_at + self.time_limit_s

    def started(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.started_at

    def seat(self, name: str) -> Seat | None:
        for seat in self.seats:
            if seat.name == name:
                return seat
        return None

    def opponent(self, name: str) -> Seat:
        a, b = self.seats
        return b if a.name == name else a

    # -------------------------------------------------------- rules

    def on_submission(self, name: str, passed: int, total: int) -> Outcome | None:
        """Record a judged submission; the battle ends when it passed every test."""
        seat = self.seat(name)
        seat.submissions += 1
        seat.best_passed = max(seat.best_passed, passed)
        if self.outcome is None and total > 0 and passed == total:
            self.outcome = Outcome(name, "solved")
            return self.outcome
        return None

    def nobody_submitted(self) -> bool:
        return all(s.submissions == 0 for s in self.seats)

    def on_forfeit(self, name: str) -> Outcome:
        """``name`` gives up and loses; before anybody submitted (the countdown included) nothing is rated, so a
        string of throwaway accounts forfeiting at once cannot feed anyone's rating."""
        self.outcome = Outcome(self.opponent(name).name, "forfeit", rated=not self.nobody_submitted())
        return self.outcome

    def on_time_limit(self) -> Outcome:
        a, b = self.seats
        if a.best_passed == b.best_passed:
            winner = None
        else:
            winner = a.name if a.best_passed > b.best_passed else b.name
        self.outcome = Outcome(winner, "time_limit")
        return self.outcome

    def on_grace_expired(self, name: str) -> Outcome:
        """``name`` stayed away for the whole grace period and loses, whether or not anybody submitted (leaving
        is no free way to refuse an opponent); before anybody submitted it is unrated, like a forfeit. When
        both are gone the battle is aborted."""
        other = self.opponent(name)
        if not other.connected:
            self.outcome = Outcome(None, "aborted")
        else:
            self.outcome = Outcome(other.name, "disconnect", rated=not self.nobody_submitted())
        return self.outcome

    def on_abort(self) -> Outcome:
        self.outcome = Outcome(None, "aborted")
        return self.outcome

    def score_of_first(self) -> float:
        """The first seat's score for the rating update: 1 win, 0.5 draw, 0 loss."""
        winner = self.outcome.winner if self.outcome else None
        if winner is None:
            return 0.5
        return 1.0 if winner == self.seats[0].name else 0.0


def dodge_cooldown(exits: list[float], now: float, base_s: float, max_s: float) -> float:
    """Seconds before a player may queue again, given when (oldest first) they left battles early in the last
    day: the first early exit is free, the second costs ``base_s``, each further one doubles it, up to ``max_s``,
    counted from the latest exit."""
    if base_s <= 0 or len(exits) < 2:
        return 0.0
    cooldown = min(base_s * 2 ** (len(exits) - 2), max_s)
    return max(0.0, exits[-1] + cooldown - now)
