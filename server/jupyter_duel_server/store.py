"""Persistence: the whole SQLAlchemy schema and every query the service makes.

SQLite under the Jupyter data directory by default; any SQLAlchemy URL (PostgreSQL for a scaled-out service)
by configuration. A battle's result and both players' rating changes are written in one transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[float] = mapped_column(Float)
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

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "rating": round(self.rating, 1),
            "guest": self.guest,
            "games": self.games,
            "wins": self.wins,
            "losses": self.losses,
            "draws": self.draws,
        }


def _profile(user: User) -> Profile:
    return Profile(user.id, user.name, user.guest, user.rating, user.games, user.wins, user.losses, user.draws)


class NameTaken(Exception):
    """A guest asked for the name of a non-guest user (or the reverse)."""


class Store:
    """Every read and write of durable state."""

    def __init__(self, url: str, initial_rating: float = 1200.0):
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.initial_rating = initial_rating

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ users

    def get_or_create_user(self, name: str, guest: bool) -> Profile:
        with self._session.begin() as db:
            user = db.scalar(select(User).where(User.name == name))
            if user is None:
                user = User(name=name, guest=guest, rating=self.initial_rating, created_at=time.time())
                db.add(user)
                db.flush()
            elif user.guest != guest:
                raise NameTaken(name)
            return _profile(user)

    def get_user(self, name: str) -> Profile | None:
        with self._session() as db:
            user = db.scalar(select(User).where(User.name == name))
            return _profile(user) if user else None

    def leaderboard(self, limit: int = 100) -> list[Profile]:
        with self._session() as db:
            users = db.scalars(select(User).order_by(User.rating.desc(), User.name).limit(limit))
            return [_profile(u) for u in users]

    # ------------------------------------------------------------ battles

    def create_battle(
        self, battle_id: str, challenge_id: str, a: Profile, b: Profile, ranked: bool, started_at: float
    ) -> None:
        with self._session.begin() as db:
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
                )
            )

    def add_submission(self, battle_id: str, user_id: int, code: str, samples_only: bool) -> int:
        with self._session.begin() as db:
            sub = Submission(
                battle_id=battle_id, user_id=user_id, code=code, samples_only=samples_only, created_at=time.time()
            )
            db.add(sub)
            db.flush()
            return sub.id

    def finish_submission(self, submission_id: int, verdict: str, passed: int, total: int) -> None:
        with self._session.begin() as db:
            sub = db.get(Submission, submission_id)
            if sub is not None:
                sub.verdict, sub.passed, sub.total = verdict, passed, total

    def finish_battle(
        self,
        battle_id: str,
        *,
        status: str,
        winner_id: int | None,
        reason: str,
        ended_at: float,
        new_ratings: dict[int, float] | None,
    ) -> dict[int, tuple[float, float]]:
        """Close a running battle and apply rating changes in one transaction.

        ``new_ratings`` maps user id -> rating after; None leaves ratings and counts alone (unrated or aborted).
        Returns user id -> (before, after). Raises ValueError if the battle is not running (so a result can
        never be applied twice).
        """
        with self._session.begin() as db:
            battle = db.get(Battle, battle_id, with_for_update=True)
            if battle is None or battle.status != "running":
                raise ValueError(f"battle {battle_id} is not running")
            battle.status, battle.winner_id, battle.reason, battle.ended_at = status, winner_id, reason, ended_at
            changes: dict[int, tuple[float, float]] = {}
            for uid, before_attr, after_attr in (
                (battle.player_a_id, "rating_a_before", "rating_a_after"),
                (battle.player_b_id, "rating_b_before", "rating_b_after"),
            ):
                user = db.get(User, uid, with_for_update=True)
                before = user.rating
                after = before
                if new_ratings is not None:
                    after = new_ratings[uid]
                    user.rating = after
                    user.games += 1
                    if winner_id is None:
                        user.draws += 1
                    elif winner_id == uid:
                        user.wins += 1
                    else:
                        user.losses += 1
                setattr(battle, after_attr, after)
                changes[uid] = (before, after)
            return changes

    def abort_running_battles(self) -> int:
        """Mark battles left running by a previous process as aborted (no rating change)."""
        with self._session.begin() as db:
            battles = db.scalars(select(Battle).where(Battle.status == "running")).all()
            for battle in battles:
                battle.status, battle.reason, battle.ended_at = "aborted", "aborted", time.time()
                battle.rating_a_after, battle.rating_b_after = battle.rating_a_before, battle.rating_b_before
            return len(battles)

    def battle_players(self, battle_id: str) -> list[str] | None:
        """Names of a stored battle's two players; None when no battle has this id."""
        with self._session() as db:
            battle = db.get(Battle, battle_id)
            if battle is None:
                return None
            return [db.get(User, battle.player_a_id).name, db.get(User, battle.player_b_id).name]

    def user_battles(self, name: str, limit: int = 100) -> list[dict] | None:
        with self._session() as db:
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
                        "result": result,
                        "ranked": b.ranked,
                        "rating_before": b.rating_a_before if mine_a else b.rating_b_before,
                        "rating_after": b.rating_a_after if mine_a else b.rating_b_after,
                        "reason": b.reason,
                        "started_at": b.started_at,
                        "ended_at": b.ended_at,
                    }
                )
            return out

    def counts(self) -> dict[str, int]:
        """Row counts per table (used by tests to prove that refused input changed nothing)."""
        with self._session() as db:
            return {
                "users": len(db.scalars(select(User.id)).all()),
                "battles": len(db.scalars(select(Battle.id)).all()),
                "submissions": len(db.scalars(select(Submission.id)).all()),
            }


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL keeps readers (REST) from blocking the writer (battle results).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
