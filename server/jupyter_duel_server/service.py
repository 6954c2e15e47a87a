"""The central service: configuration, and the coordination of lobby, battles, judge, ratings and store.

``DuelService`` owns one python-socketio server and the Tornado routes of the REST API. It is embedded in a
Jupyter server by the ``jupyter_duel`` extension, or run on its own by ``jupyter duel serve``. Everything it
sends goes through ``emit`` as a model from ``protocol``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from pathlib import Path

import socketio
from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Bytes, Dict, Float, Instance, Int, List, Unicode, Union, default
from traitlets.config import LoggingConfigurable

from . import __version__, protocol
from .auth import AuthError, Identity, IdentitySigner, check_guest_name
from .battles import BattleState, Outcome, Seat, SyncRefused
from .challenges import Challenge, ChallengeLibrary
from .judge import Judge, TestOutcome
from .matchmaker import Matchmaker, Pairing, QueueEntry
from .rating import EloRating
from .store import NameTaken, Profile, Store


class ServiceError(Exception):
    """A refusal that becomes an ``error`` event (code from ``protocol.ERROR_CODES``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class DuelService(LoggingConfigurable):
    """Matchmaking, battles, judging and ratings for one class or one machine."""

    db_url = Unicode(
        "", help="SQLAlchemy URL of the database. Default: SQLite file duel/duel.sqlite in the Jupyter data dir."
    ).tag(config=True)

    secret = Union(
        [Bytes(), Unicode()],
        help="Secret that signs identity tokens. Default: random per process (fine when embedded). "
        "Set it (or JUPYTER_DUEL_SECRET) when the service runs apart from the Jupyter servers that issue tokens.",
    ).tag(config=True)

    allow_guests = Bool(
        False, help="Accept self-chosen display names (register_user with display_name; session ?name=)."
    ).tag(config=True)

    max_code_bytes = Int(50 * 1024, help="Largest solution accepted, in bytes of UTF-8.").tag(config=True)

    time_limits = Dict(
        per_key_traits={"easy": Int(), "medium": Int(), "hard": Int()},
        default_value={"easy": 600, "medium": 900, "hard": 1200},
        help="Length of a battle in seconds, per challenge difficulty.",
    ).tag(config=True)

    challenge_dirs = List(
        Unicode(), help="Extra challenge pack directories, added to the Jupyter data paths' duel/challenges."
    ).tag(config=True)

    base_path = Unicode("/", help="URL prefix of the REST API and the Socket.IO endpoint.").tag(config=True)

    cors_allowed_origins = List(
        Unicode(), help="Origins allowed to open Socket.IO connections besides the service's own."
    ).tag(config=True)

    ping_interval = Float(10.0, help="Seconds between Socket.IO heartbeats.").tag(config=True)
    ping_timeout = Float(10.0, help="Seconds without a heartbeat answer before a connection counts as gone.").tag(
        config=True
    )

    token_max_age = Int(600, help="Seconds an identity token stays valid.").tag(config=True)

    rating = Instance(EloRating)
    judge = Instance(Judge)

    @default("rating")
    def _default_rating(self):
        return EloRating(parent=self)

    @default("judge")
    def _default_judge(self):
        return Judge(parent=self)

    @default("secret")
    def _default_secret(self):
        return os.environ.get("JUPYTER_DUEL_SECRET") or os.urandom(32)

    @default("db_url")
    def _default_db_url(self):
        return "sqlite:///" + str(Path(jupyter_data_dir()) / "duel" / "duel.sqlite")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.signer = IdentitySigner(self.secret, self.token_max_age)
        self.store = Store(self.db_url, self.rating.initial_rating)
        aborted = self.store.abort_running_battles()
        if aborted:
            self.log.info("jupyter-duel: %d battle(s) left running by a previous run marked aborted", aborted)
        dirs = ChallengeLibrary.default_dirs() + [Path(d) for d in self.challenge_dirs]
        self.challenges = ChallengeLibrary(dirs)
        self.matchmaker = Matchmaker()
        self.battles: dict[str, BattleState] = {}
        self.battle_of: dict[str, str] = {}  # player name -> running battle id
        self.sids: dict[str, set[str]] = {}  # player name -> connected sids
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        self._rng = random.Random()
        self.sio = socketio.AsyncServer(
            async_mode="tornado",
            cors_allowed_origins=list(self.cors_allowed_origins) or None,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            logger=False,
            engineio_logger=False,
            # Each connection's events are handled in order, inline: no task per relayed keystroke. Nothing
            # here waits long in a handler (judging is spawned), and sio.call() is never used.
            async_handlers=False,
        )
        from .events import DuelNamespace

        self.sio.register_namespace(DuelNamespace(self))
        self.log.info(
            "jupyter-duel service: %d challenge(s), database %s", len(self.challenges.all()), self.db_url
        )

    # ------------------------------------------------------------ wiring

    def handlers(self) -> list[tuple]:
        """Tornado routes of the REST API and the Socket.IO endpoint under ``base_path``."""
        from .rest import rest_handlers

        prefix = self.base_path if self.base_path.endswith("/") else self.base_path + "/"
        return rest_handlers(self, prefix) + [
            (prefix + "socket.io/", _uncompressed(socketio.get_tornado_handler(self.sio))),
        ]

    async def emit(self, event: str, payload: protocol.Outgoing, to_player: str | None = None, sid=None) -> None:
        room = sid if sid is not None else f"player:{to_player}"
        await self.sio.emit(event, payload.model_dump(mode="json"), room=room)

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("jupyter-duel: background task failed", exc_info=task.exception())

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        self.store.close()

    # ------------------------------------------------------------ identity

    def identify(self, token: str | None, display_name: str | None) -> Profile:
        """Turn a register_user payload into a stored player, or raise ServiceError."""
        try:
            if token is not None:
                identity = self.signer.verify(token)
            else:
                if not self.allow_guests:
                    raise ServiceError("guests_disabled", "this service does not accept guest names")
                identity = Identity(check_guest_name(display_name), True)
            return self.store.get_or_create_user(identity.name, identity.guest)
        except AuthError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        except NameTaken:
            raise ServiceError("name_taken", f"the name {identity.name!r} belongs to another player") from None

    def connected(self, name: str, sid: str) -> None:
        self.sids.setdefault(name, set()).add(sid)

    def disconnected(self, name: str, sid: str) -> None:
        sids = self.sids.get(name, set())
        sids.discard(sid)
        if not sids:
            self.sids.pop(name, None)
            self.matchmaker.leave(name)

    # ------------------------------------------------------------ lobby

    async def join_queue(self, name: str, msg: protocol.JoinQueue) -> None:
        if name in self.battle_of:
            raise ServiceError("in_battle", "finish the running battle first")
        if name in self.matchmaker:
            raise ServiceError("already_queued", "already waiting for an opponent")
        if not any(msg.pool in ("any", c.difficulty) for c in self.challenges.all()):
            raise ServiceError("empty_pool", f"no challenge is available in the {msg.pool!r} pool")
        profile = self.store.get_user(name)
        entry = QueueEntry(name, msg.pool, msg.ranked, profile.rating)
        pairing = self.matchmaker.join(entry)
        if pairing is None:
            await self._send_queue_update(entry, "waiting")
        else:
            await self._start_battle(pairing)

    async def leave_queue(self, name: str) -> None:
        entry = self.matchmaker.leave(name)
        if entry is None:
            raise ServiceError("not_queued", "not waiting in any queue")
        await self._send_queue_update(entry, "left")

    async def _send_queue_update(self, entry: QueueEntry, status: str) -> None:
        payload = protocol.QueueUpdate(
            status=status,
            pool=entry.pool,
            ranked=entry.ranked,
            position=self.matchmaker.position(entry.name),
            size=self.matchmaker.pool_size(entry.pool),
            waited_s=round(entry.waited(), 2),
        )
        await self.emit("queue_update", payload, to_player=entry.name)

    # ------------------------------------------------------------ battles

    def _pick_challenge(self, difficulty: str) -> Challenge:
        return self.challenges.choose(difficulty, self._rng)

    async def _start_battle(self, pairing: Pairing) -> None:
        first = self.store.get_user(pairing.first.name)
        second = self.store.get_user(pairing.second.name)
        challenge = self._pick_challenge(pairing.difficulty)
        battle = BattleState(
            id=uuid.uuid4().hex,
            challenge=challenge,
            seats=(Seat(first), Seat(second)),
            ranked=pairing.first.ranked,
            time_limit_s=int(self.time_limits.get(challenge.difficulty, 900)),
            started_at=time.time(),
        )
        self.store.create_battle(battle.id, challenge.id, first, second, battle.ranked, battle.started_at)
        self.battles[battle.id] = battle
        for entry in (pairing.first, pairing.second):
            self.battle_of[entry.name] = battle.id
            await self._send_queue_update(entry, "matched")
        view = protocol.ChallengeView(**challenge.public_view())
        for seat in battle.seats:
            other = battle.opponent(seat.name)
            await self.emit(
                "match_found",
                protocol.MatchFound(
                    battle_id=battle.id,
                    challenge=view,
                    you=_player_info(seat.profile),
                    opponent=_player_info(other.profile),
                    ranked=battle.ranked,
                    time_limit_s=battle.time_limit_s,
                    started_at=battle.started_at,
                ),
                to_player=seat.name,
            )
        loop = asyncio.get_running_loop()
        self._timers[battle.id] = loop.call_later(
            battle.time_limit_s, lambda: self.spawn(self._time_up(battle.id))
        )
        self.log.info("jupyter-duel: battle %s: %s vs %s on %s", battle.id, *battle.names, challenge.id)

    def battle_for(self, name: str, battle_id: str) -> tuple[BattleState, Seat]:
        """The running battle ``battle_id`` and ``name``'s seat in it, or the precise refusal."""
        battle = self.battles.get(battle_id)
        if battle is None:
            players = self.store.battle_players(battle_id)
            if players is None:
                raise ServiceError("unknown_battle", "no battle has this id")
            if name not in players:
                raise ServiceError("not_in_battle", "this is not your battle")
            raise ServiceError("battle_over", "this battle has finished")
        seat = battle.seat(name)
        if seat is None:
            raise ServiceError("not_in_battle", "this is not your battle")
        if battle.over:
            raise ServiceError("battle_over", "this battle has finished")
        return battle, seat

    async def sync_code(self, name: str, msg: protocol.SyncCode) -> None:
        battle, seat = self.battle_for(name, msg.battle_id)
        try:
            seat.apply_sync(msg, self.max_code_bytes)
        except SyncRefused as exc:
            raise ServiceError(exc.code, str(exc)) from None
        delta = [op.model_dump() for op in msg.delta] if msg.delta is not None else None
        payload = protocol.OpponentCode(battle_id=battle.id, seq=msg.seq, delta=delta, text=msg.text)
        await self.emit("opponent_code", payload, to_player=battle.opponent(name).name)

    def _check_code(self, code: str) -> None:
        size = len(code.encode("utf-8", "surrogatepass"))
        if size > self.max_code_bytes:
            raise ServiceError("code_too_large", f"the code is {size} bytes; the limit is {self.max_code_bytes}")

    async def submit(self, name: str, battle_id: str, code: str, samples_only: bool) -> int:
        """Start judging; results stream as events. Returns the submission id."""
        battle, seat = self.battle_for(name, battle_id)
        self._check_code(code)
        if seat.judging:
            raise ServiceError("judge_busy", "your previous submission is still being judged")
        seat.judging = True
        try:
            submission_id = self.store.add_submission(battle.id, seat.profile.id, code, samples_only)
        except Exception:
            seat.judging = False
            raise
        self.spawn(self._judge(battle, seat, submission_id, code, samples_only))
        return submission_id

    async def _judge(self, battle: BattleState, seat: Seat, submission_id: int, code: str, samples_only: bool):
        author = seat.name
        audience = [author] if samples_only else list(battle.names)

        async def on_test(outcome: TestOutcome) -> None:
            for viewer in audience:
                detail = None
                if viewer == author and outcome.kind == "sample":
                    detail = protocol.TestDetail(
                        call=outcome.call, expected=outcome.expected, got=outcome.got, error=outcome.error
                    )
                await self.emit(
                    "test_result",
                    protocol.TestResult(
                        battle_id=battle.id,
                        submission_id=submission_id,
                        player=author,
                        kind=outcome.kind,
                        index=outcome.index,
                        total=outcome.total,
                        passed=outcome.passed,
                        verdict=outcome.verdict,
                        time_ms=round(outcome.time_ms, 3),
                        detail=detail,
                    ),
                    to_player=viewer,
                )

        try:
            report = await self.judge.judge(battle.challenge, code, samples_only=samples_only, on_test=on_test)
        finally:
            seat.judging = False
        self.store.finish_submission(submission_id, report.verdict, report.passed, report.total)
        for viewer in audience:
            await self.emit(
                "submission_result",
                protocol.SubmissionResult(
                    battle_id=battle.id,
                    submission_id=submission_id,
                    player=author,
                    samples_only=samples_only,
                    verdict=report.verdict,
                    passed=report.passed,
                    total=report.total,
                    message=report.message if viewer == author else None,
                ),
                to_player=viewer,
            )
        if not samples_only and not battle.over:
            seat.submissions += 1
            outcome = battle.on_submission(author, report.passed, report.total)
            if outcome is not None:
                await self._finish(battle)

    async def forfeit(self, name: str, battle_id: str) -> None:
        battle, _seat = self.battle_for(name, battle_id)
        battle.on_forfeit(name)
        await self._finish(battle)

    async def _time_up(self, battle_id: str) -> None:
        battle = self.battles.get(battle_id)
        if battle is not None and not battle.over:
            battle.on_time_limit()
            await self._finish(battle)

    async def _finish(self, battle: BattleState) -> None:
        """Persist the outcome with the rating changes (one transaction) and tell both players."""
        outcome: Outcome = battle.outcome
        timer = self._timers.pop(battle.id, None)
        if timer is not None:
            timer.cancel()
        a, b = battle.seats
        rated = battle.ranked and outcome.reason != "aborted"
        new_ratings = None
        if rated:
            # Ratings as stored now, not at match time: an update from another battle is never lost.
            ra, rb = self.store.get_user(a.name).rating, self.store.get_user(b.name).rating
            new_a, new_b = self.rating.update(ra, rb, battle.score_of_first())
            new_ratings = {a.profile.id: new_a, b.profile.id: new_b}
        winner_id = battle.seat(outcome.winner).profile.id if outcome.winner else None
        changes = self.store.finish_battle(
            battle.id,
            status="aborted" if outcome.reason == "aborted" else "finished",
            winner_id=winner_id,
            reason=outcome.reason,
            ended_at=time.time(),
            new_ratings=new_ratings,
        )
        self.battles.pop(battle.id, None)
        for seat in battle.seats:
            if self.battle_of.get(seat.name) == battle.id:
                del self.battle_of[seat.name]
        payload = protocol.BattleComplete(
            battle_id=battle.id,
            winner=outcome.winner,
            reason=outcome.reason,
            ranked=rated,
            ratings=[
                protocol.RatingChange(
                    name=seat.name,
                    before=round(changes[seat.profile.id][0], 1),
                    after=round(changes[seat.profile.id][1], 1),
                )
                for seat in battle.seats
            ],
        )
        for seat in battle.seats:
            await self.emit("battle_complete", payload, to_player=seat.name)
        self.log.info("jupyter-duel: battle %s over: %s (%s)", battle.id, outcome.winner, outcome.reason)

    # ------------------------------------------------------------ REST views

    def health(self) -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "players_online": len(self.sids),
            "battles_running": len(self.battles),
        }

    def queue_info(self) -> dict:
        return {
            "pools": self.matchmaker.sizes(),
            "waiting": len(self.matchmaker),
            "battles_running": len(self.battles),
        }


def _uncompressed(handler_cls):
    """The Socket.IO handler without per-message deflate: for small code deltas zlib costs more CPU than it
    saves bytes (a third of the relay's CPU per message, measured by benchmarks/mirror_latency.py)."""

    class UncompressedSocketIOHandler(handler_cls):
        def get_compression_options(self):
            return None

    return UncompressedSocketIOHandler


def _player_info(profile: Profile) -> protocol.PlayerInfo:
    return protocol.PlayerInfo(name=profile.name, rating=round(profile.rating, 1), guest=profile.guest)
