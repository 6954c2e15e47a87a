"""The battle room: every running battle, from ``match_found`` to ``battle_complete``.

A battle the lobby opens is announced to both players. The room applies each player's edits and shows them to
the opponent as far as the battle's mirror mode allows (``mirror``: live, delayed, shape or off), judges
submissions and streams their results, and ends the battle on a solve, a forfeit, the time limit, or an absence
longer than the grace period (``battles`` holds the rules that decide). The end is stored in one transaction
with the rating changes and the fair-play signals, and both codes are revealed. ``resume`` sends a returning
player the battle as they left it. Instructors may spectate a battle (both codes at full fidelity, whatever the
mirror) and abort it with a reason. Running battles are flushed to the store as they change and carried on by a
restarted service (``restore``). Events and timers go through the service (``emit``, ``relay``, ``later``);
``changed`` is called whenever what the class view shows of the battles changes.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable

from . import fairplay, mirror, protocol
from .accounts import player_info
from .auth import AuthError, ResumeTokens
from .battles import BattleState, Seat, SyncRefused
from .challenges import Challenge, ChallengeLibrary, TestCase
from .codec import EncodingError, encode
from .judge import CustomRunReport, Judge, TestOutcome
from .limits import Cooldowns
from .protocol import ServiceError, clip
from .rating import SECONDS_PER_DAY
from .store import LOST_VERDICT, Profile, SeatFlush, Store

if TYPE_CHECKING:
    from .rating import RatingSystem
    from .service import DuelService


#: Most edits of one player a battle's replay keeps (one every 80 ms for the longest battle is about 15,000).
MAX_TIMELINE_EDITS = 20_000

#: Seconds after its end during which a battle's players may still react ("well played").
REACT_AFTER_END_S = 60.0

#: Largest encoded custom input (JSON bytes) sent to the sandbox.
MAX_CUSTOM_ARGS_BYTES = 64 * 1024


def arity(challenge: Challenge) -> tuple[int, int | None]:
    """How many positional arguments the challenge's function takes: (fewest, most; None when unbounded)."""
    try:
        fn = ast.parse(challenge.signature.strip() + "\n    pass\n").body[0]
    except (SyntaxError, IndexError, ValueError):
        fn = None
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        n = len(challenge.samples[0].args) if challenge.samples else 0
        return n, n
    positional = fn.args.posonlyargs + fn.args.args
    return len(positional) - len(fn.args.defaults), None if fn.args.vararg else len(positional)


def parse_call_args(text: str, challenge: Challenge) -> tuple:
    """The arguments of a custom run: ``text`` as written between a call's parentheses (``[2, 7], 9``), each
    a Python literal (``ast.literal_eval``: never evaluated as code), as many as the function takes, encodable
    for the sandbox. Anything else is refused with ``invalid_args``."""
    try:
        call = ast.parse(f"f({text}\n)", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ServiceError("invalid_args", "the arguments are not valid Python (write them as in a call: "
                                           "[2, 7], 9)") from None
    if (not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "f"
            or call.keywords or any(isinstance(a, ast.Starred) for a in call.args)):
        raise ServiceError("invalid_args", "give positional arguments only, as in a call: [2, 7], 9")
    try:
        args = tuple(ast.literal_eval(a) for a in call.args)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as exc:
        raise ServiceError("invalid_args", f"each argument must be a literal (numbers, strings, lists, tuples, "
                                           f"dicts, sets, True/False/None): {clip(str(exc), 80)}") from None
    fewest, most = arity(challenge)
    if len(args) < fewest or (most is not None and len(args) > most):
        wanted = str(fewest) if fewest == most else f"{fewest} to {most}" if most is not None else f"{fewest}+"
        raise ServiceError("invalid_args", f"{challenge.function} takes {wanted} argument(s); got {len(args)}")
    try:
        size = len(json.dumps([encode(a) for a in args], allow_nan=False))
    except (EncodingError, ValueError, RecursionError) as exc:
        raise ServiceError("invalid_args", f"an argument cannot be sent to the sandbox: {clip(str(exc), 80)}"
                           ) from None
    if size > MAX_CUSTOM_ARGS_BYTES:
        raise ServiceError("invalid_args", f"the arguments are {size} bytes encoded; the limit is "
                                           f"{MAX_CUSTOM_ARGS_BYTES}")
    return args


@dataclass
class RemoteBattle:
    """A battle the lobby worker opens on another worker (``DuelService.worker_id``), which announces it."""

    id: str
    worker: str
    names: tuple[str, ...]
    request: dict = field(default_factory=dict)


class BattleRoom:
    """The running battles, their players' seats, judging and the end of each battle."""

    def __init__(self, service: "DuelService", store: Store, challenges: ChallengeLibrary, judge: Judge,
                 rating: "RatingSystem", resume_tokens: ResumeTokens):
        self.service, self.store, self.challenges, self.judge = service, store, challenges, judge
        self.rating, self.resume_tokens = rating, resume_tokens
        self.log = service.log
        self.running: dict[str, BattleState] = {}  # battle id -> battle
        self.battle_of: dict[str, str] = {}  # player name -> running battle id
        self.remote_of: dict[str, str] = {}  # on the lobby worker: player -> battle id running on another worker
        self.cooldowns = Cooldowns()
        self._rng = random.Random()
        # The class's choice (an instructor's class_settings): every new battle from this pack, or on this one.
        self.class_pack: str | None = None
        self.class_challenge: str | None = None
        self.changed: Callable[[], None] = lambda: None  # the class view's hook
        # The tournament room's hooks: a battle ended (every battle, once stored and announced), and a game of a
        # tournament changed its progress (a judged submission).
        self.battle_over: Callable[[BattleState], Awaitable[None]] | None = None
        self.progress: Callable[[BattleState], None] = lambda battle: None
        self.recently_over: dict[str, tuple[tuple[str, str], float]] = {}  # battle id -> (players, ended at)
        self._custom_run_ids = itertools.count(1)
        self._flushing = asyncio.Lock()

    def count(self) -> int:
        """How many battles are running."""
        return len(self.running)

    def battle_id_of(self, name: str) -> str | None:
        """The id of ``name``'s running battle, if any (on the lobby worker: on any worker)."""
        return self.battle_of.get(name) or self.remote_of.get(name)

    def resume_token(self, battle_id: str, name: str) -> str:
        return self.resume_tokens.issue(battle_id, name)

    # ------------------------------------------------------------ opening

    def open(self, a: Profile, b: Profile, difficulty: str, ranked: bool, bot: bool = False,
             pool: str = "any", battle_id: str | None = None, challenge: Challenge | None = None,
             time_limit_s: int | None = None, tournament_id: str | None = None) -> BattleState | RemoteBattle:
        """Create the battle and make both players busy, without awaiting anything; ``record`` then stores it
        before it is announced. A tournament's game comes with its ``challenge``, ``time_limit_s`` and
        ``tournament_id``. On a service of several workers the lobby worker opens a battle on the worker of one
        of its players (a ``RemoteBattle``, which ``record`` asks that worker to open); a tournament's game stays
        on the lobby worker, where the tournament room runs, and its players move there."""
        svc = self.service
        challenge = challenge or self._choose_challenge(difficulty)
        if svc.cluster is not None and battle_id is None and tournament_id is None:
            worker = svc.workers.place(a.name, None if bot else b.name)
            if worker != svc.worker_id:
                remote = RemoteBattle(uuid.uuid4().hex, worker, (a.name, b.name), dict(
                    a=a.name, b=b.name, difficulty=difficulty, challenge_id=challenge.id, ranked=ranked, bot=bot,
                    pool=pool))
                for name in remote.names[:1] if bot else remote.names:
                    self.remote_of[name] = remote.id
                self.changed()
                return remote
        now = time.time()
        battle = BattleState(
            id=battle_id or uuid.uuid4().hex,
            challenge=challenge,
            seats=(Seat(a), Seat(b, bot=bot)),
            ranked=ranked and not bot,
            time_limit_s=time_limit_s or int(svc.time_limits.get(challenge.difficulty, 900)),
            started_at=now + svc.countdown_s,
            mirror=mirror.mode_for(svc.mirror_modes, ranked and not bot, pool),
            tournament_id=tournament_id,
        )
        if battle.mirror == "delayed":
            for seat in battle.seats:
                seat.delayed = mirror.DelayedFeed(svc.mirror_delay_s)
        self.running[battle.id] = battle
        for seat in battle.seats:
            self.battle_of[seat.name] = battle.id
        svc.later(battle.id, battle.deadline - time.time(), self._time_up, battle.id)
        self.log.info("jupyter-duel: battle %s: %s vs %s on %s", battle.id, *battle.names, challenge.id)
        self.changed()
        return battle

    async def record(self, battle: BattleState) -> None:
        """Store the battle ``open`` made (first of its writes, which keep their order under its id). When the
        database refuses, the battle is undone: its players are free again, and the error goes on."""
        if isinstance(battle, RemoteBattle):
            try:
                await self.service.workers.open_on(battle)
            except Exception:
                for name in battle.names:
                    if self.remote_of.get(name) == battle.id:
                        del self.remote_of[name]
                self.changed()
                raise
            return
        a, b = battle.seats
        try:
            if self.service.cluster is not None:  # owned before it is stored: no starting worker takes it over
                await self.service.cluster.own(battle.id, [seat.name for seat in battle.seats if not seat.bot])
            await self.service.db(self.store.create_battle, battle.id, battle.challenge.id, a.profile, b.profile,
                                  battle.ranked, battle.started_at, battle.mirror, time_limit_s=battle.time_limit_s,
                                  bot=b.bot, tournament_id=battle.tournament_id, after=battle.id)
        except Exception:
            self.service.cancel(battle.id)
            if self.service.cluster is not None:
                await self.service.cluster.release(battle.id, [seat.name for seat in battle.seats if not seat.bot])
            self.running.pop(battle.id, None)
            for seat in battle.seats:
                if self.battle_of.get(seat.name) == battle.id:
                    del self.battle_of[seat.name]
            self.changed()
            raise

    def _choose_challenge(self, difficulty: str):
        if self.class_challenge is not None:
            try:
                return self.challenges.get(self.class_challenge)
            except KeyError:
                self.class_challenge = None
        if self.class_pack is not None:
            try:  # the class's pack, at the pool's difficulty when it has one, else any of its challenges
                return self.challenges.choose(difficulty, self._rng, packs=[self.class_pack])
            except LookupError:
                return self.challenges.choose("any", self._rng, packs=[self.class_pack])
        return self.challenges.choose(difficulty, self._rng, packs=self.service.packs or None)

    def battles(self) -> list[BattleState]:
        """The running battles, oldest first."""
        return list(self.running.values())

    async def announce(self, battle: BattleState | RemoteBattle, tabs: dict[str, str | None] | None = None,
                       others: dict[str, list[str]] | None = None) -> None:
        """Send ``match_found`` to both players: to the tab that asked for the battle (it plays it; the player's
        other tabs hear ``battle_elsewhere``), or to every tab when that one is gone (the first to act plays).
        ``tabs`` and ``others``: those tabs and the other connections, as the lobby worker knows them."""
        if isinstance(battle, RemoteBattle):
            return  # its worker announces it
        accounts = self.service.accounts
        for seat in battle.seats:
            if seat.bot:
                continue
            found = protocol.MatchFound(**self._battle_view(battle, seat))
            seat.tab = accounts.lobby_tab(seat.name) if tabs is None else tabs.get(seat.name)
            if seat.tab is None:
                await self.service.emit("match_found", found, to_player=seat.name)
                continue
            await self.service.emit("match_found", found, sid=seat.tab)
            elsewhere = protocol.BattleElsewhere(battle_id=battle.id, open_elsewhere=True)
            rest = accounts.connections(seat.name) - {seat.tab} if others is None else others.get(seat.name, [])
            for sid in rest:
                await self.service.emit("battle_elsewhere", elsewhere, sid=sid)

    def _battle_view(self, battle: BattleState, seat: Seat) -> dict:
        """What ``match_found`` says to ``seat`` (``battle_state`` starts with the same)."""
        other = battle.opponent(seat.name)
        return dict(
            battle_id=battle.id,
            challenge=protocol.ChallengeView(**battle.challenge.public_view()),
            you=player_info(seat.profile, self.rating),
            opponent=player_info(other.profile, self.rating, bot=other.bot),
            ranked=battle.ranked,
            time_limit_s=battle.time_limit_s,
            started_at=battle.started_at,
            deadline=battle.deadline,
            server_time=time.time(),
            resume_token=self.resume_tokens.issue(battle.id, seat.name),
            mirror=protocol.MirrorInfo(
                mode=battle.mirror, delay_s=self.service.mirror_delay_s if battle.mirror == "delayed" else 0.0
            ),
            max_code_bytes=self.service.max_code_bytes,
            tournament_id=battle.tournament_id,
            worker_url=self.service.worker_url if self.service.cluster is not None else None,
        )

    async def battle_for(self, name: str, battle_id: str) -> tuple[BattleState, Seat]:
        """The running battle ``battle_id`` and ``name``'s seat in it, or the precise refusal (which reads the
        database only for a battle that is not running)."""
        battle = self.running.get(battle_id)
        if battle is None:
            players = await self.service.db(self.store.battle_players, battle_id)
            if players is None:
                raise ServiceError("unknown_battle", "no battle has this id")
            if name not in players:
                raise ServiceError("not_in_battle", "this is not your battle")
            await self.elsewhere_check(battle_id)
            raise ServiceError("battle_over", "this battle has finished")
        seat = battle.seat(name)
        if seat is None:
            raise ServiceError("not_in_battle", "this is not your battle")
        if battle.over:
            raise ServiceError("battle_over", "this battle has finished")
        return battle, seat

    async def elsewhere_check(self, battle_id: str) -> str | None:
        """With several workers: refuse a battle another worker runs (``wrong_worker``, with its address);
        the owning worker's id when that is this one or none."""
        cluster = self.service.cluster
        if cluster is None:
            return None
        owner, url = await cluster.owner_of(battle_id)
        if owner is not None and owner != self.service.worker_id:
            raise ServiceError("wrong_worker", f"this battle runs on worker {owner}: {url}")
        return owner

    # ------------------------------------------------------------ the mirror

    async def sync_code(self, name: str, msg: protocol.SyncEdit | protocol.SyncCode, sid: str | None = None,
                        received_at: float | None = None) -> None:
        """Apply an edit from connection ``sid`` (None: the practice bot), received at ``received_at``
        (``time.perf_counter``, for the relay latency metric), and mirror it."""
        if isinstance(msg, protocol.SyncCode):  # the general event path and the practice bot
            msg = protocol.SyncEdit.of(msg)
        battle = self.running.get(msg.battle_id)
        seat = battle.seat(name) if battle is not None and not battle.over else None
        if seat is None:
            battle, seat = await self.battle_for(name, msg.battle_id)  # the precise refusal
        if sid is not None and seat.tab != sid:
            await self._play_here(battle, seat, sid, take_over=False)
        self._apply(battle, seat, msg)
        if battle.spectators:  # instructors see every edit, whatever the mirror shows the opponent
            watched = {"battle_id": battle.id, "player": name, "seq": msg.seq, "delta": msg.delta, "text": msg.text}
            for spectator in list(battle.spectators):
                await self.service.sio.emit("spectator_code", watched, to=spectator)
        self._mirror(battle, seat, name, msg, received_at)

    def sync_code_now(self, name: str, msg: protocol.SyncEdit, sid: str, received_at: float) -> bool:
        """``sync_code`` for the edge's hot path, without awaiting: True when the edit was applied and mirrored;
        False, having changed nothing, when it needs ``sync_code`` (not a running battle of this player, another
        tab plays it, someone spectates it). A refused edit raises ``ServiceError`` and changes nothing."""
        battle = self.running.get(msg.battle_id)
        seat = battle.seat(name) if battle is not None and not battle.over else None
        if seat is None or seat.tab != sid or battle.spectators:
            return False
        self._apply(battle, seat, msg)
        self._mirror(battle, seat, name, msg, received_at)
        return True

    def _apply(self, battle: BattleState, seat: Seat, msg: protocol.SyncEdit) -> None:
        svc = self.service
        try:
            added = seat.apply_sync(msg, svc.max_code_bytes)
        except SyncRefused as exc:
            raise ServiceError(exc.code, str(exc)) from None
        if len(seat.timeline) < MAX_TIMELINE_EDITS:  # the replay's record (a runaway client stops adding)
            seat.timeline.append([round(time.time() - battle.started_at, 3), msg.seq, msg.delta, msg.text])
        if added >= svc.paste_signal_chars and msg.text != battle.challenge.starter_code and len(seat.pastes) < 100:
            seat.pastes.append((round(time.time() - battle.started_at, 1), added))
            self.changed()

    def _mirror(self, battle: BattleState, seat: Seat, name: str, msg: protocol.SyncEdit,
                received_at: float | None) -> None:
        """Show the opponent an applied edit as the battle's mirror mode says: now, later, or as its shape."""
        other = battle.opponent(name)
        if other.bot:
            return
        # protocol.OpponentCode, field for field, without building the model for every edit (the ops are
        # validated already; tests/unit/test_fast_sync_code.py holds the two together).
        payload = {"battle_id": battle.id, "seq": msg.seq, "delta": msg.delta, "text": msg.text}
        if battle.mirror == "live":
            self.service.relay("opponent_code", payload, other.name, received_at)
        elif battle.mirror == "delayed":
            seat.delayed.push(time.monotonic(), payload)
            asyncio.get_running_loop().call_later(self.service.mirror_delay_s, self._show_delayed, battle, seat,
                                                  other.name)
        elif battle.mirror == "shape" and not seat.shape_due:
            seat.shape_due = True
            asyncio.get_running_loop().call_later(self.service.mirror_shape_interval_s, self._show_shape, battle,
                                                  seat, other.name)

    def _show_delayed(self, battle: BattleState, seat: Seat, to_player: str) -> None:
        if not battle.over:
            for payload in seat.delayed.due(time.monotonic() + 0.001):
                self.service.relay("opponent_code", payload, to_player)

    def _show_shape(self, battle: BattleState, seat: Seat, to_player: str) -> None:
        seat.shape_due = False
        if not battle.over:
            self.service.spawn(self.service.emit("opponent_shape", self._shape_of(battle, seat), to_player=to_player))

    @staticmethod
    def _shape_of(battle: BattleState, seat: Seat) -> protocol.OpponentShape:
        return protocol.OpponentShape(
            battle_id=battle.id, lines=mirror.code_shape(seat.code), chars=len(seat.code)
        )

    # ------------------------------------------------------------ judging

    def _check_code(self, code: str) -> None:
        size = len(code.encode("utf-8", "surrogatepass"))
        limit = self.service.max_code_bytes
        if size > limit:
            raise ServiceError("code_too_large", f"the code is {size} bytes; the limit is {limit}")

    async def submit(self, name: str, battle_id: str, code: str, samples_only: bool, sid: str | None = None) -> int:
        """Start judging code sent from connection ``sid``; results stream as events. Returns the submission id."""
        battle, seat = await self.battle_for(name, battle_id)
        self._check_code(code)
        if sid is not None and seat.tab != sid:
            await self._play_here(battle, seat, sid, take_over=False)
        if not battle.started():
            raise ServiceError("not_started", f"the battle starts in {battle.started_at - time.time():.1f} s")
        if self.service.judge_problem is not None:
            raise ServiceError("judge_unavailable", self.service.judge_problem)
        if seat.judging:
            raise ServiceError("judge_busy", "your previous submission is still being judged")
        kind = "run_samples" if samples_only else "submit_code"
        wait = self.cooldowns.remaining(name, kind)
        if wait > 0:
            raise ServiceError("cooldown", f"{kind} again in {wait:.1f} s", retry_after=wait)
        seat.judging = True
        try:
            await self.flush([battle])  # the code as synced so far is durable before any judged run is accepted
            submission_id = await self.service.db(self.store.add_submission, battle.id, seat.profile.id, code,
                                                  samples_only, after=battle.id)
        except Exception:
            seat.judging = False
            raise
        self.cooldowns.start(
            name, kind, self.service.run_samples_cooldown_s if samples_only else self.service.submit_cooldown_s
        )
        self.service.spawn(self._judge(battle, seat, submission_id, code, samples_only))
        return submission_id

    async def _judge(self, battle: BattleState, seat: Seat, submission_id: int, code: str, samples_only: bool):
        author = seat.name
        audience = [n for n in ([author] if samples_only else battle.names) if not battle.seat(n).bot]
        seat.last_tests = []
        tests: list[list] = []  # [kind, verdict, passed, time_ms] per test, for the review

        async def on_test(outcome: TestOutcome) -> None:
            tests.append([outcome.kind, outcome.verdict, outcome.passed, round(outcome.time_ms, 1)])
            # As the opponent and spectators see it; the author also gets a sample test's details.
            seen = protocol.TestResult(
                battle_id=battle.id,
                submission_id=submission_id,
                player=author,
                kind=outcome.kind,
                index=outcome.index,
                total=outcome.total,
                passed=outcome.passed,
                verdict=outcome.verdict,
                time_ms=round(outcome.time_ms, 3),
                detail=None,
                skipped=outcome.skipped,
            )
            for viewer in audience:
                result = seen
                if viewer == author:
                    if outcome.kind == "sample":
                        result = seen.model_copy(update={"detail": protocol.TestDetail(
                            call=outcome.call, expected=outcome.expected, got=outcome.got, error=outcome.error,
                            output=outcome.output)})
                    seat.last_tests.append(result)
                await self.service.emit("test_result", result, to_player=viewer)
            for sid in list(battle.spectators):
                await self.service.emit("test_result", seen, sid=sid)

        try:
            # Printed output only for a run of the samples (never for hidden tests: the judge drops it there).
            report = await self.judge.judge(battle.challenge, code, samples_only=samples_only, on_test=on_test,
                                            output_chars=self.service.run_output_chars if samples_only else 0)
        except Exception as exc:
            # The runner itself failed (never the submission): say so, count nothing.
            self.log.exception("jupyter-duel: judging submission %d failed", submission_id)
            seat.judging = False
            for viewer in [author]:
                await self.service.emit(
                    "error",
                    protocol.Error(code="judge_unavailable", message=f"the judge failed: {exc}", event="submit_code"),
                    to_player=viewer,
                )
            return
        seat.judging = False
        await self.service.db(self.store.finish_submission, submission_id, report.verdict, report.passed,
                              report.total, tests, report.message, after=battle.id)
        seen = protocol.SubmissionResult(
            battle_id=battle.id, submission_id=submission_id, player=author, samples_only=samples_only,
            verdict=report.verdict, passed=report.passed, total=report.total, message=None,
        )
        battle.results.append(seen)
        for viewer in audience:
            result = seen
            if viewer == author:  # the author alone reads the message (a sample's traceback, a refusal)
                result = seen.model_copy(update={"message": report.message})
                seat.results.append(result)
            await self.service.emit("submission_result", result, to_player=viewer)
        for sid in list(battle.spectators):
            await self.service.emit("submission_result", seen, sid=sid)
        if not samples_only and not battle.over:
            self.changed()
            outcome = battle.on_submission(author, report.passed, report.total)
            if battle.tournament_id is not None:
                self.progress(battle)
            await self._send_opponent_status(battle, author)
            if outcome is not None:
                await self._finish(battle)

    async def run_custom(self, name: str, msg: protocol.RunCustom) -> int:
        """Run the player's code on the player's own arguments; the result goes to the player alone as
        ``custom_result``. Nothing is stored or compared, and the battle's outcome does not change. Shares
        run_samples' cooldown and the one-run-at-a-time guard. Returns the run id."""
        battle, seat = await self.battle_for(name, msg.battle_id)
        self._check_code(msg.code)
        if not battle.started():
            raise ServiceError("not_started", f"the battle starts in {battle.started_at - time.time():.1f} s")
        args = parse_call_args(msg.args, battle.challenge)
        if self.service.judge_problem is not None:
            raise ServiceError("judge_unavailable", self.service.judge_problem)
        if seat.judging:
            raise ServiceError("judge_busy", "your previous run is still being judged")
        wait = self.cooldowns.remaining(name, "run_samples")
        if wait > 0:
            raise ServiceError("cooldown", f"run_custom again in {wait:.1f} s", retry_after=wait)
        seat.judging = True
        self.cooldowns.start(name, "run_samples", self.service.run_samples_cooldown_s)
        run_id = next(self._custom_run_ids)
        self.service.spawn(self._run_custom(battle, seat, run_id, msg.code, args))
        return run_id

    async def _run_custom(self, battle: BattleState, seat: Seat, run_id: int, code: str, args: tuple) -> None:
        challenge = battle.challenge
        try:
            report: CustomRunReport = await self.judge.run_custom(challenge, code, args,
                                                                  self.service.run_output_chars)
        except Exception as exc:
            self.log.exception("jupyter-duel: custom run %d failed", run_id)
            await self.service.emit(
                "error",
                protocol.Error(code="judge_unavailable", message=f"the judge failed: {exc}", event="run_custom"),
                to_player=seat.name,
            )
            return
        finally:
            seat.judging = False
        call = challenge.call_repr(TestCase(args, None))
        await self.service.emit("custom_result", protocol.CustomResult(
            battle_id=battle.id, run_id=run_id, verdict=report.verdict, call=call if len(call) <= 1000 else call[:997] + "...", value=report.value,
            output=report.output, error=report.error, time_ms=round(report.time_ms, 3),
        ), to_player=seat.name)

    # ------------------------------------------------------------ players leaving and coming back

    async def forfeit(self, name: str, battle_id: str) -> None:
        battle, _seat = await self.battle_for(name, battle_id)
        battle.on_forfeit(name)
        await self._finish(battle)

    async def resume(self, name: str, token: str, sid: str) -> None:
        """Send ``battle_state`` for the running battle the token names, if it is this player's; connection
        ``sid`` plays it from now on (it takes the battle over from the player's other tab)."""
        try:
            battle_id, token_name = self.resume_tokens.verify(token, self._resume_max_age())
        except AuthError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        if token_name != name:
            raise ServiceError("bad_resume_token", "this resume token belongs to another player")
        battle, seat = await self.battle_for(name, battle_id)
        await self._play_here(battle, seat, sid, take_over=True)
        other = battle.opponent(name)
        # The opponent's code as far as the mirror mode shows it, never further.
        shown_code, shown_seq, shape = "", 0, None
        if battle.mirror == "live":
            shown_code, shown_seq = other.code, other.seq
        elif battle.mirror == "delayed":
            shown_code, shown_seq = other.delayed.shown_text, other.delayed.shown_seq
        elif battle.mirror == "shape":
            shape = self._shape_of(battle, other)
        state = protocol.BattleState(
            **self._battle_view(battle, seat),
            your_code=seat.code,
            your_seq=seat.seq,
            opponent_code=shown_code,
            opponent_seq=shown_seq,
            opponent_shape=shape,
            opponent_connected=other.connected,
            your_tests=seat.last_tests,
            your_submissions=seat.results,
            opponent_submissions=other.submissions,
            opponent_best_passed=other.best_passed,
        )
        await self.service.emit("battle_state", state, sid=sid)
        if not other.connected:  # the grace countdown, which battle_state does not carry
            await self._send_opponent_status(battle, other.name)

    def _resume_max_age(self) -> int:
        svc = self.service
        return int(max(svc.time_limits.values()) + svc.countdown_s + svc.disconnect_grace_s + 60)

    def elsewhere(self, name: str, sid: str) -> bool:
        """Whether another open connection of ``name`` plays their running battle."""
        battle = self.running.get(self.battle_of.get(name, ""))
        if battle is None or battle.over:
            return False
        tab = battle.seat(name).tab
        return tab is not None and tab != sid and self.service.accounts.has_connection(name, tab)

    async def _play_here(self, battle: BattleState, seat: Seat, sid: str, take_over: bool) -> None:
        """Make connection ``sid`` the one tab that plays ``seat``: one tab at a time edits and submits, so two
        tabs never type over each other. Without ``take_over`` (an edit or a run), a battle another open tab
        plays is refused; ``resume`` takes it over, and the previous tab hears ``battle_elsewhere``."""
        accounts = self.service.accounts
        if seat.tab == sid:
            return
        held = seat.tab is not None and accounts.has_connection(seat.name, seat.tab)
        if held and not take_over:
            raise ServiceError("tab_inactive", "this duel is played in another tab of yours; resume it here to "
                               "take it over")
        previous, seat.tab = (seat.tab if held else None), sid
        if previous is not None:
            await self.service.emit("battle_elsewhere",
                                    protocol.BattleElsewhere(battle_id=battle.id, open_elsewhere=True), sid=previous)
        if not seat.connected:  # back inside the grace period
            seat.connected, seat.gone_since = True, None
            self.service.cancel(f"{battle.id}/{seat.name}")
            await self._send_opponent_status(battle, seat.name)
            self.changed()

    async def tab_closed(self, name: str, sid: str) -> None:
        """Connection ``sid`` of ``name`` closed. When it played their battle (or, before any tab played it, it
        was their last), the player is away: the grace period starts and their other tabs may resume it."""
        battle = self.running.get(self.battle_of.get(name, ""))
        if battle is None or battle.over:
            return
        seat = battle.seat(name)
        accounts = self.service.accounts
        if not seat.connected or (seat.tab is not None and seat.tab != sid):
            return
        if seat.tab is None and accounts.is_online(name):
            return
        seat.connected, seat.gone_since = False, time.time()
        await self._send_opponent_status(battle, name)
        self.changed()
        self.service.later(f"{battle.id}/{name}", self.service.disconnect_grace_s, self._grace_expired, battle.id,
                           name)
        waiting = protocol.BattleElsewhere(battle_id=battle.id, open_elsewhere=False)
        for other in accounts.connections(name):
            await self.service.emit("battle_elsewhere", waiting, sid=other)

    async def _grace_expired(self, battle_id: str, name: str) -> None:
        battle = self.running.get(battle_id)
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
            grace = round(max(0.0, seat.gone_since + self.service.disconnect_grace_s - time.time()), 1)
        await self.service.emit(
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

    # ------------------------------------------------------------ the end

    async def _time_up(self, battle_id: str) -> None:
        battle = self.running.get(battle_id)
        if battle is not None and not battle.over:
            battle.on_time_limit()
            await self._finish(battle)

    async def _finish(self, battle: BattleState) -> None:
        """Persist the outcome with the rating changes (one transaction) and tell both players."""
        outcome = battle.outcome
        self.service.cancel(battle.id)
        for name in battle.names:
            self.service.cancel(f"{battle.id}/{name}")
        rated = battle.ranked and outcome.reason != "aborted" and outcome.rated
        pair_limit = self.service.pair_rated_per_day
        if rated and pair_limit > 0:
            a, b = (seat.profile.id for seat in battle.seats)
            # The same two accounts give each other rating points only so often: no farming a friend.
            rated = await self.service.db(self.store.rated_battles_between, a, b,
                                          time.time() - SECONDS_PER_DAY) < pair_limit
        score, now = battle.score_of_first(), time.time()
        winner_id = battle.seat(outcome.winner).profile.id if outcome.winner else None
        a, b = battle.seats
        similarity = None if (a.bot or b.bot) else fairplay.similarity(a.code, b.code, battle.challenge.starter_code)
        changes = await self.service.db(
            self.store.finish_battle,
            battle.id,
            status="aborted" if outcome.reason == "aborted" else "finished",
            winner_id=winner_id,
            reason=outcome.reason,
            ended_at=now,
            # Computed inside the store's transaction from the ratings stored then, never from the ratings at
            # match time: an update from another battle of the same player is never lost.
            rate=(lambda a, b: self.rating.update(a, b, score, now)) if rated else None,
            similarity=similarity,
            pastes=[(seat.profile.id, chars, at) for seat in battle.seats for at, chars in seat.pastes],
            note=battle.note,
            timelines=[(seat.profile.id, seat.code, seat.timeline) for seat in battle.seats if not seat.bot],
            after=battle.id,  # after the battle's submissions and their results
        )
        self.recently_over[battle.id] = (battle.names, time.monotonic())
        self.running.pop(battle.id, None)
        for seat in battle.seats:
            if self.battle_of.get(seat.name) == battle.id:
                del self.battle_of[seat.name]
            if self.remote_of.get(seat.name) == battle.id:
                del self.remote_of[seat.name]
        if self.service.cluster is not None:
            await self.service.workers.battle_over(battle.id, [seat.name for seat in battle.seats if not seat.bot])
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
            # Whatever the mirror hid during the battle, both codes in full now that it is over.
            codes=[protocol.PlayerCode(name=seat.name, code=seat.code) for seat in battle.seats],
            note=battle.note,
        )
        for seat in battle.seats:
            if not seat.bot:
                await self.service.emit("battle_complete", payload, to_player=seat.name)
        for sid in battle.spectators:
            await self.service.emit("battle_complete", payload, sid=sid)
        battle.spectators.clear()
        self.changed()
        self.log.info("jupyter-duel: battle %s over: %s (%s)", battle.id, outcome.winner, outcome.reason)
        if self.battle_over is not None:
            try:  # the tournament room records its game and pairs the players who are free now
                await self.battle_over(battle)
            except Exception:
                self.log.exception("jupyter-duel: the tournament room failed on the end of battle %s", battle.id)

    # ------------------------------------------------------------ surviving a restart

    async def flush(self, battles: list[BattleState] | None = None) -> None:
        """Write what changed of the running battles (``battles``: these only) to the store, with the heartbeat
        a restart measures the downtime from. Bot battles are not kept: a restart aborts them. One flush at a
        time (the flusher's and a judged run's), so that no timeline row is written twice."""
        async with self._flushing:
            await self._flush(battles)

    async def _flush(self, battles: list[BattleState] | None) -> None:
        battles = [b for b in (self.running.values() if battles is None else battles)
                   if not b.over and not any(seat.bot for seat in b.seats)]
        if battles and self.service.cluster is not None:
            # Never over the state of a battle another worker carries on now (this one stalled past its lease).
            mine = await self.service.cluster.owned([b.id for b in battles])
            battles = [b for b in battles if b.id in mine]
        if not battles:
            return
        changed = []
        for count, battle in enumerate(battles, start=1):
            if count % 256 == 0:  # the relay runs between slices: a class's worth of seats is ~10 ms of work
                await asyncio.sleep(0)
            for seat in battle.seats:
                shown = seat.delayed.shown_seq if seat.delayed is not None else 0
                tests = (seat.last_tests[-1].submission_id if seat.last_tests else None, len(seat.last_tests))
                key = (seat.seq, len(seat.timeline), len(seat.pastes), *tests, shown)
                if key == seat.flushed:
                    continue
                if seat.last_tests_json[0] != tests:
                    seat.last_tests_json = (tests, [t.model_dump(mode="json") for t in seat.last_tests])
                changed.append((seat, key, len(seat.timeline), SeatFlush(
                    battle_id=battle.id, user_id=seat.profile.id, code=seat.code, seq=seat.seq,
                    pastes=[list(p) for p in seat.pastes],
                    last_tests=seat.last_tests_json[1],
                    shown_code=seat.delayed.shown_text if seat.delayed is not None else "", shown_seq=shown,
                    new_edits=seat.timeline[seat.flushed_edits:],
                )))
        written = await self.service.db(self.store.flush_live, [c[3] for c in changed], [b.id for b in battles],
                                        time.time())
        for seat, key, edits, flushed in changed:
            if flushed.battle_id in written:  # (a battle not stored yet is written by the next flush)
                seat.flushed, seat.flushed_edits = key, edits

    async def flusher(self) -> None:
        """Flush every ``DuelService.state_flush_interval_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.service.state_flush_interval_s)
            try:
                await self.flush()
            except Exception:  # the next round tries again; a judged run's own flush refuses it meanwhile
                self.log.exception("jupyter-duel: flushing the running battles failed")

    async def restore(self, only: list[str] | None = None) -> None:
        """Carry on the battles a previous process left running (``docs/protocol.md`` § After a restart): each
        rebuilt as last flushed, its clock given back the downtime, both players away (the grace period starts
        now). A bot battle, or one whose challenge is no longer loaded, ends aborted without rating change.
        With several workers, only the battles this worker claims (``Cluster.claim``): its own, unowned ones
        and those of a worker whose lease ran out; ``only``: these battles (already claimed)."""
        now = time.time()
        cluster = self.service.cluster
        if cluster is not None and only is None:
            only = await cluster.claim(await self.service.db(self.store.running_battle_ids))
        if only is not None and not only:
            return
        rows = await self.service.db(self.store.take_over_live_battles, now, only=only)
        for row in rows:
            try:
                profiles = {s["name"]: await self.service.db(self.store.get_user, s["name"]) for s in row["seats"]}
                battle = self._rebuild(row, now, profiles)
            except Exception as exc:  # one battle that cannot be rebuilt must not keep the service from starting
                self.log.warning("jupyter-duel: battle %s cannot be carried on (%r): aborted", row["battle_id"], exc)
                await self.service.db(self.store.finish_battle, row["battle_id"], status="aborted", winner_id=None,
                                      reason="aborted", ended_at=now, rate=None, note="the service restarted")
                if cluster is not None:
                    await self.service.workers.battle_over(row["battle_id"], [s["name"] for s in row["seats"]])
                continue
            self.running[battle.id] = battle
            for seat in battle.seats:
                self.battle_of[seat.name] = battle.id
            if row["bot"]:  # the practice bot's typing lived in the process that stopped
                battle.on_abort()
                battle.note = "the service restarted"
            if battle.over:  # aborted above, or solved by a run judged just before the process stopped
                await self._finish(battle)
                continue
            self.service.later(battle.id, battle.deadline - now, self._time_up, battle.id)
            for seat in battle.seats:
                self.service.later(f"{battle.id}/{seat.name}", self.service.disconnect_grace_s, self._grace_expired,
                                   battle.id, seat.name)
            self.log.info("jupyter-duel: battle %s carried on after a restart (clock given back %.1f s so far)",
                          battle.id, row["clock_shift_s"])
        self.changed()

    def _rebuild(self, row: dict, now: float, profiles: dict[str, Profile | None]) -> BattleState:
        """A ``BattleState`` from ``Store.take_over_live_battles``'s row and its players' ``profiles``
        (KeyError: its challenge or a player is gone)."""
        challenge = self.challenges.get(row["challenge_id"])
        seats = []
        for s in row["seats"]:
            profile = profiles.get(s["name"])
            if profile is None:
                raise KeyError(s["name"])
            seat = Seat(profile, bot=row["bot"] and s is row["seats"][1], code=s["code"], seq=s["seq"],
                        connected=False, gone_since=now, pastes=[tuple(p) for p in s["pastes"]],
                        timeline=s["timeline"],
                        last_tests=[protocol.TestResult.model_validate(t) for t in s["last_tests"]])
            seat.flushed_edits = len(seat.timeline)
            if row["mirror"] == "delayed":
                # What the opponent was shown stays shown; the rest comes one delay after the restart, as one text.
                seat.delayed = mirror.DelayedFeed(self.service.mirror_delay_s)
                seat.delayed.shown_text, seat.delayed.shown_seq = s["shown_code"], s["shown_seq"]
            seats.append(seat)
        battle = BattleState(id=row["battle_id"], challenge=challenge, seats=tuple(seats), ranked=row["ranked"],
                             time_limit_s=row["time_limit_s"], started_at=row["started_at"] + row["clock_shift_s"],
                             mirror=row["mirror"] or "live", tournament_id=row.get("tournament_id"))
        for sub in row["submissions"]:
            seat = battle.seat(sub["player"])
            seen = protocol.SubmissionResult(
                battle_id=battle.id, submission_id=sub["submission_id"], player=seat.name,
                samples_only=sub["samples_only"], verdict=sub["verdict"], passed=sub["passed"], total=sub["total"],
                message=None)
            battle.results.append(seen)
            seat.results.append(seen.model_copy(update={"message": sub["message"]}))
            if not sub["samples_only"] and sub["verdict"] != LOST_VERDICT:
                battle.on_submission(seat.name, sub["passed"], sub["total"])  # may end it: solved before the stop
        for seat in battle.seats:
            if seat.delayed is not None and seat.delayed.shown_seq != seat.seq:
                other = battle.opponent(seat.name)
                seat.delayed.push(time.monotonic(), {"battle_id": battle.id, "seq": seat.seq, "delta": None,
                                                     "text": seat.code})
                asyncio.get_running_loop().call_later(self.service.mirror_delay_s, self._show_delayed, battle, seat,
                                                      other.name)
        return battle

    # ------------------------------------------------------------ reactions

    async def react(self, name: str, msg: protocol.React) -> None:
        """Send one of the canned ``REACTIONS`` to the opponent, in a running battle or just after its end."""
        battle = self.running.get(msg.battle_id)
        if battle is not None:
            names = battle.names
        else:
            names, ended = self.recently_over.get(msg.battle_id, ((), 0.0))
            if not names or time.monotonic() - ended > REACT_AFTER_END_S:
                await self.battle_for(name, msg.battle_id)  # the precise refusal (unknown, not yours, over)
                raise ServiceError("battle_over", "this battle ended too long ago")
        if name not in names:
            raise ServiceError("not_in_battle", "this is not your battle")
        wait = self.cooldowns.remaining(name, "react")
        if wait > 0:
            raise ServiceError("cooldown", f"react again in {wait:.1f} s", retry_after=wait)
        self.cooldowns.start(name, "react", self.service.react_cooldown_s)
        other = names[1] if names[0] == name else names[0]
        reaction = protocol.Reaction(battle_id=msg.battle_id, player=name, reaction=msg.reaction)
        await self.service.emit("reaction", reaction, to_player=other)
        await self.service.emit("reaction", reaction, to_player=name)  # the sender's other tabs see it too
        now = time.monotonic()
        self.recently_over = {k: v for k, v in self.recently_over.items() if now - v[1] <= REACT_AFTER_END_S}

    # ------------------------------------------------------------ instructors

    async def spectate(self, sid: str, battle_id: str, watch: bool) -> None:
        """Start (``spectate_state``, then every edit and result) or stop showing a battle to an instructor."""
        battle = self.running.get(battle_id)
        if battle is None and self.service.cluster is not None:
            owner, _ = await self.service.cluster.owner_of(battle_id)
            if owner is not None and owner != self.service.worker_id:  # its worker streams it to this connection
                await self.service.cluster.call(owner, "spectate", sid=sid, battle_id=battle_id, watch=watch)
                return
        if battle is None or battle.over:
            if not watch:
                return
            stored = await self.service.db(self.store.battle_players, battle_id)
            raise ServiceError("unknown_battle" if stored is None else "battle_over",
                               "no running battle has this id")
        if not watch:
            battle.spectators.discard(sid)
            return
        battle.spectators.add(sid)
        state = protocol.SpectateState(
            battle_id=battle.id,
            challenge=protocol.ChallengeView(**battle.challenge.public_view()),
            players=[player_info(seat.profile, self.rating, bot=seat.bot) for seat in battle.seats],
            codes=[protocol.PlayerCode(name=seat.name, code=seat.code) for seat in battle.seats],
            seqs=[seat.seq for seat in battle.seats],
            ranked=battle.ranked,
            mirror=battle.mirror,
            started_at=battle.started_at,
            deadline=battle.deadline,
            server_time=time.time(),
            results=battle.results,
        )
        await self.service.emit("spectate_state", state, sid=sid)

    def forget_spectator(self, sid: str) -> None:
        for battle in self.running.values():
            battle.spectators.discard(sid)

    async def abort(self, battle_id: str, reason: str) -> None:
        """End a running battle unrated, with the instructor's reason shown to its players."""
        battle = self.running.get(battle_id)
        if battle is None and self.service.cluster is not None:
            owner, _ = await self.service.cluster.owner_of(battle_id)
            if owner is not None and owner != self.service.worker_id:
                await self.service.cluster.call(owner, "abort", battle_id=battle_id, reason=reason)
                return
        if battle is None or battle.over:
            stored = await self.service.db(self.store.battle_players, battle_id)
            raise ServiceError("unknown_battle" if stored is None else "battle_over",
                               "no running battle has this id")
        battle.on_abort()
        battle.note = reason
        await self._finish(battle)

    # ------------------------------------------------------------ REST view

    async def history(self, name: str) -> list[dict] | None:
        """``name``'s battles, newest first, with their challenges' titles; None for an unknown player."""
        battles = await self.service.db(self.store.user_battles, name)
        if battles is None:
            return None
        for b in battles:
            try:
                b["challenge_title"] = self.challenges.get(b["challenge_id"]).title
            except KeyError:
                b["challenge_title"] = b["challenge_id"]
        return battles

