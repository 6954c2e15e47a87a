"""The tournament room: round robins, Swiss tournaments and arenas run on top of ordinary battles.

An instructor creates a tournament (REST), players join it (``join_tournament``), the instructor starts it. Every
game is a battle the battle room opens, records and announces like any other (``BattleRoom.open/record/announce``)
with the tournament's id on it, its challenge chosen by the tournament, rated as the organiser chose. The battle
room tells this room when any battle ends (``BattleRoom.battle_over``): the game is recorded, and then

- an arena pairs its free players at once (``tournaments.pair_arena``): no tick, so a player waits for the next
  game to end at most (and, for an immediate rematch, ``DuelService.tournament_rematch_after_s``);
- a Swiss or round robin pairs its next round when the round is over, after ``tournament_round_break_s``.

A player absent at a round's pairing (not connected, or playing another battle) loses that game by forfeit (a
no-show); both absent: both lose. The rules are the pure functions of ``tournaments/``; the prose is
``docs/tournaments.md``. Every change bumps the tournament's ``version``: it is stored (``Store.save_tournament``),
long-polling readers of the view are answered, and entrants get ``tournament_state`` (at most every
``tournament_state_interval_s``). A restarted service restores every tournament (``restore``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Literal

import nbformat
from nbformat import v4
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from . import protocol
from .auth import display_name
from .classroom import _cell
from .notebook import _cell_text, _inline, battle_notebook
from .protocol import ServiceError
from .events import _describe
from .tournaments import (
    ArenaGame, Entrant, FreePlayer, Game, RulesError, arena_standings, pair_arena, pair_swiss_round,
    round_robin_schedule, round_robin_standings, swiss_standings,
)
from .tournaments.swiss import BYE_POINTS

if TYPE_CHECKING:
    from .accounts import Accounts
    from .battleroom import BattleRoom
    from .battles import BattleState
    from .challenges import Challenge, ChallengeLibrary
    from .lobby import Lobby
    from .service import DuelService
    from .store import Profile, Store

FORMATS = ("arena", "swiss", "round_robin")

#: Finished arena games listed in ``pairings`` besides the running ones.
RECENT_ARENA_GAMES = 20

_Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
_Id = Annotated[StrictStr, Field(min_length=1, max_length=128)]


class CreateTournament(BaseModel):
    """The body of ``POST api/tournaments``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: _Name
    format: Literal["arena", "swiss", "round_robin"]
    rated: StrictBool = False
    pack: _Id | None = None
    challenges: Annotated[list[_Id], Field(min_length=1, max_length=500)] | None = None
    same_challenge_per_round: StrictBool = True
    difficulty: Literal["easy", "medium", "hard", "any"] = "any"
    duration_s: Annotated[StrictInt, Field(ge=10, le=7 * 24 * 3600)] | None = None
    rounds: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    time_limit_s: Annotated[StrictInt, Field(ge=5, le=24 * 3600)] | None = None


@dataclass
class TournamentEntrant:
    name: str
    user_id: int
    rating: float  # at joining: the seeding
    position: int  # order of joining
    joined_at: float
    status: str = "active"  # active | paused | withdrawn
    joined_round: int = 1
    withdrawn_from_round: int | None = None
    waiting_since: float = 0.0  # arena: when this player became free (game end, join, unpause, reconnection)
    last_opponent: str | None = None


@dataclass
class TournamentGame:
    number: int
    round: int
    first: str
    second: str | None
    status: str  # pending | playing | finished | bye | forfeit
    battle_id: str | None = None
    challenge_id: str | None = None
    points_first: float | None = None
    points_second: float | None = None
    winner: str | None = None
    reason: str | None = None
    progress: dict[str, list[int]] = field(default_factory=dict)  # name -> [best passed, total tests]
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def done(self) -> bool:
        return self.status in ("finished", "bye", "forfeit")

    def record(self, winner: str | None, reason: str, ended_at: float) -> None:
        """The battle of this game ended: a win 1–0, a draw ½–½, an aborted battle 0–0 (nobody earned it)."""
        self.status, self.winner, self.reason, self.ended_at = "finished", winner, reason, ended_at
        if reason == "aborted":
            self.points_first = self.points_second = 0.0
        elif winner is None:
            self.points_first = self.points_second = 0.5
        else:
            self.points_first = 1.0 if winner == self.first else 0.0
            self.points_second = 1.0 - self.points_first

    def rules_game(self) -> Game:
        """This finished game as the Swiss and round robin rules record it."""
        if self.second is None:
            return Game.bye(self.round, self.first, self.points_first)
        played = self.status == "finished" and self.reason != "aborted"
        return Game(self.round, self.first, self.second, self.points_first, played=played,
                    points_second=self.points_second)


@dataclass
class Tournament:
    id: str
    name: str
    format: str
    rated: bool
    pack: str | None
    challenges: list[str] | None
    same_challenge_per_round: bool
    difficulty: str
    duration_s: int | None
    rounds: int | None
    time_limit_s: int | None
    created_at: float
    created_by: str | None = None
    status: str = "open"
    ending: bool = False  # ended by the instructor or the arena's clock: no new game, running ones play on
    round: int = 0
    version: int = 1
    starts_at: float | None = None
    ends_at: float | None = None
    entrants: dict[str, TournamentEntrant] = field(default_factory=dict)
    games: list[TournamentGame] = field(default_factory=list)
    round_challenges: dict[int, str] = field(default_factory=dict)
    schedule: list | None = None  # round robin: every round's pairs, fixed at the start
    by_battle: dict[str, TournamentGame] = field(default_factory=dict)
    # Not stored: what is due to be written, sent and answered.
    dirty_entrants: set[str] = field(default_factory=set)
    dirty_games: set[int] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    state_due: bool = False
    state_sent_at: float = 0.0
    state_gap: float = 0.0  # seconds until the next tournament_state may go: longer for a larger view
    view_cache: tuple[int, protocol.TournamentView] | None = None
    saving: asyncio.Future | None = None  # the write under way (TournamentRoom._save)
    saved_version: int = 0  # the version the store holds
    pairing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def playing(self) -> list[TournamentGame]:
        return [g for g in self.games if g.status in ("playing", "pending")]

    def row(self) -> dict:
        state = {"round_challenges": {str(k): v for k, v in self.round_challenges.items()},
                 "schedule": self.schedule, "created_by": self.created_by}
        return dict(id=self.id, name=self.name, format=self.format, status=self.status, ending=self.ending,
                    rated=self.rated, pack=self.pack,
                    challenges=json.dumps(self.challenges) if self.challenges is not None else None,
                    same_challenge_per_round=self.same_challenge_per_round, difficulty=self.difficulty,
                    duration_s=self.duration_s, rounds=self.rounds, time_limit_s=self.time_limit_s, round=self.round,
                    version=self.version, created_at=self.created_at, starts_at=self.starts_at, ends_at=self.ends_at,
                    state=json.dumps(state))


class TournamentRoom:
    """Every tournament: entrants, pairing, recording games, the views and exports."""

    def __init__(self, service: "DuelService", store: "Store", challenges: "ChallengeLibrary",
                 battles: "BattleRoom", lobby: "Lobby", accounts: "Accounts"):
        self.service, self.store, self.challenges = service, store, challenges
        self.battles, self.lobby, self.accounts = battles, lobby, accounts
        self.log = service.log
        self.tournaments: dict[str, Tournament] = {}
        self._rng = random.Random()
        self._list_due = False
        self._list_sent_at = 0.0
        # Entrants' profiles, read at joining and after each of their battles: pairing reads no database.
        self._profiles: dict[str, "Profile"] = {}
        battles.battle_over = self.battle_over
        battles.progress = self.progress
        accounts.came_online = self.came_online

    # ------------------------------------------------------------ lookups and views

    def get(self, tournament_id: str) -> Tournament:
        t = self.tournaments.get(tournament_id)
        if t is None:
            raise ServiceError("unknown_tournament", "no tournament has this id")
        return t

    def summaries(self) -> list[protocol.TournamentSummary]:
        """Every tournament, newest first."""
        return [self.summary(t) for t in sorted(self.tournaments.values(), key=lambda t: -t.created_at)]

    def summary(self, t: Tournament) -> protocol.TournamentSummary:
        return protocol.TournamentSummary(**self._summary_fields(t))

    def _summary_fields(self, t: Tournament) -> dict:
        return dict(id=t.id, name=t.name, format=t.format, status=t.status, ending=t.ending, rated=t.rated,
                    players=sum(e.status != "withdrawn" for e in t.entrants.values()), round=t.round,
                    rounds=t.rounds, starts_at=t.starts_at, ends_at=t.ends_at, version=t.version)

    def view(self, t: Tournament) -> protocol.TournamentView:
        """The whole tournament (built once per version)."""
        if t.view_cache is not None and t.view_cache[0] == t.version:
            return t.view_cache[1].model_copy(update={"server_time": time.time()})
        entrants = []
        for e in t.entrants.values():
            battle_id = self.battles.battle_id_of(e.name)
            game = t.by_battle.get(battle_id or "")
            entrants.append(protocol.TournamentEntrant(
                name=e.name, display_name=display_name(e.name), rating=round(e.rating, 1), status=e.status,
                battle_id=battle_id if game is not None and game.status == "playing" else None))
        if t.format == "arena":
            pairings = t.playing() + sorted((g for g in t.games if g.done), key=_ended)[-RECENT_ARENA_GAMES:]
        else:
            pairings = [g for g in t.games if g.round == t.round]
        view = protocol.TournamentView(
            **self._summary_fields(t), created_at=t.created_at, pack=t.pack, difficulty=t.difficulty,
            duration_s=t.duration_s, server_time=time.time(), entrants=entrants, standings=self._standings(t),
            pairings=[self._game_view(g) for g in pairings],
            games=[self._game_view(g) for g in sorted((g for g in t.games if g.done), key=_ended)],
        )
        t.view_cache = (t.version, view)
        return view

    @staticmethod
    def _game_view(g: TournamentGame) -> protocol.TournamentGame:
        return protocol.TournamentGame(
            round=g.round, first=g.first, second=g.second, battle_id=g.battle_id, status=g.status,
            points_first=g.points_first, points_second=g.points_second, winner=g.winner, reason=g.reason,
            progress={n: protocol.GameProgress(passed=p[0], total=p[1]) for n, p in g.progress.items()})

    def _rules_entrants(self, t: Tournament) -> list[Entrant]:
        return [Entrant(e.name, e.rating, e.joined_round,
                        max(e.withdrawn_from_round, e.joined_round) if e.withdrawn_from_round is not None else None)
                for e in t.entrants.values()]

    def _standings(self, t: Tournament) -> list[protocol.TournamentStanding]:
        withdrawn = {e.name for e in t.entrants.values() if e.status == "withdrawn"}
        done = [g for g in t.games if g.done]
        if t.format == "arena":
            rows = arena_standings(
                [Entrant(e.name, e.rating) for e in t.entrants.values()],
                [ArenaGame(g.first, g.second, g.points_first, _ended(g)) for g in done
                 if g.second is not None and g.reason != "aborted"],
                withdrawn)
        elif t.format == "swiss":
            rows = swiss_standings(self._rules_entrants(t), [g.rules_game() for g in done])
        else:
            rows = round_robin_standings(self._rules_entrants(t), [g.rules_game() for g in done])
        return [protocol.TournamentStanding(
            rank=r.rank, name=r.player, display_name=display_name(r.player), score=r.score, games=r.games,
            wins=r.wins, draws=r.draws, losses=r.losses,
            tiebreaks={k: round(v, 3) for k, v in r.tiebreaks.items() if k in ("buchholz", "sonneborn_berger")},
            on_fire=bool(r.on_fire), withdrawn=r.player in withdrawn or r.withdrawn) for r in rows]

    async def wait_change(self, t: Tournament, version: int, wait_s: float) -> None:
        """Return once ``t.version`` is over ``version``, or after ``wait_s`` seconds."""
        deadline = time.monotonic() + wait_s
        while t.version <= version:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(t.changed.wait(), remaining)
            except asyncio.TimeoutError:
                return

    # ------------------------------------------------------------ changes: stored, answered, sent

    def _touch(self, t: Tournament, listed: bool = False) -> None:
        """``t`` changed: a new version, written to the store soon, long-polls answered, ``tournament_state`` due
        to the entrants; ``listed``: the list's summary changed too."""
        t.version += 1
        if t.saving is None:
            t.saving = asyncio.ensure_future(self._save(t))
        t.changed.set()
        t.changed = asyncio.Event()
        self._state_due(t)
        if listed:
            self._list_due_now()

    async def _save(self, t: Tournament) -> None:
        """Write ``t`` until the store holds its latest version: one write at a time per tournament, a burst of
        changes in one (what changes while a write runs goes in the next)."""
        try:
            while t.saved_version < t.version:
                version = t.version
                entrants = [dict(user_id=e.user_id, position=e.position, rating=e.rating, status=e.status,
                                 joined_round=e.joined_round, withdrawn_from_round=e.withdrawn_from_round,
                                 joined_at=e.joined_at)
                            for name, e in t.entrants.items() if name in t.dirty_entrants]
                games = [self._game_row(t, g) for g in t.games if g.number in t.dirty_games]
                written = (set(t.dirty_entrants), set(t.dirty_games))
                t.dirty_entrants.clear()
                t.dirty_games.clear()
                try:
                    await asyncio.shield(self.service.db(self.store.save_tournament, t.row(), entrants, games,
                                                         after=f"tournament/{t.id}"))
                except Exception:  # written again with the next change
                    self.log.exception("jupyter-duel: tournament %s could not be stored", t.id)
                    t.dirty_entrants.update(written[0])
                    t.dirty_games.update(written[1])
                    return
                t.saved_version = version
        finally:
            t.saving = None

    async def flush(self) -> None:
        """Wait for the tournaments' writes under way (a clean stop loses no change)."""
        pending = [t.saving for t in self.tournaments.values() if t.saving is not None]
        if pending:
            await asyncio.wait(pending, timeout=30)

    def _game_row(self, t: Tournament, g: TournamentGame) -> dict:
        ids = {e.name: e.user_id for e in t.entrants.values()}
        return dict(number=g.number, round=g.round, first_id=ids[g.first],
                    second_id=ids[g.second] if g.second is not None else None, battle_id=g.battle_id,
                    challenge_id=g.challenge_id, status=g.status, points_first=g.points_first,
                    points_second=g.points_second, winner_id=ids[g.winner] if g.winner else None, reason=g.reason,
                    progress=json.dumps(g.progress), started_at=g.started_at, ended_at=g.ended_at)

    def _state_due(self, t: Tournament) -> None:
        if t.state_due:
            return
        t.state_due = True
        gap = max(self.service.tournament_state_interval_s, t.state_gap)
        delay = max(0.0, t.state_sent_at + gap - time.monotonic())
        asyncio.get_running_loop().call_later(delay, lambda: self.service.spawn(self._send_state(t)))

    async def _send_state(self, t: Tournament) -> None:
        t.state_due = False
        t.state_sent_at = time.monotonic()
        payload = protocol.TournamentState(tournament=self.view(t))
        size = await self.service.emit_to_players("tournament_state", payload, list(t.entrants))
        # A long tournament's view grows with its games: sent less often, so that what each entrant receives
        # stays within tournament_state_bytes_per_s (a slow connection is never flooded past its send buffer).
        budget = self.service.tournament_state_bytes_per_s
        t.state_gap = size / budget if budget > 0 else 0.0

    def _list_due_now(self) -> None:
        if self._list_due:
            return
        self._list_due = True
        delay = max(0.0, self._list_sent_at + self.service.tournament_state_interval_s - time.monotonic())
        asyncio.get_running_loop().call_later(delay, lambda: self.service.spawn(self._send_list()))

    async def _send_list(self) -> None:
        self._list_due = False
        self._list_sent_at = time.monotonic()
        await self.service.broadcast("tournaments", protocol.Tournaments(tournaments=self.summaries()))

    # ------------------------------------------------------------ the organiser (REST, instructors)

    def create(self, body: object, created_by: str | None) -> Tournament:
        """A new open tournament from ``POST api/tournaments``'s body; ServiceError for a bad one."""
        try:
            spec = CreateTournament.model_validate(body)
        except ValidationError as exc:
            raise ServiceError("invalid_payload", _describe(exc)) from None
        if spec.format == "arena" and spec.duration_s is None:
            raise ServiceError("invalid_payload", "an arena needs duration_s")
        if spec.format == "swiss" and spec.rounds is None:
            raise ServiceError("invalid_payload", "a Swiss tournament needs rounds")
        if spec.pack is not None and spec.pack not in self.challenges.packs:
            raise ServiceError("unknown_pack", "no loaded pack has this name")
        for challenge_id in spec.challenges or ():
            if challenge_id not in self.challenges:
                raise ServiceError("unknown_challenge", f"no loaded challenge has the id {protocol.clip(challenge_id)!r}")
        t = Tournament(
            id=uuid.uuid4().hex[:12], name=spec.name, format=spec.format, rated=spec.rated, pack=spec.pack,
            challenges=list(dict.fromkeys(spec.challenges)) if spec.challenges else None,
            same_challenge_per_round=spec.same_challenge_per_round, difficulty=spec.difficulty,
            duration_s=spec.duration_s if spec.format == "arena" else None,
            rounds=spec.rounds if spec.format == "swiss" else None, time_limit_s=spec.time_limit_s,
            created_at=time.time(), created_by=created_by)
        if spec.challenges:
            pool = [self.challenges.get(c) for c in spec.challenges]
        else:
            packs = {spec.pack} if spec.pack else set(self.service.packs)
            pool = [c for c in self.challenges.all() if not packs or c.pack in packs]
        if not any(spec.difficulty in ("any", c.difficulty) for c in pool):
            raise ServiceError("empty_pool", f"no challenge of difficulty {spec.difficulty!r} is in the choice")
        self.tournaments[t.id] = t
        self._touch(t, listed=True)
        self.log.info("jupyter-duel: tournament %s (%s, %s) created", t.id, t.name, t.format)
        return t

    async def start(self, tournament_id: str) -> Tournament:
        t = self.get(tournament_id)
        if t.status != "open":
            raise ServiceError("tournament_state", f"the tournament is {t.status}: only an open one starts")
        active = [e.name for e in t.entrants.values() if e.status != "withdrawn"]
        if t.format != "arena" and len(active) < 2:
            raise ServiceError("tournament_state", "a round robin or a Swiss needs two players to start")
        now = time.time()
        t.status, t.starts_at = "running", now
        if t.format == "arena":
            t.round = 1
            t.ends_at = now + t.duration_s
            for e in t.entrants.values():
                e.waiting_since = now
            self.service.later(f"tournament/{t.id}", t.duration_s, self._arena_time_up, t.id)
        elif t.format == "round_robin":
            t.schedule = [[list(p) for p in r] for r in round_robin_schedule(active)]
            t.rounds = len(t.schedule)
        self._touch(t, listed=True)
        self.log.info("jupyter-duel: tournament %s started with %d players", t.id, len(active))
        await self._pair(t)
        return t

    async def pause(self, tournament_id: str) -> Tournament:
        t = self.get(tournament_id)
        if t.status != "running":
            raise ServiceError("tournament_state", f"the tournament is {t.status}: only a running one pauses")
        t.status = "paused"
        self._touch(t, listed=True)
        return t

    async def resume(self, tournament_id: str) -> Tournament:
        t = self.get(tournament_id)
        if t.status != "paused":
            raise ServiceError("tournament_state", f"the tournament is {t.status}: only a paused one resumes")
        t.status = "running"
        self._touch(t, listed=True)
        await self._after_game(t)
        return t

    async def next_round(self, tournament_id: str) -> Tournament:
        """Pair the next round of a Swiss or round robin now (running or paused), once the current one is over."""
        t = self.get(tournament_id)
        if t.format == "arena":
            raise ServiceError("tournament_state", "an arena has no rounds: players are paired as they are free")
        if t.status not in ("running", "paused") or t.ending:
            raise ServiceError("tournament_state", f"the tournament is {'ending' if t.ending else t.status}")
        if t.playing():
            raise ServiceError("tournament_state", f"round {t.round} is still being played")
        if t.round >= (t.rounds or 0):
            raise ServiceError("tournament_state", "every round has been played")
        self.service.cancel(f"tournament/{t.id}")
        await self._pair(t, force=True)
        return t

    async def end(self, tournament_id: str, abort_games: bool = False) -> Tournament:
        """No new game from now on; finished when the last running game ends (at once with ``abort_games``:
        the running games are aborted)."""
        t = self.get(tournament_id)
        if t.status == "finished":
            raise ServiceError("tournament_state", "the tournament has finished already")
        if t.ending and not abort_games:
            raise ServiceError("tournament_state", "the tournament is ending already")
        t.ending = True
        self.service.cancel(f"tournament/{t.id}")
        self._touch(t, listed=True)
        if abort_games:
            for game in t.playing():
                if game.battle_id in self.battles.running:
                    try:
                        await self.battles.abort(game.battle_id, "the tournament was ended")
                    except ServiceError:  # it ended meanwhile, on its own
                        pass
        await self._after_game(t)
        return t

    def _finish(self, t: Tournament) -> None:
        if t.status == "finished":
            return
        t.status, t.ending = "finished", False
        if t.format != "arena" or t.ends_at is None or t.ends_at > time.time():
            t.ends_at = time.time()
        self.service.cancel(f"tournament/{t.id}")
        self._touch(t, listed=True)
        self.log.info("jupyter-duel: tournament %s finished", t.id)

    async def _arena_time_up(self, tournament_id: str) -> None:
        t = self.tournaments.get(tournament_id)
        if t is None or t.status == "finished":
            return
        t.ending = True
        self._touch(t, listed=True)
        await self._after_game(t)

    # ------------------------------------------------------------ players (Socket.IO)

    async def join(self, name: str, tournament_id: str) -> None:
        t = self.get(tournament_id)
        self._check_open_to(t, name)
        profile = await self.service.db(self.store.get_user, name)
        self._profiles[name] = profile
        self._check_open_to(t, name)  # again: the tournament may have moved on meanwhile
        entrant = t.entrants.get(name)
        now = time.time()
        if entrant is not None and entrant.status != "withdrawn":
            return  # joined already
        if entrant is not None:  # back after withdrawing (an arena only, see _check_open_to)
            entrant.status, entrant.withdrawn_from_round, entrant.waiting_since = "active", None, now
        else:
            joined_round = t.round + 1 if t.format == "swiss" and t.status != "open" else 1
            entrant = TournamentEntrant(name, profile.id, profile.rating, len(t.entrants) + 1, now,
                                        joined_round=joined_round, waiting_since=now)
            t.entrants[name] = entrant
        t.dirty_entrants.add(name)
        self._touch(t, listed=True)
        if t.format == "arena":
            await self._pair(t)

    def _check_open_to(self, t: Tournament, name: str) -> None:
        entrant = t.entrants.get(name)
        if t.status == "finished" or t.ending:
            raise ServiceError("tournament_closed", "the tournament is over")
        if t.status == "open":
            return
        if t.format == "round_robin" and (entrant is None or entrant.status == "withdrawn"):
            raise ServiceError("tournament_closed", "a round robin takes no player once it has started")
        if t.format == "swiss" and entrant is None and t.round >= (t.rounds or 0):
            raise ServiceError("tournament_closed", "every round of this Swiss has been paired")
        if t.format == "swiss" and entrant is not None and entrant.status == "withdrawn":
            raise ServiceError("tournament_closed", "a player who withdrew from a Swiss does not come back")

    async def leave(self, name: str, tournament_id: str) -> None:
        t = self.get(tournament_id)
        entrant = t.entrants.get(name)
        if entrant is None or entrant.status == "withdrawn":
            raise ServiceError("not_in_tournament", "you are not playing in this tournament")
        if t.status == "finished":
            raise ServiceError("tournament_closed", "the tournament is over")
        if t.status == "open":  # nothing played yet: simply not an entrant
            del t.entrants[name]
            for position, e in enumerate(t.entrants.values(), start=1):
                e.position = position
            # The store keeps entrants by key: rewrite them all (the leaver's row is left as withdrawn).
            entrant.status = "withdrawn"
            self._save_left(t, entrant)
            t.dirty_entrants.update(t.entrants)
        else:
            entrant.status = "withdrawn"
            entrant.withdrawn_from_round = t.round + 1
            t.dirty_entrants.add(name)
        self._touch(t, listed=True)

    def _save_left(self, t: Tournament, entrant: TournamentEntrant) -> None:
        """Store that ``entrant`` left before the start (position 0: not restored as an entrant)."""
        row = dict(user_id=entrant.user_id, position=0, rating=entrant.rating, status="withdrawn",
                   joined_round=entrant.joined_round, withdrawn_from_round=entrant.joined_round,
                   joined_at=entrant.joined_at)
        left = self.service.db(self.store.save_tournament, t.row(), [row], [], after=f"tournament/{t.id}")
        left.add_done_callback(lambda f: f.cancelled() or f.exception() is None or self.log.error(
            "jupyter-duel: tournament %s could not be stored: %r", t.id, f.exception()))

    async def set_paused(self, name: str, tournament_id: str, paused: bool) -> None:
        t = self.get(tournament_id)
        entrant = t.entrants.get(name)
        if entrant is None or entrant.status == "withdrawn":
            raise ServiceError("not_in_tournament", "you are not playing in this tournament")
        if t.status == "finished":
            raise ServiceError("tournament_closed", "the tournament is over")
        if t.format != "arena":
            raise ServiceError("tournament_state", "only an arena pauses a player; leave the tournament instead")
        status = "paused" if paused else "active"
        if entrant.status == status:
            return
        entrant.status = status
        if not paused:
            entrant.waiting_since = time.time()  # waiting counts from coming back
        t.dirty_entrants.add(name)
        self._touch(t)
        if not paused:
            await self._pair(t)

    # ------------------------------------------------------------ hooks from the other rooms

    async def battle_over(self, battle: "BattleState") -> None:
        """Any battle ended: a tournament's game is recorded; its players (and those of any battle) may be free
        for an arena now."""
        for name in battle.names if battle.ranked else ():  # ratings changed: read again for the next game
            if name in self._profiles:
                self._profiles[name] = await self.service.db(self.store.get_user, name)
        t = self.tournaments.get(battle.tournament_id or "")
        game = t.by_battle.get(battle.id) if t is not None else None
        if game is not None and game.status == "playing":
            now = time.time()
            game.record(battle.outcome.winner, battle.outcome.reason, now)
            total = len(battle.challenge.samples) + len(battle.challenge.hidden)
            game.progress = {seat.name: [seat.best_passed, total] for seat in battle.seats}
            for seat in battle.seats:
                entrant = t.entrants.get(seat.name)
                if entrant is not None:
                    entrant.last_opponent = battle.opponent(seat.name).name
                    entrant.waiting_since = now
            t.dirty_games.add(game.number)
            self._touch(t)
            await self._after_game(t)
        for other in list(self.tournaments.values()):
            if other is not t and other.format == "arena" and any(n in other.entrants for n in battle.names):
                await self._pair(other)

    def progress(self, battle: "BattleState") -> None:
        """A judged submission in a tournament's game: its progress changed."""
        t = self.tournaments.get(battle.tournament_id or "")
        game = t.by_battle.get(battle.id) if t is not None else None
        if game is None or game.status != "playing":
            return
        total = len(battle.challenge.samples) + len(battle.challenge.hidden)
        game.progress = {seat.name: [seat.best_passed, total] for seat in battle.seats}
        t.dirty_games.add(game.number)
        self._touch(t)

    def came_online(self, name: str) -> None:
        """``name``'s first connection: free again for the arenas they play."""
        for t in self.tournaments.values():
            entrant = t.entrants.get(name)
            if t.format == "arena" and entrant is not None and t.status == "running" and not t.ending:
                entrant.waiting_since = time.time()
                self.service.spawn(self._pair(t))

    async def _after_game(self, t: Tournament) -> None:
        """A game ended (or the tournament was resumed or ended): pair what is due, or finish."""
        if t.status == "finished":
            return
        if t.ending:
            if not t.playing():
                self._finish(t)
            return
        if t.format == "arena":
            await self._pair(t)
            return
        if t.playing() or t.status != "running":
            return
        if t.round >= (t.rounds or 0):
            self._finish(t)
            return
        self.service.later(f"tournament/{t.id}", self.service.tournament_round_break_s, self._round_due, t.id)

    async def _round_due(self, tournament_id: str) -> None:
        t = self.tournaments.get(tournament_id)
        if t is not None and t.status == "running" and not t.ending and not t.playing():
            await self._pair(t)

    # ------------------------------------------------------------ pairing

    def _free(self, name: str) -> bool:
        """Connected and in no battle."""
        return self.accounts.is_online(name) and self.battles.battle_id_of(name) is None

    async def _pair(self, t: Tournament, force: bool = False) -> None:
        """Pair what the format says is due now (``force``: the next round even though the tournament is
        paused). One pairing at a time per tournament, up to the battles' opening (the players are busy from
        then on); storing and announcing them happens after."""
        async with t.pairing:
            if t.ending or t.status == "finished" or (t.status != "running" and not force):
                return
            if t.format == "arena":
                opened = await self._pair_arena(t)
            elif not t.playing() and t.round < (t.rounds or 0):
                opened = await self._pair_round(t)
            else:
                return
        await self._announce(t, opened)
        if t.format != "arena":
            await self._after_game(t)  # a round of byes and forfeits only is over at once

    async def _pair_arena(self, t: Tournament) -> list:
        now = time.time()
        if now >= (t.ends_at or 0):
            return []
        scores = {r.name: r.score for r in self._standings(t)}
        free = [e for e in t.entrants.values() if e.status != "withdrawn" and self._free(e.name)]
        pairs = pair_arena([FreePlayer(e.name, int(scores.get(e.name, 0)), e.rating, e.last_opponent,
                                       e.waiting_since, paused=e.status == "paused") for e in free],
                           now, self.service.tournament_rematch_after_s)
        opened = await self._start_games(t, t.round, pairs) if pairs else []
        paired = {n for p in pairs for n in p}
        if sum(e.status == "active" and e.name not in paired for e in free) >= 2:
            # Two free players who just met: they may meet again once both have waited the rematch window.
            self.service.later(f"tournament/{t.id}/pair", self.service.tournament_rematch_after_s,
                               self._pair_later, t.id)
        return opened

    async def _pair_later(self, tournament_id: str) -> None:
        t = self.tournaments.get(tournament_id)
        if t is not None:
            await self._pair(t)

    async def _pair_round(self, t: Tournament) -> list:
        round_no = t.round + 1
        if t.format == "swiss":
            try:
                swiss = pair_swiss_round(self._rules_entrants(t), [g.rules_game() for g in t.games if g.done],
                                         round_no)
            except RulesError as exc:  # too few players left (withdrawals): nothing more to play
                self.log.info("jupyter-duel: tournament %s ends: %s", t.id, exc)
                self._finish(t)
                return []
            pairs: list[tuple[str, str | None]] = [*swiss.pairs, *([(swiss.bye, None)] if swiss.bye else [])]
        else:
            pairs = [(a, b) for a, b in t.schedule[round_no - 1]]
        t.round = round_no
        opened = await self._start_games(t, round_no, pairs)
        self._touch(t, listed=True)
        return opened

    def _challenge_for(self, t: Tournament, round_no: int, players: tuple[str, ...]) -> "Challenge":
        """The challenge of a new game: the round's (one per round when ``same_challenge_per_round``, not in an
        arena), else one neither player has had in this tournament when possible."""
        shared = t.same_challenge_per_round and t.format != "arena"
        if shared and round_no in t.round_challenges and t.round_challenges[round_no] in self.challenges:
            return self.challenges.get(t.round_challenges[round_no])
        candidates = self._candidates(t)
        had = {g.challenge_id for g in t.games if g.challenge_id and (
            shared or g.first in players or g.second in players)}
        fresh = [c for c in candidates if c.id not in had]
        challenge = self._rng.choice(fresh or candidates)
        if shared:
            t.round_challenges[round_no] = challenge.id
        return challenge

    def _candidates(self, t: Tournament) -> list["Challenge"]:
        if t.challenges:
            pool = [self.challenges.get(c) for c in t.challenges if c in self.challenges]
        else:
            packs = {t.pack} if t.pack else set(self.service.packs)
            pool = [c for c in self.challenges.all() if not packs or c.pack in packs]
        chosen = [c for c in pool if t.difficulty in ("any", c.difficulty)]
        # Challenges removed since the tournament was created (a restart with other packs): any loaded one.
        return chosen or [c for c in self.challenges.all() if t.difficulty in ("any", c.difficulty)] or \
            self.challenges.all()

    async def _start_games(self, t: Tournament, round_no: int, pairs: list[tuple[str, str | None]]) -> list:
        """Open a battle for each pair whose players are both here; a round's absent player loses by forfeit
        (no-show), a bye is recorded. In an arena, a pair with a player no longer free is left out. Returns the
        (game, battle) pairs opened, for ``_announce``."""
        for name in [n for pair in pairs for n in pair if n is not None and n not in self._profiles]:
            self._profiles[name] = await self.service.db(self.store.get_user, name)
        profiles = self._profiles  # from here to the opening nothing is awaited
        now = time.time()
        opened = []
        for a, b in pairs:
            game = TournamentGame(len(t.games) + 1, round_no, a, b, "pending", started_at=now)
            if b is None:
                points = BYE_POINTS if t.format == "swiss" else 0.0
                game.status, game.points_first, game.reason, game.ended_at = "bye", points, "bye", now
            elif not (self._free(a) and self._free(b)):
                if t.format == "arena":
                    continue
                game.status, game.ended_at, game.reason = "forfeit", now, "no_show"
                here_a, here_b = self._free(a), self._free(b)
                game.points_first, game.points_second = float(here_a), float(here_b)
                game.winner = a if here_a else b if here_b else None
            else:
                challenge = self._challenge_for(t, round_no, (a, b))
                pa, pb = profiles[a], profiles[b]
                battle = self.battles.open(pa, pb, challenge.difficulty, self.lobby.ranked_between(pa, pb, t.rated),
                                           pool=challenge.difficulty, challenge=challenge,
                                           time_limit_s=t.time_limit_s, tournament_id=t.id)
                game.status, game.battle_id, game.challenge_id = "playing", battle.id, challenge.id
                total = len(challenge.samples) + len(challenge.hidden)
                game.progress = {a: [0, total], b: [0, total]}
                game.started_at = battle.started_at
                t.by_battle[battle.id] = game
                opened.append((game, battle))
            t.games.append(game)
            t.dirty_games.add(game.number)
        if opened or any(g.round == round_no for g in t.games):
            self._touch(t)
        return opened

    async def _announce(self, t: Tournament, opened: list) -> None:
        """Store and announce the battles ``_start_games`` opened."""
        for game, battle in opened:
            try:
                await self.battles.record(battle)
            except Exception:  # the database refused: nobody played; both players are free again
                self.log.exception("jupyter-duel: tournament %s: battle %s could not be stored", t.id, battle.id)
                game.record(None, "aborted", time.time())
                t.dirty_games.add(game.number)
                self._touch(t)
                continue
            for name in battle.names:
                await self.lobby.taken(name)
            await self.battles.announce(battle)

    # ------------------------------------------------------------ surviving a restart

    async def restore(self) -> None:
        """Rebuild every stored tournament (before the battle room carries its battles on)."""
        for stored in await self.service.db(self.store.load_tournaments):
            try:
                t = self._rebuild(stored)
            except Exception:
                self.log.exception("jupyter-duel: tournament %s cannot be restored", stored["row"]["id"])
                continue
            self.tournaments[t.id] = t

    async def carry_on(self) -> None:
        """After the battle room restored its battles: games whose battle ended while the service was down are
        recorded from the store, clocks and pairing resume."""
        for t in list(self.tournaments.values()):
            if t.status == "finished":
                continue
            for game in t.playing():
                if game.battle_id in self.battles.running:
                    continue
                review = await self.service.db(self.store.battle_review, game.battle_id) if game.battle_id else None
                review = review or {}  # never stored (the process stopped first): nobody played it
                game.record(review.get("winner"), review.get("reason") or "aborted",
                            review.get("ended_at") or time.time())
                t.dirty_games.add(game.number)
                self._touch(t)
            now = time.time()
            for e in t.entrants.values():
                e.waiting_since = now
            if t.format == "arena" and t.status in ("running", "paused") and not t.ending:
                self.service.later(f"tournament/{t.id}", (t.ends_at or now) - now, self._arena_time_up, t.id)
            await self._after_game(t)

    def _rebuild(self, stored: dict) -> Tournament:
        row = stored["row"]
        state = json.loads(row["state"] or "{}")
        t = Tournament(
            id=row["id"], name=row["name"], format=row["format"], rated=row["rated"], pack=row["pack"],
            challenges=json.loads(row["challenges"]) if row["challenges"] else None,
            same_challenge_per_round=row["same_challenge_per_round"], difficulty=row["difficulty"],
            duration_s=row["duration_s"], rounds=row["rounds"], time_limit_s=row["time_limit_s"],
            created_at=row["created_at"], created_by=state.get("created_by"), status=row["status"],
            ending=row["ending"], round=row["round"], version=row["version"], starts_at=row["starts_at"],
            ends_at=row["ends_at"], round_challenges={int(k): v for k, v in state.get("round_challenges", {}).items()},
            schedule=state.get("schedule"), saved_version=row["version"])
        for e in stored["entrants"]:
            if e["position"] == 0:  # left before the start
                continue
            t.entrants[e["name"]] = TournamentEntrant(
                e["name"], e["user_id"], e["rating"], e["position"], e["joined_at"], status=e["status"],
                joined_round=e["joined_round"], withdrawn_from_round=e["withdrawn_from_round"])
        for g in stored["games"]:
            game = TournamentGame(g["number"], g["round"], g["first"], g["second"], g["status"],
                                  battle_id=g["battle_id"], challenge_id=g["challenge_id"],
                                  points_first=g["points_first"], points_second=g["points_second"],
                                  winner=g["winner"], reason=g["reason"], progress=json.loads(g["progress"] or "{}"),
                                  started_at=g["started_at"], ended_at=g["ended_at"])
            t.games.append(game)
            if game.battle_id:
                t.by_battle[game.battle_id] = game
        for game in t.games:  # each player's last opponent, for the arena's no-immediate-rematch rule
            if game.status == "finished" and game.second is not None:
                for a, b in ((game.first, game.second), (game.second, game.first)):
                    if a in t.entrants:
                        t.entrants[a].last_opponent = b
        return t

    # ------------------------------------------------------------ exports

    CSV_COLUMNS = ("tournament", "format", "round", "game", "first", "second", "status", "winner", "reason",
                   "points_first", "points_second", "passed_first", "passed_second", "total_tests", "challenge_id",
                   "battle_id", "started_at", "ended_at")
    STANDINGS_COLUMNS = ("rank", "name", "score", "games", "wins", "draws", "losses", "buchholz",
                         "sonneborn_berger", "withdrawn")

    def results_csv(self, t: Tournament) -> str:
        """The final (or current) standings, then every game, as CSV with formula-safe cells."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.STANDINGS_COLUMNS)
        for s in self._standings(t):
            writer.writerow([_cell(v) for v in (s.rank, s.name, s.score, s.games, s.wins, s.draws, s.losses,
                                                s.tiebreaks.get("buchholz"), s.tiebreaks.get("sonneborn_berger"),
                                                s.withdrawn)])
        writer.writerow([])
        writer.writerow(self.CSV_COLUMNS)
        for g in sorted(t.games, key=lambda g: g.number):
            passed = [g.progress.get(n, [None, None]) for n in (g.first, g.second)]
            total = next((p[1] for p in passed if p[1] is not None), None)
            row = (t.name, t.format, g.round, g.number, g.first, g.second, g.status, g.winner, g.reason,
                   g.points_first, g.points_second, passed[0][0], passed[1][0], total, g.challenge_id, g.battle_id,
                   _iso(g.started_at), _iso(g.ended_at))
            writer.writerow([_cell(v) for v in row])
        return out.getvalue()

    async def notebook(self, t: Tournament) -> nbformat.NotebookNode:
        """The tournament as a notebook: standings, each round's pairings and results, then each game's own
        notebook cells (statement, both final solutions, submissions), from the stored reviews."""
        nb = v4.new_notebook()
        played = sum(g.status == "finished" for g in t.games)
        lines = [f"# Tournament: {_inline(t.name)}", "",
                 f"{t.format.replace('_', ' ')}, {'rated' if t.rated else 'unrated'}, {t.status}; "
                 f"{_count(len(t.entrants), 'player')}, {_count(played, 'game')} played.", "",
                 "## Standings", "", "| # | player | score | games | W | D | L | tie-breaks |", "|---|---|---|---|---|---|---|---|"]
        for s in self._standings(t):
            ties = ", ".join(f"{k} {v:g}" for k, v in s.tiebreaks.items())
            lines.append(f"| {s.rank} | {_cell_text(s.display_name)}{' (withdrawn)' if s.withdrawn else ''} | "
                         f"{s.score:g} | {s.games} | {s.wins} | {s.draws} | {s.losses} | {_cell_text(ties)} |")
        nb.cells.append(v4.new_markdown_cell("\n".join(lines)))
        rounds: dict[int, list[TournamentGame]] = {}
        for g in t.games:
            rounds.setdefault(g.round, []).append(g)
        lines = ["## Pairings and results"]
        for round_no in sorted(rounds):
            lines += ["", f"### {'Games' if t.format == 'arena' else f'Round {round_no}'}", "",
                      "| game | first | second | result | reason |", "|---|---|---|---|---|"]
            for g in rounds[round_no]:
                result = "" if g.points_first is None else f"{g.points_first:g}–{(g.points_second or 0):g}"
                lines.append(f"| {g.number} | {_cell_text(display_name(g.first))} | "
                             f"{_cell_text(display_name(g.second)) if g.second else '(bye)'} | {result} | "
                             f"{_cell_text(g.reason or g.status)} |")
        nb.cells.append(v4.new_markdown_cell("\n".join(lines)))
        for g in sorted(t.games, key=lambda g: g.number):
            if not g.battle_id or g.status != "finished":
                continue
            review = await self.service.db(self.store.battle_review, g.battle_id)
            if review is None:
                continue
            try:
                challenge = self.challenges.get(review["challenge_id"]).public_view()
            except KeyError:
                challenge = None
            review["display_names"] = [display_name(n or "") for n in review["players"]]
            game_nb = battle_notebook(review, challenge)
            title = f"## Game {g.number}" + ("" if t.format == "arena" else f" (round {g.round})")
            nb.cells.append(v4.new_markdown_cell(title))
            nb.cells.extend(game_nb.cells)
        # The games' code cells are Python: the notebook opens on a Python kernel without asking for one.
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["jupyter_duel"] = {"tournament_id": t.id, "exported_at": time.time()}
        return nb


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _ended(g: TournamentGame) -> tuple:
    return (g.ended_at or 0.0, g.number)


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat(
        timespec="seconds")
