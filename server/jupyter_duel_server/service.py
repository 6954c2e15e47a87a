"""The central service: configuration, and the coordination of lobby, battles, judge, ratings and store.

``DuelService`` owns one python-socketio server and the Tornado routes of the REST API. It is embedded in a
Jupyter server by the ``jupyter_duel`` extension, or run on its own by ``jupyter duel serve``. Everything it
sends goes through ``emit`` as a model from ``protocol``, except the relayed edits (``relay``, the hot path,
a dict with ``protocol.OpponentCode``'s fields). The rules themselves live in ``battles``, pairing in
``matchmaker``, rating arithmetic in ``rating``; this module decides when each is asked and tells the players.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from pathlib import Path

import socketio
from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Bytes, Dict, Enum, Float, Instance, Int, List, TraitError, Unicode, Union
from traitlets import default, validate
from traitlets.config import LoggingConfigurable

from . import __version__, protocol
from .auth import AuthError, Identity, IdentitySigner, ResumeTokens, check_guest_name
from .battles import BattleState, Seat, SyncRefused
from .bot import PracticeBot
from .challenges import Challenge, ChallengeLibrary
from .judge import Judge, TestOutcome
from .limits import DEFAULT_RATE_LIMITS, EVENT_CLASSES, Cooldowns, EdgeServer, edge_handler
from .matchmaker import Matchmaker, Pairing, QueueEntry
from .rating import RATING_SYSTEMS, RatingSystem
from .store import NameTaken, Profile, Store

try:
    import orjson
except ImportError:  # then the json module, as before
    orjson = None

BOT_NAME = "Practice bot"
SECONDS_PER_DAY = 86400.0


class ServiceError(Exception):
    """A refusal that becomes an ``error`` event (code from ``protocol.ERROR_CODES``)."""

    def __init__(self, code: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class DuelService(LoggingConfigurable):
    """Matchmaking, battles, judging and ratings for one class or one machine."""

    db_url = Unicode(
        "", help="SQLAlchemy URL of the database. Default: SQLite file duel/duel.sqlite in the Jupyter data dir."
    ).tag(config=True)

    secret = Union(
        [Bytes(), Unicode()],
        help="Secret that signs identity and resume tokens. Default: JUPYTER_DUEL_SECRET, else random per "
        "process (fine when embedded). Set it when the service runs apart from the Jupyter servers that issue "
        "identity tokens.",
    ).tag(config=True)

    allow_guests = Bool(
        False, help="Accept self-chosen display names (register_user with display_name)."
    ).tag(config=True)

    max_code_bytes = Int(
        50 * 1024,
        help="Largest solution accepted, in bytes of UTF-8: by the service (sync_code, submit_code, run_samples) "
        "and by the judge's sandbox runner, which the service builds with this limit.",
    ).tag(config=True)

    submit_cooldown_s = Float(
        3.0, help="Seconds a player waits between two submit_code runs (refused with 'cooldown'); 0: none."
    ).tag(config=True)

    run_samples_cooldown_s = Float(
        1.0, help="Seconds a player waits between two run_samples runs (refused with 'cooldown'); 0: none."
    ).tag(config=True)

    rate_limits = Dict(
        key_trait=Enum(list(EVENT_CLASSES)),
        value_trait=List(minlen=2, maxlen=2),
        default_value=DEFAULT_RATE_LIMITS,
        help="Token buckets per event class, each [events per second, burst], applied per connection and per "
        "player (refused with 'rate_limited'). Classes: sync (sync_code), judge (submit_code, run_samples), lobby "
        "(join_queue, leave_queue, play_bot, forfeit), session (register_user, resume), other (unknown events, "
        "refused frames). A class left out keeps its default; a rate of 0 lifts its limit.",
    ).tag(config=True)

    @validate("rate_limits")
    def _valid_rate_limits(self, proposal):
        limits = {}
        for cls, value in proposal.value.items():
            if not all(type(v) in (int, float) and v >= 0 for v in value):
                raise TraitError(f"DuelService.rate_limits[{cls!r}] is [events per second, burst]: two numbers >= 0")
            limits[cls] = [float(v) for v in value]
        return limits

    max_message_bytes = Int(
        1_000_000,
        help="Largest Socket.IO message a client may send (a websocket frame, or a polling request's body). A "
        "larger websocket message closes the connection (code 1009); a larger polling request gets 413 and its "
        "session is closed.",
    ).tag(config=True)

    send_buffer_bytes = Int(
        1 << 20,
        help="Most characters that may wait to be sent to one connection (in its Engine.IO queue, and apart in "
        "Tornado's write buffer); a connection over it, a client that does not read, is closed.",
    ).tag(config=True)

    send_buffer_messages = Int(
        1000, help="Most messages that may wait to be sent to one connection; over it the connection is closed."
    ).tag(config=True)

    time_limits = Dict(
        per_key_traits={"easy": Int(), "medium": Int(), "hard": Int()},
        default_value={"easy": 600, "medium": 900, "hard": 1200},
        help="Length of a battle in seconds, per challenge difficulty.",
    ).tag(config=True)

    pair_rated_per_day = Int(
        3, help="Most battles a day (24 h) between the same two players that change their ratings; later ones in "
        "that day are recorded unrated. 0: no limit."
    ).tag(config=True)

    dodge_cooldown_s = Float(
        60.0, help="Queue cooldown after a second early exit (a forfeit or a disconnect loss before anybody "
        "submitted) within a day; it doubles with each further one, up to dodge_cooldown_max_s. 0: none."
    ).tag(config=True)

    dodge_cooldown_max_s = Float(3600.0, help="Longest queue cooldown for early exits.").tag(config=True)

    countdown_s = Float(3.0, help="Seconds between match_found and the start of the clock.").tag(config=True)

    disconnect_grace_s = Float(
        60.0, help="Seconds a disconnected player has to come back before losing the battle."
    ).tag(config=True)

    match_interval_s = Float(1.0, help="Seconds between pairing rounds (a join also pairs at once).").tag(
        config=True
    )

    bot_after_s = Float(20.0, help="Seconds of waiting after which the practice bot is offered.").tag(config=True)

    bot_speeds = Dict(
        per_key_traits={"slow": Float(), "normal": Float(), "fast": Float()},
        default_value={"slow": 120.0, "normal": 300.0, "fast": 900.0},
        help="How fast the practice bot types, in characters per minute.",
    ).tag(config=True)

    challenge_dirs = List(
        Unicode(), help="Extra challenge pack directories, added to the Jupyter data paths' duel/challenges."
    ).tag(config=True)

    packs = List(
        Unicode(),
        help="Names of the packs battles draw from (pack.toml name or directory name); empty: every loaded pack.",
    ).tag(config=True)

    base_path = Unicode(
        help="URL prefix of the REST API and the Socket.IO endpoint. Default: JUPYTERHUB_SERVICE_PREFIX when run "
        "as a JupyterHub service, else '/'."
    ).tag(config=True)

    @default("base_path")
    def _default_base_path(self):
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")

    cors_allowed_origins = List(
        Unicode(), help="Origins allowed to open Socket.IO connections besides the service's own."
    ).tag(config=True)

    ping_interval = Float(5.0, help="Seconds between Socket.IO heartbeats.").tag(config=True)
    ping_timeout = Float(5.0, help="Seconds without a heartbeat answer before a connection counts as gone.").tag(
        config=True
    )

    token_max_age = Int(600, help="Seconds an identity token stays valid.").tag(config=True)

    rating_system = Enum(
        list(RATING_SYSTEMS), default_value="elo", help="How ratings move: 'elo' or 'glicko2'."
    ).tag(config=True)

    sandbox = Bool(
        True,
        help="Judge in locked-down kernels (KernelSandboxRunner). False judges in a plain subprocess with no "
        "isolation: only for tests of the service itself on a host without the sandbox.",
    ).tag(config=True)

    rating = Instance(RatingSystem)
    judge = Instance(Judge)

    @default("rating")
    def _default_rating(self):
        return RATING_SYSTEMS[self.rating_system](parent=self)

    @default("judge")
    def _default_judge(self):
        if not self.sandbox:
            return Judge(parent=self)
        from .sandbox.runner import KernelSandboxRunner

        # One code-size limit: the runner refuses exactly what the service refuses.
        runner = KernelSandboxRunner(parent=self, code_limit_bytes=self.max_code_bytes)
        # What the sandbox must mask wherever it falls inside a bound path: our challenge directories and the
        # SQLite database's directory (besides its own deny-list).
        hidden = [str(d) for d in self.challenge_dirs]
        if self.db_url.startswith("sqlite:///") and ":memory:" not in self.db_url:
            hidden.append(os.path.dirname(os.path.abspath(self.db_url[len("sqlite:///"):].split("?", 1)[0])))
        runner.sandbox.hidden_paths = [*runner.sandbox.hidden_paths, *hidden]
        return Judge(parent=self, runner=runner)

    @default("secret")
    def _default_secret(self):
        return os.environ.get("JUPYTER_DUEL_SECRET") or os.urandom(32)

    @default("db_url")
    def _default_db_url(self):
        return "sqlite:///" + str(Path(jupyter_data_dir()) / "duel" / "duel.sqlite")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.signer = IdentitySigner(self.secret, self.token_max_age)
        self.resume_tokens = ResumeTokens(self.secret)
        self.store = Store(self.db_url, self.rating.initial())
        aborted = self.store.abort_running_battles()
        if aborted:
            self.log.info("jupyter-duel: %d battle(s) left running by a previous run marked aborted", aborted)
        dirs = ChallengeLibrary.default_dirs() + [Path(d) for d in self.challenge_dirs]
        # One broken instructor file must not take the service down: it is left out and reported.
        self.challenges = ChallengeLibrary(dirs, strict=False)
        for error in self.challenges.errors:
            self.log.error("jupyter-duel: challenge left out: %s", error)
        unknown = set(self.packs) - set(self.challenges.packs)
        if unknown:
            self.log.warning("jupyter-duel: DuelService.packs names unknown packs: %s", ", ".join(sorted(unknown)))
        self.matchmaker = Matchmaker(parent=self)
        self.battles: dict[str, BattleState] = {}
        self.battle_of: dict[str, str] = {}  # player name -> running battle id
        self.sids: dict[str, set[str]] = {}  # player name -> connected sids
        self._timers: dict[str, asyncio.TimerHandle] = {}  # battle id (or battle id/name) -> timer
        self._tasks: set[asyncio.Task] = set()
        self._pairing_task: asyncio.Task | None = None
        self._sent_window: dict[str, tuple[float, bool]] = {}
        self._rng = random.Random()
        self.judge_problem: str | None = None
        self.cooldowns = Cooldowns()
        # The bounds of the edge (limits.py): the packet class, bounded queues and buffers, the largest message.
        self.sio = EdgeServer(
            send_buffer_bytes=self.send_buffer_bytes,
            send_buffer_messages=self.send_buffer_messages,
            log=self.log,
            max_http_buffer_size=self.max_message_bytes,
            async_mode="tornado",
            cors_allowed_origins=list(self.cors_allowed_origins) or None,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            logger=False,
            engineio_logger=False,
            # Each connection's events are handled in order, inline: no task per relayed keystroke. Nothing
            # here waits long in a handler (judging is spawned), and sio.call() is never used.
            async_handlers=False,
            json=_FastJSON if orjson is not None else None,
        )
        # Engine.IO below it would still start a task per received message: handled inline too.
        self.sio.eio.async_handlers = False
        from .events import DuelNamespace

        self.sio.register_namespace(DuelNamespace(self))
        self.log.info(
            "jupyter-duel service: %d challenge(s), %s ratings, database %s",
            len(self.challenges.all()),
            self.rating_system,
            self.db_url,
        )

    async def start(self) -> None:
        """Start what needs the event loop: the judge's sandbox pool (a host that cannot build the sandbox is
        reported here, once, and every submission is then refused with the reason)."""
        start = getattr(self.judge.runner, "start", None)
        if start is None:
            return
        try:
            await start()
        except Exception as exc:  # the runner names what is missing; the lobby and REST keep working
            self.judge_problem = str(exc)
            self.log.error("jupyter-duel: the judge cannot run: %s", exc)

    # ------------------------------------------------------------ wiring

    def handlers(self) -> list[tuple]:
        """Tornado routes of the REST API and the Socket.IO endpoint under ``base_path``."""
        from .rest import rest_handlers

        prefix = self.base_path if self.base_path.endswith("/") else self.base_path + "/"
        return rest_handlers(self, prefix) + [
            (
                prefix + "socket.io/",
                edge_handler(
                    _uncompressed(socketio.get_tornado_handler(self.sio)),
                    self.sio,
                    max_message_bytes=self.max_message_bytes,
                    log=self.log,
                ),
            ),
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

    def _later(self, key: str, delay: float, coro_fn, *args) -> None:
        """Run ``coro_fn(*args)`` after ``delay`` seconds, replacing any timer under ``key``."""
        self._cancel(key)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(0.0, delay), lambda: self.spawn(coro_fn(*args)))

    def _cancel(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._pairing_task is not None:
            self._pairing_task.cancel()
        await self.judge.close()
        self.store.close()

    # ------------------------------------------------------------ identity and presence

    def identify(self, token: str | None, display_name: str | None) -> Profile:
        """Turn a register_user payload into a stored player, or raise ServiceError."""
        try:
            if token is not None:
                identity = self.signer.verify(token)
            else:
                if not self.allow_guests:
                    raise ServiceError("guests_disabled", "this service does not accept guest names")
                identity = Identity(check_guest_name(display_name), True)
            if identity.name == BOT_NAME:
                raise NameTaken(identity.name)
            return self.store.get_or_create_user(identity.name, identity.guest)
        except AuthError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        except NameTaken:
            raise ServiceError("name_taken", f"the name {identity.name!r} belongs to another player") from None

    def profile_view(self, profile: Profile) -> protocol.UserProfile:
        return protocol.UserProfile(**profile.as_dict(self.rating.provisional(profile.rating_state(), time.time())))

    def player_info(self, profile: Profile, bot: bool = False) -> protocol.PlayerInfo:
        return protocol.PlayerInfo(
            name=profile.name,
            rating=round(profile.rating, 1),
            guest=profile.guest,
            bot=bot,
            provisional=False if bot else self.rating.provisional(profile.rating_state(), time.time()),
        )

    async def connected(self, name: str, sid: str) -> None:
        first = name not in self.sids
        self.sids.setdefault(name, set()).add(sid)
        battle = self.battles.get(self.battle_of.get(name, ""))
        if first and battle is not None and not battle.over:
            seat = battle.seat(name)
            if not seat.connected:
                seat.connected, seat.gone_since = True, None
                self._cancel(f"{battle.id}/{name}")
                await self._send_opponent_status(battle, name)

    async def disconnected(self, name: str, sid: str) -> None:
        sids = self.sids.get(name, set())
        sids.discard(sid)
        if sids:
            return
        self.sids.pop(name, None)
        self.matchmaker.leave(name)
        battle = self.battles.get(self.battle_of.get(name, ""))
        if battle is None or battle.over:
            return
        seat = battle.seat(name)
        seat.connected, seat.gone_since = False, time.time()
        await self._send_opponent_status(battle, name)
        self._later(f"{battle.id}/{name}", self.disconnect_grace_s, self._grace_expired, battle.id, name)

    async def _grace_expired(self, battle_id: str, name: str) -> None:
        battle = self.battles.get(battle_id)
        if battle is None or battle.over or battle.seat(name).connected:
            return
        battle.on_grace_expired(name)
        await self._finish(battle)

    async def _send_opponent_status(self, battle: BattleState, about: str) -> None:
        """Tell ``about``'s opponent how ``about`` is doing."""
        seat, other = battle.seat(about), battle.opponent(about)
        if other.bot:
            return
        grace = None
        if not seat.connected and seat.gone_since is not None:
            grace = round(max(0.0, seat.gone_since + self.disconnect_grace_s - time.time()), 1)
        await self.emit(
            "opponent_status",
            protocol.OpponentStatus(
                battle_id=battle.id,
                name=seat.name,
                connected=seat.connected,
                grace_s=grace,
                submissions=seat.submissions,
                best_passed=seat.best_passed,
            ),
            to_player=other.name,
        )

    # ------------------------------------------------------------ lobby

    def _check_pool(self, pool: str) -> None:
        packs = set(self.packs)
        if not any(pool in ("any", c.difficulty) and (not packs or c.pack in packs) for c in self.challenges.all()):
            raise ServiceError("empty_pool", f"no challenge is available in the {pool!r} pool")

    async def join_queue(self, name: str, msg: protocol.JoinQueue) -> None:
        if name in self.battle_of:
            raise ServiceError("in_battle", "finish the running battle first")
        if name in self.matchmaker:
            raise ServiceError("already_queued", "already waiting for an opponent")
        self._check_pool(msg.pool)
        profile = self.store.get_user(name)
        wait, exits = self.queue_cooldown(profile.id)
        if wait > 0:
            raise ServiceError("queue_cooldown", f"you left {exits} battles early today: the queue opens again "
                               f"in {wait:.0f} s", retry_after=wait)
        entry = QueueEntry(name, msg.pool, msg.ranked, profile.rating)
        self.matchmaker.join(entry)
        self._ensure_pairing_loop()
        await self._pair()
        if name in self.matchmaker:
            await self._send_queue_update(entry, "waiting")

    def queue_cooldown(self, user_id: int) -> tuple[float, int]:
        """(seconds before the player may queue again, their early exits today). A player who keeps leaving
        battles early waits (as lichess does with aborts): the first early exit of a day is free, then
        ``dodge_cooldown_s``, doubling each time, from the latest one."""
        if self.dodge_cooldown_s <= 0:
            return 0.0, 0
        now = time.time()
        exits = self.store.early_exits(user_id, now - SECONDS_PER_DAY)
        if len(exits) < 2:
            return 0.0, len(exits)
        cooldown = min(self.dodge_cooldown_s * 2 ** (len(exits) - 2), self.dodge_cooldown_max_s)
        return max(0.0, exits[-1] + cooldown - now), len(exits)

    async def leave_queue(self, name: str) -> None:
        entry = self.matchmaker.leave(name)
        if entry is None:
            raise ServiceError("not_queued", "not waiting in any queue")
        self._sent_window.pop(name, None)
        await self._send_queue_update(entry, "left")

    def queue_position(self, name: str) -> dict | None:
        entry = self.matchmaker.entry(name)
        if entry is None:
            return None
        return {
            "position": self.matchmaker.position(name),
            "size": self.matchmaker.pool_size(entry.pool),
            "waited_s": round(entry.waited(), 2),
            "window": self.matchmaker.window(entry),
        }

    async def _send_queue_update(self, entry: QueueEntry, status: str) -> None:
        window = self.matchmaker.window(entry)
        bot = status == "waiting" and entry.waited() >= self.bot_after_s
        if status == "waiting":
            self._sent_window[entry.name] = (window, bot)
        payload = protocol.QueueUpdate(
            status=status,
            pool=entry.pool,
            ranked=entry.ranked,
            position=self.matchmaker.position(entry.name),
            size=self.matchmaker.pool_size(entry.pool),
            waited_s=round(entry.waited(), 2),
            window=window,
            bot_available=bot,
        )
        await self.emit("queue_update", payload, to_player=entry.name)

    def _ensure_pairing_loop(self) -> None:
        if self._pairing_task is None or self._pairing_task.done():
            self._pairing_task = asyncio.ensure_future(self._pairing_loop())

    async def _pairing_loop(self) -> None:
        """Pair as windows widen; tell waiting players when their window or the bot offer changes."""
        while True:
            await asyncio.sleep(self.match_interval_s)
            try:
                await self._pair()
                for entry in self.matchmaker.entries():
                    now = (self.matchmaker.window(entry), entry.waited() >= self.bot_after_s)
                    if self._sent_window.get(entry.name) != now:
                        await self._send_queue_update(entry, "waiting")
            except Exception:
                self.log.exception("jupyter-duel: pairing round failed")

    async def _pair(self) -> None:
        pairings = self.matchmaker.pair_round()
        # Every paired player is in a battle before the first await: an event of theirs handled meanwhile (a
        # second tab's join_queue) finds them busy, never free to be paired twice.
        battles = [self._open_battle(p.first.name, p.second.name, p.difficulty, p.first.ranked) for p in pairings]
        for pairing, battle in zip(pairings, battles):
            for entry in (pairing.first, pairing.second):
                self._sent_window.pop(entry.name, None)
                await self._send_queue_update(entry, "matched")
            await self._announce_battle(battle)

    async def play_bot(self, name: str, msg: protocol.PlayBot) -> None:
        if name in self.battle_of:
            raise ServiceError("in_battle", "finish the running battle first")
        self._check_pool(msg.pool)
        # The bot is what the queue offers after bot_after_s of waiting (queue_update's bot_available): before
        # that, a human opponent may still come.
        waiting = self.matchmaker.entry(name)
        if waiting is None:
            raise ServiceError("bot_not_offered", "join the queue first: the bot is offered to whoever waits")
        if waiting.waited() < self.bot_after_s:
            wait = self.bot_after_s - waiting.waited()
            raise ServiceError("bot_not_offered", f"the bot is offered in {wait:.1f} s", retry_after=wait)
        entry = self.matchmaker.leave(name)
        if entry is not None:
            self._sent_window.pop(name, None)
            await self._send_queue_update(entry, "left")
        bot = self.store.get_or_create_user(BOT_NAME, guest=False, bot=True)
        battle = await self._start_battle(name, bot.name, msg.pool, ranked=False, bot=True)
        PracticeBot(self, battle, battle.seat(BOT_NAME), self.bot_speeds[msg.speed]).start()

    # ------------------------------------------------------------ battles

    def _pick_challenge(self, difficulty: str) -> Challenge:
        return self.challenges.choose(difficulty, self._rng, packs=self.packs or None)

    async def _start_battle(self, first: str, second: str, difficulty: str, ranked: bool, bot: bool = False):
        battle = self._open_battle(first, second, difficulty, ranked, bot)
        await self._announce_battle(battle)
        return battle

    def _open_battle(self, first: str, second: str, difficulty: str, ranked: bool, bot: bool = False
                     ) -> BattleState:
        """Create the battle and make both players busy, without awaiting anything."""
        a, b = self.store.get_user(first), self.store.get_user(second)
        challenge = self._pick_challenge(difficulty)
        now = time.time()
        battle = BattleState(
            id=uuid.uuid4().hex,
            challenge=challenge,
            seats=(Seat(a), Seat(b, bot=bot)),
            ranked=ranked and not bot,
            time_limit_s=int(self.time_limits.get(challenge.difficulty, 900)),
            started_at=now + self.countdown_s,
        )
        self.store.create_battle(battle.id, challenge.id, a, b, battle.ranked, battle.started_at)
        self.battles[battle.id] = battle
        for seat in battle.seats:
            self.battle_of[seat.name] = battle.id
        self._later(battle.id, battle.deadline - time.time(), self._time_up, battle.id)
        self.log.info("jupyter-duel: battle %s: %s vs %s on %s", battle.id, *battle.names, challenge.id)
        return battle

    async def _announce_battle(self, battle: BattleState) -> None:
        for seat in battle.seats:
            if not seat.bot:
                await self.emit("match_found", protocol.MatchFound(**self._battle_view(battle, seat)),
                                to_player=seat.name)

    def _battle_view(self, battle: BattleState, seat: Seat) -> dict:
        """What ``match_found`` says to ``seat`` (``battle_state`` starts with the same)."""
        other = battle.opponent(seat.name)
        return dict(
            battle_id=battle.id,
            challenge=protocol.ChallengeView(**battle.challenge.public_view()),
            you=self.player_info(seat.profile),
            opponent=self.player_info(other.profile, bot=other.bot),
            ranked=battle.ranked,
            time_limit_s=battle.time_limit_s,
            started_at=battle.started_at,
            deadline=battle.deadline,
            server_time=time.time(),
            resume_token=self.resume_tokens.issue(battle.id, seat.name),
        )

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

    async def sync_code(self, name: str, msg: protocol.SyncEdit | protocol.SyncCode) -> None:
        if isinstance(msg, protocol.SyncCode):  # the general event path and the practice bot
            msg = protocol.SyncEdit.of(msg)
        battle, seat = self.battle_for(name, msg.battle_id)
        try:
            seat.apply_sync(msg, self.max_code_bytes)
        except SyncRefused as exc:
            raise ServiceError(exc.code, str(exc)) from None
        other = battle.opponent(name)
        if other.bot:
            return
        # protocol.OpponentCode, field for field, without building the model for every edit (the ops are
        # validated already; tests/unit/test_fast_sync_code.py holds the two together).
        payload = {"battle_id": battle.id, "seq": msg.seq, "delta": msg.delta, "text": msg.text}
        await self.relay("opponent_code", payload, other.name)

    async def relay(self, event: str, data: dict, to_player: str) -> None:
        """Send ``data`` to every connection of ``to_player``, straight to Engine.IO: the generic emit looks
        up the room, starts one task per recipient and waits for them all, a large share of the relay's CPU.
        With another client manager (e.g. Redis, the player may be on another process) it is a plain emit."""
        if type(self.sio.manager) is not socketio.AsyncManager:
            await self.sio.emit(event, data, room=f"player:{to_player}")
            return
        sids = self.sids.get(to_player)
        if not sids:
            return
        encoded = self.sio.packet_class(socketio.packet.EVENT, namespace="/", data=[event, data]).encode()
        for sid in list(sids):
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            if eio_sid is not None:
                await self.sio.eio.send(eio_sid, encoded)

    def _check_code(self, code: str) -> None:
        size = len(code.encode("utf-8", "surrogatepass"))
        if size > self.max_code_bytes:
            raise ServiceError("code_too_large", f"the code is {size} bytes; the limit is {self.max_code_bytes}")

    async def submit(self, name: str, battle_id: str, code: str, samples_only: bool) -> int:
        """Start judging; results stream as events. Returns the submission id."""
        battle, seat = self.battle_for(name, battle_id)
        self._check_code(code)
        if not battle.started():
            raise ServiceError("not_started", f"the battle starts in {battle.started_at - time.time():.1f} s")
        if self.judge_problem is not None:
            raise ServiceError("judge_unavailable", self.judge_problem)
        if seat.judging:
            raise ServiceError("judge_busy", "your previous submission is still being judged")
        kind = "run_samples" if samples_only else "submit_code"
        wait = self.cooldowns.remaining(name, kind)
        if wait > 0:
            raise ServiceError("cooldown", f"{kind} again in {wait:.1f} s", retry_after=wait)
        seat.judging = True
        try:
            submission_id = self.store.add_submission(battle.id, seat.profile.id, code, samples_only)
        except Exception:
            seat.judging = False
            raise
        self.cooldowns.start(name, kind, self.run_samples_cooldown_s if samples_only else self.submit_cooldown_s)
        self.spawn(self._judge(battle, seat, submission_id, code, samples_only))
        return submission_id

    async def _judge(self, battle: BattleState, seat: Seat, submission_id: int, code: str, samples_only: bool):
        author = seat.name
        audience = [n for n in ([author] if samples_only else battle.names) if not battle.seat(n).bot]
        seat.last_tests = []

        async def on_test(outcome: TestOutcome) -> None:
            for viewer in audience:
                detail = None
                if viewer == author and outcome.kind == "sample":
                    detail = protocol.TestDetail(
                        call=outcome.call, expected=outcome.expected, got=outcome.got, error=outcome.error
                    )
                result = protocol.TestResult(
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
                )
                if viewer == author:
                    seat.last_tests.append(result)
                await self.emit("test_result", result, to_player=viewer)

        try:
            report = await self.judge.judge(battle.challenge, code, samples_only=samples_only, on_test=on_test)
        except Exception as exc:
            # The runner itself failed (never the submission): say so, count nothing.
            self.log.exception("jupyter-duel: judging submission %d failed", submission_id)
            seat.judging = False
            for viewer in [author]:
                await self.emit(
                    "error",
                    protocol.Error(code="judge_unavailable", message=f"the judge failed: {exc}", event="submit_code"),
                    to_player=viewer,
                )
            return
        seat.judging = False
        self.store.finish_submission(submission_id, report.verdict, report.passed, report.total)
        for viewer in audience:
            result = protocol.SubmissionResult(
                battle_id=battle.id,
                submission_id=submission_id,
                player=author,
                samples_only=samples_only,
                verdict=report.verdict,
                passed=report.passed,
                total=report.total,
                message=report.message if viewer == author else None,
            )
            if viewer == author:
                seat.results.append(result)
            await self.emit("submission_result", result, to_player=viewer)
        if not samples_only and not battle.over:
            outcome = battle.on_submission(author, report.passed, report.total)
            await self._send_opponent_status(battle, author)
            if outcome is not None:
                await self._finish(battle)

    async def forfeit(self, name: str, battle_id: str) -> None:
        battle, _seat = self.battle_for(name, battle_id)
        battle.on_forfeit(name)
        await self._finish(battle)

    async def resume(self, name: str, token: str, sid: str) -> None:
        """Send ``battle_state`` for the running battle the token names, if it is this player's."""
        try:
            battle_id, token_name = self.resume_tokens.verify(token, self._resume_max_age())
        except AuthError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        if token_name != name:
            raise ServiceError("bad_resume_token", "this resume token belongs to another player")
        battle, seat = self.battle_for(name, battle_id)
        other = battle.opponent(name)
        state = protocol.BattleState(
            **self._battle_view(battle, seat),
            your_code=seat.code,
            your_seq=seat.seq,
            opponent_code=other.code,
            opponent_seq=other.seq,
            opponent_connected=other.connected,
            your_tests=seat.last_tests,
            your_submissions=seat.results,
            opponent_submissions=other.submissions,
            opponent_best_passed=other.best_passed,
        )
        await self.emit("battle_state", state, sid=sid)
        if not other.connected:  # the grace countdown, which battle_state does not carry
            await self._send_opponent_status(battle, other.name)

    def _resume_max_age(self) -> int:
        return int(max(self.time_limits.values()) + self.countdown_s + self.disconnect_grace_s + 60)

    async def _time_up(self, battle_id: str) -> None:
        battle = self.battles.get(battle_id)
        if battle is not None and not battle.over:
            battle.on_time_limit()
            await self._finish(battle)

    async def _finish(self, battle: BattleState) -> None:
        """Persist the outcome with the rating changes (one transaction) and tell both players."""
        outcome = battle.outcome
        self._cancel(battle.id)
        for name in battle.names:
            self._cancel(f"{battle.id}/{name}")
        rated = battle.ranked and outcome.reason != "aborted" and outcome.rated
        if rated and self.pair_rated_per_day > 0:
            a, b = (seat.profile.id for seat in battle.seats)
            # The same two accounts give each other rating points only so often: no farming a friend.
            rated = self.store.rated_battles_between(a, b, time.time() - SECONDS_PER_DAY) < self.pair_rated_per_day
        score, now = battle.score_of_first(), time.time()
        winner_id = battle.seat(outcome.winner).profile.id if outcome.winner else None
        changes = self.store.finish_battle(
            battle.id,
            status="aborted" if outcome.reason == "aborted" else "finished",
            winner_id=winner_id,
            reason=outcome.reason,
            ended_at=now,
            # Computed inside the store's transaction from the ratings stored then, never from the ratings at
            # match time: an update from another battle of the same player is never lost.
            rate=(lambda a, b: self.rating.update(a, b, score, now)) if rated else None,
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
            if not seat.bot:
                await self.emit("battle_complete", payload, to_player=seat.name)
        self.log.info("jupyter-duel: battle %s over: %s (%s)", battle.id, outcome.winner, outcome.reason)

    # ------------------------------------------------------------ REST views

    def health(self) -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "players_online": len(self.sids),
            "battles_running": len(self.battles),
            "judge": "unavailable" if self.judge_problem else "ok",
        }

    def queue_info(self, name: str | None = None) -> dict:
        info = {
            "pools": self.matchmaker.sizes(),
            "waiting": len(self.matchmaker),
            "battles_running": len(self.battles),
        }
        if name is not None:
            info["you"] = self.queue_position(name)
        return info

    def history(self, name: str) -> list[dict] | None:
        battles = self.store.user_battles(name)
        if battles is None:
            return None
        for b in battles:
            try:
                b["challenge_title"] = self.challenges.get(b["challenge_id"]).title
            except KeyError:
                b["challenge_title"] = b["challenge_id"]
        return battles


class _FastJSON:
    """The JSON of Socket.IO and Engine.IO packets through orjson (parsing ~3x, serialising ~15x faster than
    the json module for relayed edits). What orjson refuses (integers over 64 bits, NaN literals, lone
    surrogates, non-string keys) goes through the json module as before, so no payload is treated differently."""

    @staticmethod
    def dumps(obj, **kwargs) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(s, **kwargs):
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            return json.loads(s, **kwargs)


def _uncompressed(handler_cls):
    """The Socket.IO handler without per-message deflate: for small code deltas zlib costs more CPU than it
    saves bytes (a third of the relay's CPU per message, measured by benchmarks/mirror_latency.py)."""

    class UncompressedSocketIOHandler(handler_cls):
        def get_compression_options(self):
            return None

    return UncompressedSocketIOHandler
