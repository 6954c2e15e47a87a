"""The central service: its configuration, its parts, and the one way the parts reach the players.

``DuelService`` holds every option (``c.DuelService.*``), builds the parts (store, judge, challenge library,
matchmaker, rating system, one python-socketio server) and three rooms with one job each:

- ``accounts.Accounts``: who a connection is, profiles, who is online;
- ``lobby.Lobby``: the queue, the pairing rounds and the practice bot offer;
- ``battleroom.BattleRoom``: the running battles, from ``match_found`` to ``battle_complete``;
- ``tournamentroom.TournamentRoom``: tournaments (arena, Swiss, round robin) whose games are battles.

Clients reach the rooms through the Socket.IO namespace (``events``) and the REST API (``rest``), whose Tornado
routes ``handlers`` gives. A room calls another only through its public methods, and reaches players only
through the service: ``emit`` (a model from ``protocol``), ``relay`` (the hot path: relayed edits, a dict with
``protocol.OpponentCode``'s fields), the timers ``later`` and ``cancel``, and ``spawn``. With ``redis_url`` the
service is one worker of several (``cluster``: Redis, leases, requests; ``workers``: the lobby worker, where battles
run): ``emit`` then reaches players on any worker, while ``relay`` stays within the process, which runs both
players' battle. The rooms reach the store only through ``db``
(``await service.db(store.method, ...)``: a worker thread, never the event loop; ``after=`` a battle's id keeps
that battle's writes in order). The service is embedded in a Jupyter server by the
``jupyter_duel`` extension, or runs on its own under ``jupyter duel serve``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import socketio
from jupyter_core.paths import jupyter_data_dir
from sqlalchemy.engine import make_url
from traitlets import Bool, Bytes, Dict, Enum, Float, Instance, Int, List, TraitError, Unicode, Union
from traitlets import default, validate
from traitlets.config import LoggingConfigurable

from . import __version__, mirror, protocol
from .accounts import Accounts
from .auth import IdentitySigner, ResumeTokens
from .battleroom import BattleRoom
from .challenges import ChallengeLibrary
from .classroom import Classroom
from .events import DuelNamespace
from .judge import MAX_OUTPUT_CHARS, Judge
from .limits import DEFAULT_RATE_LIMITS, EVENT_CLASSES, EdgeServer, edge_handler
from .lobby import Lobby
from .matchmaker import Matchmaker
from .metrics import MeteredJudge, ServiceMetrics
from .origins import origin_checker
from .protocol import ServiceError
from .rating import RATING_SYSTEMS, SECONDS_PER_DAY, RatingSystem
from .dbworkers import DatabaseWorkers
from .rest import rest_handlers
from .store import Store
from .tournamentroom import TournamentRoom

try:
    import orjson
except ImportError:  # then the json module, as before
    orjson = None

__all__ = ["DuelService", "SECONDS_PER_DAY", "ServiceError"]


class DuelService(LoggingConfigurable):
    """Matchmaking, battles, judging and ratings for one class or one machine."""

    db_url = Unicode(
        "", help="SQLAlchemy URL of the database. Default: SQLite file duel/duel.sqlite in the Jupyter data dir."
    ).tag(config=True)

    db_workers = Int(
        8, min=1, help="Threads that make the database calls, so that none blocks the event loop: at most this "
        "many connections to the database from this process; more calls wait their turn."
    ).tag(config=True)

    redis_url = Unicode(
        "", help="Redis URL (redis://host:6379/0) joining several service processes on one database "
        "(docs/hosting.md, Several processes). Empty: one process, nothing crosses processes."
    ).tag(config=True)

    redis_max_connections = Int(
        64, min=2, help="Connections each of this process's two Redis pools (Socket.IO's emits, the workers' "
        "requests) may open; more callers wait for a free one (never dropped)."
    ).tag(config=True)

    redis_prefix = Unicode("duel", help="Prefix of this service's Redis keys and channels.").tag(config=True)

    worker_id = Unicode(
        "", help="This process's name among the service's workers (with redis_url): its battles are its own, "
        "carried on by another worker only when its lease runs out."
    ).tag(config=True)

    worker_url = Unicode(
        help="Where clients reach this worker (its base URL): sent in match_found and registered so that the "
        "players of a battle connect to the worker that runs it. Default: the address it listens on."
    ).tag(config=True)

    lobby_worker = Unicode(
        "0", help="The worker (worker_id) that runs the lobby: the queue, challenges, who is online and the class "
        "view; the other workers forward lobby events to it."
    ).tag(config=True)

    worker_lease_s = Float(
        5.0, min=0.5, help="Seconds a worker's lease lasts unless renewed (renewed every third of it). After a "
        "crash, its battles are carried on when the lease has run out: by the worker restarted, or another."
    ).tag(config=True)

    rpc_timeout_s = Float(
        10.0, help="Seconds a worker waits for another's answer (a forwarded lobby event, opening a battle) before "
        "refusing with 'worker_unavailable'."
    ).tag(config=True)

    secret = Union(
        [Bytes(), Unicode()],
        help="Secret that signs identity and resume tokens. Default: JUPYTER_DUEL_SECRET, else random per "
        "process (fine when embedded). Set it when the service runs apart from the Jupyter servers that issue "
        "identity tokens.",
    ).tag(config=True)

    hub = Bool(
        False, help="Run as a JupyterHub service (hub-managed, or external with an API token): every user is "
        "who the Hub says (HubOAuth), from JupyterHub's JUPYTERHUB_* environment; guests and identity tokens "
        "are refused."
    ).tag(config=True)

    hub_instructor_scope = Unicode(
        "custom:duel:admin", help="The Hub scope that makes a user an instructor (give it with a role in the hub's "
        "load_roles; list it in the service's oauth_client_allowed_scopes)."
    ).tag(config=True)

    hub_admins_are_instructors = Bool(
        True, help="Hub admins are instructors too (the service's token needs read:users to see who is admin)."
    ).tag(config=True)

    instructors = List(
        Unicode(), help="Players (handles) who are instructors whatever their identity says."
    ).tag(config=True)

    allow_guests = Bool(
        False, help="Accept self-chosen display names (register_user with display_name)."
    ).tag(config=True)

    rate_guests = Bool(
        False, help="Let guests play ranked duels and appear on the leaderboard. Off: a guest's ranked queue is "
        "casual, since anyone can make a guest and a rating is only worth what its account is."
    ).tag(config=True)

    mirror_modes = Dict(
        value_trait=Enum(list(mirror.MODES)),
        default_value=dict(mirror.DEFAULT_MODES),
        help="What a player sees of the opponent's code while a battle runs: 'live', 'delayed' (mirror_delay_s "
        "late), 'shape' (each line's indentation and length, no text) or 'off'. Keys 'ranked' and 'casual', "
        "and 'ranked/<pool>' or 'casual/<pool>' (easy, medium, hard, any) for one pool. Default: casual live, "
        "ranked shape (a ranked duel is never won by copying). Both codes are shown in full when a battle ends.",
    ).tag(config=True)

    @validate("mirror_modes")
    def _valid_mirror_modes(self, proposal):
        for key in proposal.value:
            if not mirror.valid_key(key):
                raise TraitError(f"DuelService.mirror_modes: {key!r} is not ranked, casual, ranked/<pool> or "
                                 "casual/<pool>")
        return proposal.value

    mirror_delay_s = Float(30.0, help="How late the 'delayed' mirror shows the opponent's edits, in seconds.").tag(
        config=True
    )

    mirror_shape_interval_s = Float(
        1.0, help="Most often the 'shape' mirror sends an opponent's outline, in seconds."
    ).tag(config=True)

    paste_signal_chars = Int(
        200, help="An edit that adds at least this many characters at once is kept as a paste, a fair-play "
        "signal shown in the history."
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
        1.0, help="Seconds a player waits between two run_samples runs (refused with 'cooldown'); 0: none. "
        "run_custom shares this cooldown."
    ).tag(config=True)
    run_output_chars = Int(
        4000, min=0, max=MAX_OUTPUT_CHARS,
        help="Most characters of printed output shown per sample test of a run_samples run and per run_custom "
        "run (more is cut, with a marker); 0 shows none. Hidden tests never show output.",
    ).tag(config=True)

    rate_limits = Dict(
        key_trait=Enum(list(EVENT_CLASSES)),
        value_trait=List(minlen=2, maxlen=2),
        default_value=DEFAULT_RATE_LIMITS,
        help="Token buckets per event class, each [events per second, burst], applied per connection and per "
        "player (refused with 'rate_limited'). Classes: sync (sync_code), judge (submit_code, run_samples, run_custom), lobby "
        "(join_queue, leave_queue, play_bot, forfeit, challenge_player, answer_challenge, react, "
        "list_tournaments, join_tournament, leave_tournament, pause_tournament), session "
        "(register_user, resume, watch_room, spectate), class (class_settings, pair_players, abort_battle), other "
        "(unknown events, refused frames). A class left out keeps its default; a rate of 0 lifts its limit.",
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

    react_cooldown_s = Float(
        2.0, help="Seconds a player waits between two quick reactions (react) to the opponent."
    ).tag(config=True)

    countdown_s = Float(3.0, help="Seconds between match_found and the start of the clock.").tag(config=True)

    state_flush_interval_s = Float(
        1.0, min=0.05, help="Seconds between two writes of the running battles' state (each player's code, typing timeline, "
        "last run) and of the heartbeat, so that a restarted service carries them on (docs/protocol.md § After "
        "a restart). Also written before every judged run is accepted. The clock gives back the downtime "
        "measured from the last heartbeat: at most this much more than the real outage.",
    ).tag(config=True)

    disconnect_grace_s = Float(
        60.0, help="Seconds a disconnected player has to come back before losing the battle."
    ).tag(config=True)

    match_interval_s = Float(1.0, help="Seconds between pairing rounds (a join also pairs at once).").tag(
        config=True
    )

    tournament_rematch_after_s = Float(
        1.0, min=0.0, help="Arena: two players who just met may be paired again only once both have waited this "
        "many seconds (and nobody else fits)."
    ).tag(config=True)

    tournament_round_break_s = Float(
        10.0, min=0.0, help="Swiss and round robin: seconds between the end of a round and the automatic pairing "
        "of the next (the standings are shown meanwhile; an instructor's next_round pairs it at once)."
    ).tag(config=True)

    tournament_state_interval_s = Float(
        0.5, min=0.0, help="Most often a tournament's entrants get tournament_state, and registered players the "
        "tournaments list, in seconds: changes within it are sent together."
    ).tag(config=True)

    tournament_state_bytes_per_s = Float(
        50_000.0, min=0.0, help="Most characters a second of tournament_state each entrant receives on average: a "
        "tournament whose view has grown large (a long arena's games) is sent less often than "
        "tournament_state_interval_s. 0: no such bound."
    ).tag(config=True)

    tournament_long_poll_max_s = Float(
        30.0, min=0.0, help="Longest wait of a long-poll of GET api/tournaments/{id}?version=N&wait=S, in seconds "
        "(a longer wait asked for is cut to this)."
    ).tag(config=True)

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

    judge_on_gateways = Bool(
        False,
        help="Judge on the sandboxed kernels of other hosts, through the Kernel Gateways of "
        "c.GatewayPoolRunner.gateways (docs/hosting.md, 'Judging on other hosts'), instead of on this host.",
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
        if self.judge_on_gateways:
            from .remote import GatewayPoolRunner

            return Judge(parent=self, runner=GatewayPoolRunner(parent=self, code_limit_bytes=self.max_code_bytes))
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
        # Built (and migrated to the newest schema) before the event loop serves anybody; from then on the rooms
        # reach it only through ``db``.
        self.store = Store(self.db_url, self.rating.initial(), pool_size=self.db_workers)
        delay = float(os.environ.get("JUPYTER_DUEL_DB_DELAY_S") or 0)
        if delay > 0:  # benchmarks/db_latency.py: a slow database, to show that the relay does not wait for it
            self.store.slow_down(delay)
        self.db = DatabaseWorkers(self.db_workers)
        dirs = ChallengeLibrary.default_dirs() + [Path(d) for d in self.challenge_dirs]
        # One broken instructor file must not take the service down: it is left out and reported.
        self.challenges = ChallengeLibrary(dirs, strict=False)
        for error in self.challenges.errors:
            self.log.error("jupyter-duel: challenge left out: %s", error)
        unknown = set(self.packs) - set(self.challenges.packs)
        if unknown:
            self.log.warning("jupyter-duel: DuelService.packs names unknown packs: %s", ", ".join(sorted(unknown)))
        self.matchmaker = Matchmaker(parent=self)
        self.judge_problem: str | None = None  # why the judge cannot run on this host (found by start)
        self._timers: dict[str, asyncio.TimerHandle] = {}  # battle id (or battle id/name) -> timer
        self._tasks: set[asyncio.Task] = set()
        self.cluster = None
        manager = None
        if self.redis_url:
            from .cluster import Cluster, RedisManager

            if not self.worker_id:
                raise TraitError("DuelService.redis_url needs DuelService.worker_id")
            manager = RedisManager(self.redis_url, self.redis_max_connections, channel=f"{self.redis_prefix}:sio")
            self.cluster = Cluster(self)
        # The bounds of the edge (limits.py): the packet class, bounded queues and buffers, the largest message.
        self.sio = EdgeServer(
            send_buffer_bytes=self.send_buffer_bytes,
            send_buffer_messages=self.send_buffer_messages,
            log=self.log,
            max_http_buffer_size=self.max_message_bytes,
            async_mode="tornado",
            cors_allowed_origins=origin_checker(list(self.cors_allowed_origins)),
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            logger=False,
            engineio_logger=False,
            # Each connection's events are handled in order, inline: no task per relayed keystroke. Nothing
            # here waits long in a handler (judging is spawned), and sio.call() is never used.
            async_handlers=False,
            json=_FastJSON if orjson is not None else None,
            client_manager=manager,
        )
        # Engine.IO below it would still start a task per received message: handled inline too.
        self.sio.eio.async_handlers = False
        # Prometheus metrics (metrics.py), in a registry of this service's own.
        self.metrics = ServiceMetrics(self)
        # The rooms, each given the parts it uses; the accounts tell the other two when a player comes and goes.
        # The battle room judges through MeteredJudge, which times each run and counts its verdict.
        self.battles = BattleRoom(self, self.store, self.challenges, MeteredJudge(self.judge, self.metrics),
                                  self.rating, ResumeTokens(self.secret))
        self.lobby = Lobby(self, self.store, self.challenges, self.matchmaker, self.battles)
        self.accounts = Accounts(self, self.store, self.signer, self.rating, self.battles, self.lobby)
        self.classroom = Classroom(self, self.store, self.challenges, self.battles, self.lobby, self.accounts)
        self.tournaments = TournamentRoom(self, self.store, self.challenges, self.battles, self.lobby,
                                          self.accounts)
        self.namespace = DuelNamespace(self)
        self.sio.register_namespace(self.namespace)
        self.sio.hot_events["sync_code"] = self.namespace.hot_sync_code
        self.front_door = None
        if self.hub:
            from .hub import HubFrontDoor

            self.front_door = HubFrontDoor(self)
        self.log.info(
            "jupyter-duel service: %d challenge(s), %s ratings, database %s",
            len(self.challenges.all()),
            self.rating_system,
            make_url(self.db_url).render_as_string(hide_password=True),  # never the password in the log
        )

    async def start(self) -> None:
        """Start what needs the event loop: the judge's sandbox pool (a host that cannot build the sandbox is
        reported here, once, and every submission is then refused with the reason), the battles a previous
        process left running (carried on) and the flusher that keeps running battles durable."""
        start = getattr(self.judge.runner, "start", None)
        if start is not None:
            try:
                await start()
            except Exception as exc:  # the runner names what is missing; the lobby and REST keep working
                self.judge_problem = str(exc)
                self.log.error("jupyter-duel: the judge cannot run: %s", exc)
        if self.cluster is not None:
            from .workers import Workers

            self.workers = Workers(self)
            await self.workers.start()  # the lease first: the battles carried on below are this worker's
        # Tournaments run where the lobby does (one process, or the lobby worker).
        tournaments_here = self.cluster is None or self.workers.lobby_here
        if tournaments_here:
            await self.tournaments.restore()  # first: the battles carried on find their tournaments
        await self.battles.restore()
        if tournaments_here:
            await self.tournaments.carry_on()
        self.spawn(self.battles.flusher())
        if self.cluster is not None:
            self.spawn(self.workers.beat())

    async def close(self) -> None:
        try:  # the tournaments' last changes are written before anything stops
            await self.tournaments.flush()
        except Exception:
            self.log.exception("jupyter-duel: the last write of the tournaments failed")
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        try:  # a clean stop loses nothing typed since the last flush
            await self.battles.flush()
        except Exception:
            self.log.exception("jupyter-duel: the last flush of the running battles failed")
        self.lobby.close()
        await self.judge.close()
        if self.cluster is not None:
            await self.cluster.close()
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)
        self.store.close()

    def handlers(self) -> list[tuple]:
        """Tornado routes of the REST API and the Socket.IO endpoint under ``base_path``; as a JupyterHub
        service, each behind the hub (``hub.hub_protected``), with the OAuth routes."""
        prefix = self.base_path if self.base_path.endswith("/") else self.base_path + "/"
        routes = rest_handlers(self, prefix) + [
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
        if self.front_door is None:
            return routes
        from .hub import hub_protected

        protected = [(path, hub_protected(cls, self.front_door, open_paths=("/api/health",)), *rest)
                     for path, cls, *rest in routes]
        return self.front_door.handlers(prefix) + protected

    def tornado_settings(self) -> dict:
        """Settings the Tornado application serving ``handlers`` needs (the hub's OAuth cookies are signed)."""
        secret = self.secret if isinstance(self.secret, bytes) else self.secret.encode()
        return {"cookie_secret": secret} if self.front_door is not None else {}

    def health(self) -> dict:
        """The ``/api/health`` view."""
        return {
            "status": "ok",
            "version": __version__,
            "players_online": self.accounts.online(),
            "battles_running": self.battles.count(),
            "judge": "unavailable" if self.judge_problem or not self._judge_hosts_up() else "ok",
        }

    def _judge_hosts_up(self) -> bool:
        """False when the judge runs on other hosts and none of them answers (GatewayPoolRunner)."""
        available = getattr(self.judge.runner, "available", None)
        return available() if callable(available) else True

    # ------------------------------------------------------------ how the rooms reach players

    async def emit(self, event: str, payload: protocol.Outgoing, to_player: str | None = None, sid=None) -> None:
        """Send ``payload`` to every connection of ``to_player``, or to the one connection ``sid``."""
        room = sid if sid is not None else f"player:{to_player}"
        if event == "error":
            self.metrics.error_sent(payload.code)
        # With Redis every emit is published to every worker; one to a connection of this process needs not.
        local = sid is not None and self.cluster is not None and self.sio.manager.is_connected(sid, "/")
        await self.sio.emit(event, payload.model_dump(mode="json"), room=room, ignore_queue=local)

    async def emit_to_players(self, event: str, payload: protocol.Outgoing, players: list[str]) -> int:
        """Send ``payload`` to every connection of each of ``players`` (built once); returns its size in
        characters of JSON."""
        data = payload.model_dump(mode="json")
        for name in players:
            await self.sio.emit(event, data, room=f"player:{name}")
        return len(self.sio.packet_class.json.dumps(data)) if players else 0

    async def broadcast(self, event: str, payload: protocol.Outgoing) -> None:
        """Send ``payload`` to every registered connection."""
        await self.sio.emit(event, payload.model_dump(mode="json"), room="players")

    def relay(self, event: str, data: dict, to_player: str, received_at: float | None = None) -> None:
        """Send ``data`` to every connection of ``to_player``, straight to Engine.IO and without awaiting
        (``limits.BoundedEngineIO.send_now``): the generic emit looks up the room, starts one task per recipient
        and waits for them all, a large share of the relay's CPU. Only this process's connections: with several
        workers a battle and its players' connections live on one (a player still connected elsewhere gets the
        battle's state when they resume on it). ``received_at`` (``time.perf_counter``): when the edit relayed
        arrived, for the relay latency metric."""
        sids = self.accounts.sids.get(to_player)
        if not sids:
            return
        encoded = self.sio.packet_class(socketio.packet.EVENT, namespace="/", data=[event, data]).encode()
        for sid in list(sids):
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            if eio_sid is not None:  # (the lobby worker's presence holds other workers' connections too)
                self.sio.eio.send_now(eio_sid, encoded)
        if received_at is not None:
            self.metrics.relayed(received_at)

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` in the background: its failure is logged, and ``close`` cancels it."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("jupyter-duel: background task failed", exc_info=task.exception())

    def later(self, key: str, delay: float, coro_fn, *args) -> None:
        """Run ``coro_fn(*args)`` after ``delay`` seconds, replacing any timer under ``key``."""
        self.cancel(key)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(0.0, delay), lambda: self.spawn(coro_fn(*args)))

    def cancel(self, key: str) -> None:
        """Cancel the timer under ``key``, if there is one."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()


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
