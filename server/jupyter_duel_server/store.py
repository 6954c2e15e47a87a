"""Persistence: the whole SQLAlchemy schema and every query the service makes.

SQLite under the Jupyter data directory by default; PostgreSQL (``postgresql+psycopg://...``) for a hosted
service. A battle's result and both players' rating changes are written in one transaction. A running battle's
state (``LiveBattle``, ``LiveSeat``, ``LiveEdits``) is flushed as it changes, so that a restarted service carries
it on (``take_over_live_battles``). The schema's history is the Alembic migrations in ``migrations/``, applied
when a ``Store`` opens the database (``migrate``); a change to the models below comes with a new migration
(docs/hosting.md, "Changing the schema").

Every method is synchronous and short; the service calls them in its database worker threads
(``dbworkers.DatabaseWorkers``), never on the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import orjson
from sqlalchemy import (
    Boolean,
    and_,
    exists,
    func,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    or_,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from .auth import GUEST_PREFIX, display_name, guest_key_matches, new_guest_key, skeleton
from .migrations import migrate
from .rating import PlayerRating


def _dumps(value) -> str:
    """JSON text of ``value`` through orjson: the running battles' flush writes every changed seat's edits each
    second, where the json module's encoder was a tenth of the service's CPU. What orjson refuses (integers over
    64 bits, lone surrogates) is written by the json module."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # the handle: guests' start "guest:"
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    skeleton: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # auth.skeleton
    guest_key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the browser's key, hashed
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[float] = mapped_column(Float)
    rd: Mapped[float] = mapped_column(Float, default=350.0)
    volatility: Mapped[float] = mapped_column(Float, default=0.06)
    last_rated_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    games: Mapped[int] = mapped_column(Integer, default=0)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    losses: Mapped[int] = mapped_column(Integer, default=0)
    draws: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class Battle(Base):
    __tablename__ = "battles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge_id: Mapped[str] = mapped_column(String(128))
    player_a_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    player_b_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ranked: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished | aborted
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    rating_a_before: Mapped[float] = mapped_column(Float)
    rating_b_before: Mapped[float] = mapped_column(Float)
    rating_a_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    rating_b_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    mirror: Mapped[str | None] = mapped_column(String(16), nullable=True)  # the mirror mode it was played with
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)  # fairplay.similarity of final codes
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)  # an instructor's reason for an abort
    # The tournament this battle is a game of (tournamentroom.py), if any.
    tournament_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class PasteEvent(Base):
    """A large insertion into a player's code in one edit: a fair-play signal for a person to look at."""

    __tablename__ = "paste_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    chars: Mapped[int] = mapped_column(Integer)
    at_s: Mapped[float] = mapped_column(Float)  # seconds after the battle's clock started


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(Text)
    samples_only: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    tests: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: [[kind, verdict, passed, time_ms], ...]
    message: Mapped[str | None] = mapped_column(Text, nullable=True)  # what its author read (a traceback...)


class Timeline(Base):
    """One player's typing in one battle, kept for the replay: every accepted edit with its time, and the final
    code."""

    __tablename__ = "timelines"

    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    final_code: Mapped[str] = mapped_column(Text)
    edits: Mapped[str] = mapped_column(Text)  # JSON: [[seconds into the battle, seq, delta or null, text or null]]


class LiveBattle(Base):
    """What a running battle needs beyond its ``battles`` row for a restarted service to carry it on (rows
    deleted when it ends, in the same transaction)."""

    __tablename__ = "live_battles"

    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"), primary_key=True)
    time_limit_s: Mapped[int] = mapped_column(Integer)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    # Seconds the clock was given back for the service's downtime so far (the clock starts at started_at + this).
    clock_shift_s: Mapped[float] = mapped_column(Float, default=0.0)
    alive_at: Mapped[float] = mapped_column(Float)  # the last heartbeat of the process running it


class LiveSeat(Base):
    """One player's side of a running battle as last flushed: the code with its seq, and what the replay and
    a resume need."""

    __tablename__ = "live_seats"

    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    code: Mapped[str] = mapped_column(Text, default="")
    seq: Mapped[int] = mapped_column(Integer, default=0)
    pastes: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [[seconds into the battle, characters]]
    last_tests: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the latest run's test_result payloads
    shown_code: Mapped[str] = mapped_column(Text, default="")  # the delayed mirror: what the opponent was shown
    shown_seq: Mapped[int] = mapped_column(Integer, default=0)


class LiveEdits(Base):
    """A chunk of one player's typing timeline in a running battle (appended at each flush, never rewritten)."""

    __tablename__ = "live_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    edits: Mapped[str] = mapped_column(Text)  # JSON: rows as in Timeline.edits


class TournamentRow(Base):
    """A tournament (``tournamentroom.Tournament``): its settings and where it stands."""

    __tablename__ = "tournaments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(16))  # arena | swiss | round_robin
    status: Mapped[str] = mapped_column(String(16))  # open | running | paused | finished
    ending: Mapped[bool] = mapped_column(Boolean, default=False)  # ended: no new games, running ones play on
    rated: Mapped[bool] = mapped_column(Boolean, default=False)
    pack: Mapped[str | None] = mapped_column(String(128), nullable=True)
    challenges: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of challenge ids
    same_challenge_per_round: Mapped[bool] = mapped_column(Boolean, default=True)
    difficulty: Mapped[str] = mapped_column(String(16), default="any")
    duration_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rounds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    time_limit_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ends_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(Text, default="{}")  # JSON: round challenges, the round robin schedule


class TournamentEntrantRow(Base):
    """A player of a tournament."""

    __tablename__ = "tournament_entrants"

    tournament_id: Mapped[str] = mapped_column(ForeignKey("tournaments.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # the order of joining
    rating: Mapped[float] = mapped_column(Float)  # the seeding rating, at joining
    status: Mapped[str] = mapped_column(String(16))  # active | paused | withdrawn
    joined_round: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn_from_round: Mapped[int | None] = mapped_column(Integer, nullable=True)
    joined_at: Mapped[float] = mapped_column(Float)


class TournamentGameRow(Base):
    """One game of a tournament: a battle, a bye or a forfeit."""

    __tablename__ = "tournament_games"

    tournament_id: Mapped[str] = mapped_column(ForeignKey("tournaments.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, ... in the order paired
    round: Mapped[int] = mapped_column(Integer)
    first_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    second_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    battle_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    challenge_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | playing | finished | bye | forfeit
    points_first: Mapped[float | None] = mapped_column(Float, nullable=True)
    points_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    progress: Mapped[str] = mapped_column(Text, default="{}")  # JSON: name -> [passed, total]
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


#: The verdict of a judged run that was in flight when the service stopped: it is not counted.
LOST_VERDICT = "LOST"
LOST_MESSAGE = ("the service restarted while this run was being judged: it is not counted; "
                "run or submit it again")


@dataclass
class SeatFlush:
    """One seat's state to write in ``Store.flush_live``."""

    battle_id: str
    user_id: int
    code: str
    seq: int
    pastes: list
    last_tests: list
    shown_code: str
    shown_seq: int
    new_edits: list  # timeline rows since the previous flush


@dataclass(frozen=True)
class Profile:
    """A user as the rest of the service sees it (detached from any DB session)."""

    id: int
    name: str
    guest: bool
    rating: float
    games: int
    wins: int
    losses: int
    draws: int
    rd: float = 350.0
    volatility: float = 0.06
    last_rated_at: float | None = None

    def rating_state(self) -> PlayerRating:
        return PlayerRating(self.rating, self.rd, self.volatility, self.games, self.last_rated_at)

    @property
    def display_name(self) -> str:
        return display_name(self.name)

    def as_dict(self, provisional: bool) -> dict:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "rating": round(self.rating, 1),
            "guest": self.guest,
            "provisional": provisional,
            "games": self.games,
            "wins": self.wins,
            "losses": self.losses,
            "draws": self.draws,
        }


def _profile(user: User) -> Profile:
    return Profile(
        user.id, user.name, user.guest, user.rating, user.games, user.wins, user.losses, user.draws,
        user.rd, user.volatility, user.last_rated_at,
    )


class NameTaken(Exception):
    """The name belongs to another account: a guest's held by another browser, or the bot's."""


class NameConfusable(Exception):
    """A new guest name looks like an existing player's name; carries that name."""


class Store:
    """Every read and write of durable state."""

    def __init__(self, url: str, initial: PlayerRating | None = None, pool_size: int = 5):
        """Open (and migrate to the newest schema) the database at SQLAlchemy ``url``; ``pool_size``: the
        connections kept open, one per database worker thread."""
        url = _with_driver(url)
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("sqlite"):
            # pysqlite's own transaction handling is off so that every transaction can start with BEGIN
            # IMMEDIATE: two processes finishing battles of the same player then serialize instead of both
            # reading the old rating (SQLite ignores SELECT ... FOR UPDATE).
            self.engine: Engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            # Reads start a plain (deferred) transaction on connections of their own: in WAL mode they never
            # wait for the writer nor hold it up, whatever the worker threads do at once.
            self._read_engine: Engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
            event.listen(self._read_engine, "connect", _sqlite_pragmas)
            event.listen(self._read_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2)
            self._read_engine = self.engine
        # SQLite has one writer at a time: this process's worker threads take turns here, blocked, rather than
        # polling SQLite's lock (whose busy handler can leave one thread waiting past its timeout under load).
        self._write_turn = threading.Lock() if url.startswith("sqlite") else contextlib.nullcontext()
        migrate(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self._read_engine, expire_on_commit=False)
        self._flush_sql = _FlushSQL(self.engine)
        self.initial = initial or PlayerRating(1200.0)

    def close(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()

    def slow_down(self, seconds: float) -> None:
        """Make every statement wait ``seconds`` first: a slow database for benchmarks/db_latency.py."""
        for engine in {self.engine, self._read_engine}:
            event.listen(engine, "before_cursor_execute", lambda *args: time.sleep(seconds))

    @contextlib.contextmanager
    def _writing(self):
        """A write transaction (committed at the end, rolled back on an exception)."""
        with self._write_turn, self._session.begin() as db:
            yield db

    # ------------------------------------------------------------ users

    def _new_user(self, db, handle: str, guest: bool, bot: bool = False, key_hash: str | None = None) -> User:
        user = User(
            name=handle,
            guest=guest,
            bot=bot,
            skeleton=skeleton(display_name(handle)),
            guest_key_hash=key_hash,
            rating=self.initial.rating,
            rd=self.initial.rd,
            volatility=self.initial.volatility,
            created_at=time.time(),
        )
        db.add(user)
        db.flush()
        return user

    def get_or_create_user(self, name: str, guest: bool = False, bot: bool = False) -> Profile:
        """The signed-in user (or the bot) ``name``, created on first sight. Guests go through ``claim_guest``."""
        return _retry_on_conflict(lambda: self._get_or_create_user(name, guest, bot))

    def _get_or_create_user(self, name: str, guest: bool, bot: bool) -> Profile:
        with self._writing() as db:
            user = db.scalar(select(User).where(User.name == name))
            if user is None:
                user = self._new_user(db, name, guest, bot)
            elif user.guest != guest or user.bot != bot:
                raise NameTaken(name)
            return _profile(user)

    def claim_guest(self, name: str, key: str | None) -> tuple[Profile, str | None]:
        """The guest account called ``name`` for the browser that holds ``key``: (profile, a new key to give that
        browser, or None). The first browser to register a name gets its key; any other gets NameTaken. A new
        name that looks like an existing player's (``auth.skeleton``) raises NameConfusable, unless it is that
        name exactly (a guest called like a signed-in user is told apart by its namespace)."""
        return _retry_on_conflict(lambda: self._claim_guest(name, key))

    def _claim_guest(self, name: str, key: str | None) -> tuple[Profile, str | None]:
        handle = GUEST_PREFIX + name
        with self._writing() as db:
            user = db.scalar(select(User).where(User.name == handle))
            if user is not None:
                if user.guest_key_hash is not None:
                    if not guest_key_matches(key, user.guest_key_hash):
                        raise NameTaken(name)
                    return _profile(user), None
                new_key, user.guest_key_hash = new_guest_key()  # a guest from before keys: the first claims it
                return _profile(user), new_key
            for other in db.scalars(select(User.name).where(User.skeleton == skeleton(name))):
                if display_name(other) != name:
                    raise NameConfusable(display_name(other))
            new_key, key_hash = new_guest_key()
            return _profile(self._new_user(db, handle, True, key_hash=key_hash)), new_key

    def get_user(self, name: str) -> Profile | None:
        with self._read() as db:
            user = db.scalar(select(User).where(User.name == name))
            return _profile(user) if user else None

    def leaderboard(self, limit: int = 100, guests: bool = False) -> list[Profile]:
        visible = [User.bot.is_(False), User.games > 0] + ([] if guests else [User.guest.is_(False)])
        with self._read() as db:
            users = db.scalars(
                select(User)
                .where(*visible)
                .order_by(User.rating.desc(), User.name)
                .limit(limit)
            )
            return [_profile(u) for u in users]

    # ------------------------------------------------------------ battles

    def create_battle(
        self, battle_id: str, challenge_id: str, a: Profile, b: Profile, ranked: bool, started_at: float,
        mirror: str | None = None, time_limit_s: int | None = None, bot: bool = False,
        tournament_id: str | None = None,
    ) -> None:
        """Store a new running battle; with ``time_limit_s``, also its live rows (``LiveBattle``, one
        ``LiveSeat`` per player), so that a restart carries it on."""
        with self._writing() as db:
            db.add(
                Battle(
                    id=battle_id,
                    challenge_id=challenge_id,
                    player_a_id=a.id,
                    player_b_id=b.id,
                    ranked=ranked,
                    status="running",
                    started_at=started_at,
                    rating_a_before=a.rating,
                    rating_b_before=b.rating,
                    mirror=mirror,
                    tournament_id=tournament_id,
                )
            )
            if time_limit_s is not None:
                db.flush()  # the battle row first: the live rows refer to it
                db.add(LiveBattle(battle_id=battle_id, time_limit_s=time_limit_s, bot=bot, alive_at=time.time()))
                db.add_all(LiveSeat(battle_id=battle_id, user_id=p.id) for p in (a, b))

    def flush_live(self, seats: list[SeatFlush], alive: list[str], now: float) -> set[str]:
        """In one transaction: write each changed seat (code, seq, pastes, last run, delayed mirror; its new
        timeline rows appended as one chunk) and mark the battles ``alive`` as alive at ``now``. Returns the ids
        of the battles whose seats were written (those with live rows).

        Each statement carries many rows (``_FlushSQL``), never one row per execution: the sqlite3 module gives
        the GIL back at every row and must then win it back from the busy event loop (up to
        ``sys.getswitchinterval()`` each time), so an ``executemany`` of 1,000 seats took seconds beside a busy
        loop and stalled it at every turn (benchmarks/flush_live.py)."""
        sql = self._flush_sql
        with self._writing() as db:
            conn = db.connection()
            # Battles that ended meanwhile have no live rows left: nothing of theirs is written. Their rows stay
            # locked (PostgreSQL) until this commits, so no battle ends between this read and the writes.
            live = set()
            for part in sql.parts(list({s.battle_id for s in seats}), 1):
                live.update(json.loads(conn.exec_driver_sql(sql.live(len(part)), tuple(part)).scalar() or "[]"))
            seats = [s for s in seats if s.battle_id in live]
            for part in sql.parts(seats, 8):
                conn.exec_driver_sql(sql.seats(len(part)), tuple(value for s in part for value in (
                    s.battle_id, s.user_id, s.code, s.seq, _dumps(s.pastes), _dumps(s.last_tests), s.shown_code,
                    s.shown_seq)))
            for part in sql.parts([s for s in seats if s.new_edits], 3):
                conn.exec_driver_sql(sql.edits(len(part)), tuple(value for s in part for value in (
                    s.battle_id, s.user_id, _dumps(s.new_edits))))
            for part in sql.parts(alive, 1):
                conn.exec_driver_sql(sql.alive(len(part)), (now, *part))
            return live

    def running_battle_ids(self) -> list[str]:
        """The ids of every running battle, oldest first."""
        with self._read() as db:
            return list(db.scalars(select(Battle.id).where(Battle.status == "running").order_by(Battle.started_at)))

    def take_over_live_battles(self, now: float, only: list[str] | None = None) -> list[dict]:
        """Every battle left running by a previous process (``only``: those of these ids), for this one to carry
        on, oldest first.

        In one transaction: each clock is given back the downtime (``now`` minus the battle's last heartbeat),
        and the process's heartbeat starts at ``now``; a judged run left without a verdict gets ``LOST_VERDICT``
        (not counted); a running battle without live rows (stored by an older version) is aborted without rating
        change, as it cannot be rebuilt. Each dict: the ``battles`` row's fields, ``time_limit_s``, ``bot``,
        ``clock_shift_s``, ``seats`` (per player: name, code, seq, pastes, last_tests, shown_code, shown_seq,
        timeline) and ``submissions`` (oldest first: player, submission_id, samples_only, verdict, passed,
        total, message).
        """
        out = []
        with self._writing() as db:
            running = select(Battle).where(Battle.status == "running").order_by(Battle.started_at)
            if only is not None:
                running = running.where(Battle.id.in_(only))
            battles = db.scalars(running).all()
            for battle in battles:
                live = db.get(LiveBattle, battle.id, with_for_update=True)
                if live is None:
                    battle.status, battle.reason, battle.ended_at = "aborted", "aborted", now
                    battle.rating_a_after, battle.rating_b_after = battle.rating_a_before, battle.rating_b_before
                    continue
                live.clock_shift_s += max(0.0, now - live.alive_at)
                live.alive_at = now
                names = {u.id: u.name for u in db.scalars(select(User).where(
                    User.id.in_((battle.player_a_id, battle.player_b_id))))}
                seats = {s.user_id: s for s in db.scalars(select(LiveSeat).where(LiveSeat.battle_id == battle.id))}
                timelines: dict[int, list] = {}
                for chunk in db.scalars(select(LiveEdits).where(LiveEdits.battle_id == battle.id)
                                        .order_by(LiveEdits.id)):
                    timelines.setdefault(chunk.user_id, []).extend(json.loads(chunk.edits))
                submissions = []
                for sub in db.scalars(select(Submission).where(Submission.battle_id == battle.id)
                                      .order_by(Submission.id)):
                    if sub.verdict is None:  # judged when the process died: never counted, never judged twice
                        sub.verdict, sub.message, sub.tests = LOST_VERDICT, LOST_MESSAGE, "[]"
                    submissions.append({
                        "player": names[sub.user_id], "submission_id": sub.id, "samples_only": sub.samples_only,
                        "verdict": sub.verdict, "passed": sub.passed, "total": sub.total, "message": sub.message,
                    })
                out.append({
                    "battle_id": battle.id, "challenge_id": battle.challenge_id, "ranked": battle.ranked,
                    "started_at": battle.started_at, "mirror": battle.mirror, "time_limit_s": live.time_limit_s,
                    "bot": live.bot, "clock_shift_s": live.clock_shift_s, "tournament_id": battle.tournament_id,
                    "seats": [
                        {
                            "name": names[uid], "code": seats[uid].code, "seq": seats[uid].seq,
                            "pastes": json.loads(seats[uid].pastes), "last_tests": json.loads(seats[uid].last_tests),
                            "shown_code": seats[uid].shown_code, "shown_seq": seats[uid].shown_seq,
                            "timeline": timelines.get(uid, []),
                        }
                        for uid in (battle.player_a_id, battle.player_b_id)
                    ],
                    "submissions": submissions,
                })
        return out

    def add_submission(self, battle_id: str, user_id: int, code: str, samples_only: bool) -> int:
        with self._writing() as db:
            sub = Submission(
                battle_id=battle_id, user_id=user_id, code=code, samples_only=samples_only, created_at=time.time()
            )
            db.add(sub)
            db.flush()
            return sub.id

    def finish_submission(self, submission_id: int, verdict: str, passed: int, total: int,
                          tests: list | None = None, message: str | None = None) -> None:
        with self._writing() as db:
            sub = db.get(Submission, submission_id)
            if sub is not None:
                sub.verdict, sub.passed, sub.total, sub.message = verdict, passed, total, message
                sub.tests = json.dumps(tests) if tests is not None else None

    def finish_battle(
        self,
        battle_id: str,
        *,
        status: str,
        winner_id: int | None,
        reason: str,
        ended_at: float,
        rate: Callable[[PlayerRating, PlayerRating], tuple[PlayerRating, PlayerRating]] | None,
        similarity: float | None = None,
        pastes: list[tuple[int, int, float]] = (),
        note: str | None = None,
        timelines: list[tuple[int, str, list]] = (),
    ) -> dict[int, tuple[float, float]]:
        """Close a running battle and apply the rating change in one transaction, with its fair-play signals
        (the final codes' similarity; pastes as (user id, characters, seconds into the battle)).

        ``rate`` gets both players' ratings as stored inside this transaction (first player first) and returns
        the new ones; None leaves ratings and counts alone (unrated or aborted). Returns user id ->
        (rating before, rating after). Raises ValueError if the battle is not running, so a result is never
        applied twice.
        """
        with self._writing() as db:
            battle = db.get(Battle, battle_id, with_for_update=True)
            if battle is None or battle.status != "running":
                raise ValueError(f"battle {battle_id} is not running")
            battle.status, battle.winner_id, battle.reason, battle.ended_at = status, winner_id, reason, ended_at
            battle.similarity, battle.note = similarity, note
            db.add_all(PasteEvent(battle_id=battle_id, user_id=u, chars=c, at_s=t) for u, c, t in pastes)
            db.add_all(Timeline(battle_id=battle_id, user_id=u, final_code=code, edits=_dumps(edits))
                       for u, code, edits in timelines)
            users = [db.get(User, uid, with_for_update=True) for uid in (battle.player_a_id, battle.player_b_id)]
            before = [u.rating for u in users]
            if rate is not None:
                new = rate(*(_profile(u).rating_state() for u in users))
                for user, state in zip(users, new):
                    user.rating, user.rd, user.volatility = state.rating, state.rd, state.volatility
                    user.games, user.last_rated_at = state.games, state.last_rated_at
                    if winner_id is None:
                        user.draws += 1
                    elif winner_id == user.id:
                        user.wins += 1
                    else:
                        user.losses += 1
            battle.rating_a_before, battle.rating_b_before = before
            battle.rating_a_after, battle.rating_b_after = users[0].rating, users[1].rating
            _delete_live_rows(db, battle_id)  # ended: nothing left for a restart to carry on
            return {u.id: (b, u.rating) for u, b in zip(users, before)}

    def rated_battles_between(self, a_id: int, b_id: int, since: float) -> int:
        """How many battles between these two players, finished since ``since``, changed their ratings."""
        with self._read() as db:
            return db.scalar(select(func.count()).select_from(Battle).where(
                or_(and_(Battle.player_a_id == a_id, Battle.player_b_id == b_id),
                    and_(Battle.player_a_id == b_id, Battle.player_b_id == a_id)),
                Battle.status == "finished", Battle.ranked.is_(True), Battle.ended_at >= since,
                Battle.rating_a_after != Battle.rating_a_before)) or 0

    def early_exits(self, user_id: int, since: float) -> list[float]:
        """When (ended_at, oldest first) this player lost by forfeit or disconnect, since ``since``, a battle in
        which nobody had submitted anything: the dodges."""
        submitted = exists().where(Submission.battle_id == Battle.id, Submission.samples_only.is_(False))
        with self._read() as db:
            return list(db.scalars(select(Battle.ended_at).where(
                or_(Battle.player_a_id == user_id, Battle.player_b_id == user_id),
                Battle.winner_id.is_not(None), Battle.winner_id != user_id,
                Battle.reason.in_(("forfeit", "disconnect")), Battle.ended_at >= since, ~submitted,
            ).order_by(Battle.ended_at)))

    def battle_players(self, battle_id: str) -> list[str] | None:
        """Names of a stored battle's two players; None when no battle has this id."""
        with self._read() as db:
            battle = db.get(Battle, battle_id)
            if battle is None:
                return None
            return [db.get(User, battle.player_a_id).name, db.get(User, battle.player_b_id).name]

    def user_battles(self, name: str, limit: int = 100) -> list[dict] | None:
        with self._read() as db:
            user = db.scalar(select(User).where(User.name == name))
            if user is None:
                return None
            rows = db.scalars(
                select(Battle)
                .where(or_(Battle.player_a_id == user.id, Battle.player_b_id == user.id))
                .order_by(Battle.started_at.desc())
                .limit(limit)
            ).all()
            names = {u.id: u.name for u in db.scalars(select(User).where(User.id.in_(
                {r.player_a_id for r in rows} | {r.player_b_id for r in rows})))}
            pastes: dict[str, list[dict]] = {}
            for paste in db.scalars(select(PasteEvent).where(PasteEvent.battle_id.in_([r.id for r in rows]))
                                    .order_by(PasteEvent.at_s)):
                pastes.setdefault(paste.battle_id, []).append(
                    {"player": names.get(paste.user_id), "chars": paste.chars, "at_s": round(paste.at_s, 1)})
            out = []
            for b in rows:
                mine_a = b.player_a_id == user.id
                opponent_id = b.player_b_id if mine_a else b.player_a_id
                if b.status == "running":
                    result = "running"
                elif b.status == "aborted":
                    result = "aborted"
                elif b.winner_id is None:
                    result = "draw"
                else:
                    result = "win" if b.winner_id == user.id else "loss"
                out.append(
                    {
                        "battle_id": b.id,
                        "challenge_id": b.challenge_id,
                        "opponent": names.get(opponent_id),
                        "opponent_display_name": display_name(names.get(opponent_id) or ""),
                        "result": result,
                        "ranked": b.ranked,
                        "rating_before": b.rating_a_before if mine_a else b.rating_b_before,
                        "rating_after": b.rating_a_after if mine_a else b.rating_b_after,
                        "reason": b.reason,
                        "started_at": b.started_at,
                        "ended_at": b.ended_at,
                        "duration_s": round(b.ended_at - b.started_at, 1) if b.ended_at else None,
                        "mirror": b.mirror,
                        "similarity": b.similarity,
                        "pastes": pastes.get(b.id, []),
                    }
                )
            return out

    def battle_review(self, battle_id: str) -> dict | None:
        """A finished battle for its review: both players, the result, every submission with its tests, and each
        player's final code and typing timeline. None when no battle has this id or it is still running."""
        with self._read() as db:
            battle = db.get(Battle, battle_id)
            if battle is None or battle.status == "running":
                return None
            ids = (battle.player_a_id, battle.player_b_id)
            names = {u.id: u.name for u in db.scalars(select(User).where(User.id.in_(ids)))}
            timelines = {t.user_id: t for t in db.scalars(select(Timeline).where(Timeline.battle_id == battle_id))}
            subs = db.scalars(select(Submission).where(Submission.battle_id == battle_id).order_by(Submission.id))
            return {
                "battle_id": battle.id,
                "challenge_id": battle.challenge_id,
                "players": [names.get(i) for i in ids],
                "winner": names.get(battle.winner_id) if battle.winner_id else None,
                "status": battle.status,
                "reason": battle.reason,
                "note": battle.note,
                "ranked": battle.ranked,
                "mirror": battle.mirror,
                "started_at": battle.started_at,
                "ended_at": battle.ended_at,
                "ratings": [[battle.rating_a_before, battle.rating_a_after], [battle.rating_b_before, battle.rating_b_after]],
                "rating_deltas": [
                    None if after is None else round(after - before, 1)
                    for before, after in ((battle.rating_a_before, battle.rating_a_after),
                                          (battle.rating_b_before, battle.rating_b_after))
                ],
                "duration_s": round(battle.ended_at - battle.started_at, 1) if battle.ended_at else None,
                "similarity": battle.similarity,
                "codes": [timelines[i].final_code if i in timelines else None for i in ids],
                "timelines": [json.loads(timelines[i].edits) if i in timelines else [] for i in ids],
                "submissions": [
                    {
                        "player": names.get(sub.user_id),
                        "at_s": round(sub.created_at - battle.started_at, 1),
                        "samples_only": sub.samples_only,
                        "verdict": sub.verdict,
                        "passed": sub.passed,
                        "total": sub.total,
                        "tests": json.loads(sub.tests) if sub.tests else [],
                        "code": sub.code,
                    }
                    for sub in subs
                ],
            }

    def finished_battles(self, since: float) -> list[dict]:
        """Every battle that ended since ``since`` (oldest first), with both players' names, ratings and signals:
        the rows of a class's results export."""
        with self._read() as db:
            rows = db.scalars(select(Battle).where(Battle.status != "running", Battle.ended_at >= since)
                              .order_by(Battle.ended_at)).all()
            ids = {r.player_a_id for r in rows} | {r.player_b_id for r in rows}
            names = {u.id: u.name for u in db.scalars(select(User).where(User.id.in_(ids)))}
            pastes: dict[tuple[str, int], int] = {}
            for paste in db.scalars(select(PasteEvent).where(PasteEvent.battle_id.in_([r.id for r in rows]))):
                key = (paste.battle_id, paste.user_id)
                pastes[key] = pastes.get(key, 0) + 1
            return [
                {
                    "battle_id": b.id, "challenge_id": b.challenge_id, "started_at": b.started_at,
                    "ended_at": b.ended_at, "player_a": names.get(b.player_a_id), "player_b": names.get(b.player_b_id),
                    "winner": names.get(b.winner_id) if b.winner_id else None, "status": b.status,
                    "reason": b.reason, "ranked": b.ranked, "mirror": b.mirror,
                    "rating_a_before": b.rating_a_before, "rating_a_after": b.rating_a_after,
                    "rating_b_before": b.rating_b_before, "rating_b_after": b.rating_b_after,
                    "similarity": b.similarity, "pastes_a": pastes.get((b.id, b.player_a_id), 0),
                    "pastes_b": pastes.get((b.id, b.player_b_id), 0), "note": b.note,
                }
                for b in rows
            ]

    # ------------------------------------------------------------ tournaments

    def save_tournament(self, row: dict, entrants: list[dict], games: list[dict]) -> None:
        """Write a tournament's row with the entrants and games given (each inserted, or updated by its key), in
        one transaction. Keys: ``TournamentRow``'s, ``TournamentEntrantRow``'s and ``TournamentGameRow``'s
        columns."""
        with self._writing() as db:
            db.merge(TournamentRow(**row))
            db.flush()  # the tournament first: entrants and games refer to it
            for entrant in entrants:
                db.merge(TournamentEntrantRow(tournament_id=row["id"], **entrant))
            for game in games:
                db.merge(TournamentGameRow(tournament_id=row["id"], **game))

    def load_tournaments(self) -> list[dict]:
        """Every stored tournament, oldest first: ``{"row": {...}, "entrants": [...], "games": [...]}``, each a
        dict of its row's columns; entrants with ``name``, games with ``first``, ``second`` and ``winner``
        (names)."""
        with self._read() as db:
            out = []
            for t in db.scalars(select(TournamentRow).order_by(TournamentRow.created_at)).all():
                entrants = db.scalars(select(TournamentEntrantRow).where(TournamentEntrantRow.tournament_id == t.id)
                                      .order_by(TournamentEntrantRow.position)).all()
                games = db.scalars(select(TournamentGameRow).where(TournamentGameRow.tournament_id == t.id)
                                   .order_by(TournamentGameRow.number)).all()
                ids = {e.user_id for e in entrants} | {g.first_id for g in games} | {g.second_id for g in games}
                names = {u.id: u.name for u in db.scalars(select(User).where(User.id.in_(ids - {None})))}
                out.append({
                    "row": _columns(t),
                    "entrants": [{**_columns(e), "name": names[e.user_id]} for e in entrants],
                    "games": [{**_columns(g), "first": names[g.first_id], "second": names.get(g.second_id),
                               "winner": names.get(g.winner_id)} for g in games],
                })
            return out

    def counts(self) -> dict[str, int]:
        """Row counts per table (used by tests to prove that refused input changed nothing)."""
        with self._read() as db:
            return {
                "users": len(db.scalars(select(User.id)).all()),
                "battles": len(db.scalars(select(Battle.id)).all()),
                "submissions": len(db.scalars(select(Submission.id)).all()),
            }


def _columns(row) -> dict:
    """A row's columns as a dict."""
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}


def _delete_live_rows(db, battle_id: str) -> None:
    for table in (LiveEdits, LiveSeat, LiveBattle):
        db.execute(delete(table).where(table.battle_id == battle_id))


def _retry_on_conflict(transaction: Callable):
    """Run ``transaction`` again once when it lost a race to insert the same unique name (two worker threads, or
    two service processes, creating one user): the second run finds the row the other committed."""
    try:
        return transaction()
    except IntegrityError:
        return transaction()


def _with_driver(url: str) -> str:
    """``postgresql://`` (or ``postgres://``) without a driver means psycopg 3, the driver this package
    declares (SQLAlchemy's own default would be psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


class _FlushSQL:
    """``Store.flush_live``'s statements, each for ``n`` rows at once, in the driver's own parameter style
    (run with ``exec_driver_sql``: no per-row work in SQLAlchemy). Standard SQL but for the JSON aggregate and
    the row lock, which SQLite (3.24+ for the upsert; one writer at a time, no lock needed) and PostgreSQL
    spell differently."""

    SEAT_COLUMNS = "battle_id, user_id, code, seq, pastes, last_tests, shown_code, shown_seq"

    def __init__(self, engine: Engine):
        self.mark = "?" if engine.dialect.dbapi.paramstyle == "qmark" else "%s"
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # this build's bound on parameters per statement (999 before 3.32)
                limit = conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self.agg, self.lock = "json_group_array(battle_id)", ""
        else:  # PostgreSQL
            limit, self.agg, self.lock = 65535, "CAST(json_agg(battle_id) AS text)", " FOR UPDATE"
        self.limit = limit

    def parts(self, rows: list, width: int):
        """``rows`` in slices that fit one statement of ``width`` parameters per row (and one more), each of a
        power of two rows (at most 512): a statement of every other length would be compiled anew and kept in
        the driver's statement cache, which grew by 100 MB per connection as the number of changed seats varied
        from one flush to the next."""
        largest = 1 << min(9, ((self.limit - 1) // width).bit_length() - 1)
        start = 0
        while start < len(rows):
            size = min(largest, 1 << ((len(rows) - start).bit_length() - 1))
            yield rows[start:start + size]
            start += size

    def _marks(self, n: int, width: int) -> str:
        row = "(" + ", ".join([self.mark] * width) + ")" if width > 1 else self.mark
        return ", ".join([row] * n)

    @functools.lru_cache(maxsize=16)
    def live(self, n: int) -> str:
        """The ids of those of ``n`` battles that have live rows, as one JSON array (one row: fetching a row per
        battle would hand the GIL over once per battle). An aggregate cannot lock, so the subquery does."""
        return (f"SELECT {self.agg} FROM (SELECT battle_id FROM live_battles WHERE battle_id IN "
                f"({self._marks(n, 1)}){self.lock}) AS locked")

    @functools.lru_cache(maxsize=16)
    def seats(self, n: int) -> str:
        # An upsert rather than UPDATE ... FROM (SQLite 3.33+): every live battle has both its seats' rows.
        return (f"INSERT INTO live_seats ({self.SEAT_COLUMNS}) VALUES {self._marks(n, 8)} "
                "ON CONFLICT (battle_id, user_id) DO UPDATE SET code = excluded.code, seq = excluded.seq, "
                "pastes = excluded.pastes, last_tests = excluded.last_tests, shown_code = excluded.shown_code, "
                "shown_seq = excluded.shown_seq")

    @functools.lru_cache(maxsize=16)
    def edits(self, n: int) -> str:
        return f"INSERT INTO live_edits (battle_id, user_id, edits) VALUES {self._marks(n, 3)}"

    @functools.lru_cache(maxsize=16)
    def alive(self, n: int) -> str:
        return f"UPDATE live_battles SET alive_at = {self.mark} WHERE battle_id IN ({self._marks(n, 1)})"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL keeps readers (REST) from blocking the writer (battle results).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
