"""Socket.IO event handling: validate each client event, dispatch it to its room, answer refusals.

Every client event goes through ``trigger_event``: it is counted against the connection's and the player's rate
limits (``limits.RateLimiter``), its payload is checked against its model in ``protocol`` before any handler sees
it, and any refusal is sent back as an ``error`` event (and as the ack, when the client asked for one). A frame
the service's packet class refused arrives here as a ``limits.Refusal`` and is answered the same way. A handler's
exception never reaches python-socketio, so one bad event cannot drop a connection. Refusals never echo more of
what the client sent than a short, clipped form (``protocol.clip``). With several workers (``workers``), a lobby
event (``LOBBY_EVENTS``) of a worker that does not run the lobby is handled by the lobby worker, whose answer is
the ack, and every registration and disconnection is told to it.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING

import socketio
from pydantic import ValidationError

from . import protocol
from .limits import RateLimiter, Refusal
from .protocol import ServiceError, clip

if TYPE_CHECKING:
    from .auth import Identity
    from .service import DuelService


#: Longest ``error.message``; what a client sent appears in it only clipped.
MAX_MESSAGE = 300

#: Events of the lobby, the class view and the tournaments: with several workers, handled by the lobby worker.
LOBBY_EVENTS = frozenset({"join_queue", "leave_queue", "play_bot", "challenge_player", "answer_challenge",
                          "watch_room", "class_settings", "pair_players", "list_tournaments", "join_tournament",
                          "leave_tournament", "pause_tournament"})


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        # Locations may hold the client's own keys (an unknown field's name): clipped like any echo.
        where = ".".join(clip(str(p), 24) for p in err.get("loc", ())) or "payload"
        parts.append(f"{where}: {clip(str(err.get('msg')), 120)}")
    return "; ".join(parts)


class DuelNamespace(socketio.AsyncNamespace):
    """The default namespace ``/``: one player per connection once ``register_user`` succeeded."""

    def __init__(self, service: "DuelService"):
        super().__init__("/")
        self.service = service
        self.accounts, self.lobby, self.battles = service.accounts, service.lobby, service.battles
        self.players: dict[str, str] = {}  # sid -> player name
        self.proven: dict[str, "Identity"] = {}  # sid -> who its HTTP request proved to be (the hub's front door)
        self.instructors: set[str] = set()  # sids registered as instructors
        self.limiter = RateLimiter(service.rate_limits)

    async def trigger_event(self, event, *args):
        # python-socketio's own connection events; a client's event by these names is refused by the packet class.
        if event == "connect" or event == "disconnect":
            return await super().trigger_event(event, *args)
        self.service.metrics.event_received(event)
        sid = args[0]
        name = self.players.get(sid)
        wait = self.limiter.take(sid, name, event)
        if wait:
            return await self._rate_limited(sid, event, wait)
        if type(event) is Refusal:
            return await self._refuse(sid, None, event.code, event.message)
        if event in LOBBY_EVENTS and name is not None and self.service.cluster is not None \
                and not self.service.workers.lobby_here:
            return await self.service.workers.forward(sid, event, args)
        if event == "sync_code" and len(args) == 2:
            # One per player every 300 ms: a well-formed edit of a registered player skips the pydantic models;
            # anything else goes the general way below, which gives the precise refusal.
            edit = protocol.fast_sync_code(args[1])
            if edit is not None and name is not None:
                return await self._sync(sid, name, edit, perf_counter())
        model = protocol.INCOMING.get(event)
        try:
            if model is None:
                raise ServiceError("unknown_event", f"{clip(event)!r} is not an event of this protocol")
            if len(args) != 2:
                raise ServiceError("invalid_payload", "send exactly one payload object")
            try:
                msg = model.model_validate(args[1])
            except ValidationError as exc:
                raise ServiceError("invalid_payload", _describe(exc)) from None
            if event != "register_user" and sid not in self.players:
                raise ServiceError("not_registered", "send register_user first")
            if event in protocol.INSTRUCTOR_EVENTS and sid not in self.instructors:
                raise ServiceError("not_instructor", f"{event} is for instructors only")
            result = await getattr(self, "on_" + event)(sid, msg)
            return {"ok": True, **(result or {})}
        except Exception as exc:
            return await self._failed(sid, event, exc)

    def hot_sync_code(self, sid: str, payload):
        """A ``sync_code`` frame on the edge's hot path (``limits.EdgeServer.hot_events``), handled as
        ``trigger_event`` would without Socket.IO's dispatch: True when it was handled without awaiting, else
        the coroutine that finishes it (a refusal, a battle that needs ``BattleRoom.sync_code``); False, having
        done nothing, when it is not a well-formed edit of a registered player (the usual path then gives the
        precise refusal)."""
        received_at = perf_counter()  # the relay latency metric's start
        name = self.players.get(sid)
        edit = protocol.fast_sync_code(payload)
        if name is None or edit is None:
            return False
        self.service.metrics.event_received("sync_code")
        wait = self.limiter.take(sid, name, "sync_code")
        if wait:
            return self._rate_limited(sid, "sync_code", wait)
        try:
            if self.battles.sync_code_now(name, edit, sid, received_at):
                return True
        except Exception as exc:
            return self._failed(sid, "sync_code", exc)
        return self._sync(sid, name, edit, received_at)

    async def _sync(self, sid: str, name: str, edit: protocol.SyncEdit, received_at: float) -> dict:
        try:
            await self.battles.sync_code(name, edit, sid, received_at)
            return {"ok": True}
        except Exception as exc:
            return await self._failed(sid, "sync_code", exc)

    def _rate_limited(self, sid: str, event, wait: float):
        """The refusal of an event over its class's rate limit (a coroutine)."""
        cls = self.limiter.event_class(event)
        return self._refuse(sid, event, "rate_limited", f"too many {cls} events; retry in {wait:.2f} s",
                            retry_after=wait)

    def _failed(self, sid: str, event: str, exc: Exception):
        """The refusal of what a handler raised (a coroutine): a ``ServiceError``'s own; anything else is
        logged with its traceback (so: called in the ``except`` block) and refused as ``internal``."""
        if isinstance(exc, ServiceError):
            return self._refuse(sid, event, exc.code, str(exc), exc.retry_after)
        self.service.log.exception("jupyter-duel: event %s failed", clip(event))
        return self._refuse(sid, event, "internal", "the service failed to handle this event")

    async def _refuse(self, sid: str, event, code: str, message: str, retry_after: float | None = None) -> dict:
        error = protocol.Error(
            code=code,
            message=clip(message, MAX_MESSAGE),
            event=clip(event, 64) if type(event) is str else None,
            retry_after_s=None if retry_after is None else round(max(retry_after, 0.001), 3),
        )
        await self.service.emit("error", error, sid=sid)
        return {"ok": False, "error": error.model_dump()}

    # ------------------------------------------------------------ connection

    async def on_connect(self, sid, environ, auth=None):
        # Who the connection's first HTTP request proved to be, where a front door checks (the hub's).
        identity = getattr(environ.get("tornado.handler"), "duel_identity", None)
        if identity is not None:
            self.proven[sid] = identity
        return True

    async def on_disconnect(self, sid, reason=None):
        self.limiter.forget_connection(sid)
        self.proven.pop(sid, None)
        self.instructors.discard(sid)
        self.service.classroom.forget(sid)
        name = self.players.pop(sid, None)
        if name is not None:
            await self.leave_room(sid, f"player:{name}")
            await self.accounts.disconnected(name, sid)
            if self.service.cluster is not None:
                await self.service.workers.disconnected(sid, name)

    # ------------------------------------------------------------ events

    async def _asking_for_battle(self, sid, request) -> None:
        """Await a lobby ``request`` from connection ``sid``: the battle it leads to is played in that tab
        (``Accounts.lobby_tab``); a refused request leaves the choice as it was."""
        name = self.players[sid]
        before = self.accounts.lobby_tabs.get(name)
        self.accounts.asked_from(name, sid)
        try:
            await request
        except BaseException:
            if self.accounts.lobby_tabs.get(name) == sid:
                if before is None:
                    self.accounts.lobby_tabs.pop(name, None)
                else:
                    self.accounts.lobby_tabs[name] = before
            raise

    async def on_register_user(self, sid, msg: protocol.RegisterUser):
        profile, guest_key, instructor = await self.accounts.identify(msg, self.proven.get(sid))
        if not self.server.manager.is_connected(sid, self.namespace):
            return None  # the connection closed while its account was looked up: nobody to register
        remote = None
        if self.service.cluster is not None and self.battles.battle_of.get(profile.name) is None:
            # A battle on another worker: this player is told where (registered.worker_url).
            battle_id = await self.service.cluster.battle_of(profile.name)
            if battle_id is not None:
                owner, url = await self.service.cluster.owner_of(battle_id)
                if owner is not None and owner != self.service.worker_id:
                    remote = (battle_id, url)
            if not self.server.manager.is_connected(sid, self.namespace):
                return None
        previous = self.players.get(sid)
        if previous is not None and previous != profile.name:
            await self.leave_room(sid, f"player:{previous}")
            await self.accounts.disconnected(previous, sid)
            if self.service.cluster is not None:
                await self.service.workers.disconnected(sid, previous)
        self.players[sid] = profile.name
        # Rooms are per player, re-entered on every (re)connect: events reach every tab of the player.
        await self.enter_room(sid, f"player:{profile.name}")
        await self.enter_room(sid, "players")  # every registered connection: the tournaments list
        await self.accounts.connected(profile.name, sid)
        if instructor:
            self.instructors.add(sid)
        else:
            self.instructors.discard(sid)
        if self.service.cluster is not None:
            await self.service.workers.connected(sid, profile.name, instructor)
        registered = self.accounts.registered(profile, guest_key, instructor, sid, remote)
        await self.service.emit("registered", registered, sid=sid)
        return {"name": profile.name}

    async def on_join_queue(self, sid, msg: protocol.JoinQueue):
        await self._asking_for_battle(sid, self.lobby.join_queue(self.players[sid], msg))

    async def on_leave_queue(self, sid, msg: protocol.LeaveQueue):
        await self.lobby.leave_queue(self.players[sid])

    async def on_sync_code(self, sid, msg: protocol.SyncCode):
        await self.battles.sync_code(self.players[sid], msg, sid, perf_counter())

    async def on_run_samples(self, sid, msg: protocol.RunSamples):
        submission_id = await self.battles.submit(self.players[sid], msg.battle_id, msg.code, samples_only=True, sid=sid)
        return {"submission_id": submission_id}

    async def on_submit_code(self, sid, msg: protocol.SubmitCode):
        submission_id = await self.battles.submit(self.players[sid], msg.battle_id, msg.code, samples_only=False, sid=sid)
        return {"submission_id": submission_id}

    async def on_run_custom(self, sid, msg: protocol.RunCustom):
        run_id = await self.battles.run_custom(self.players[sid], msg)
        return {"run_id": run_id}

    async def on_forfeit(self, sid, msg: protocol.Forfeit):
        await self.battles.forfeit(self.players[sid], msg.battle_id)

    async def on_resume(self, sid, msg: protocol.Resume):
        await self.battles.resume(self.players[sid], msg.resume_token, sid)

    async def on_play_bot(self, sid, msg: protocol.PlayBot):
        await self._asking_for_battle(sid, self.lobby.play_bot(self.players[sid], msg))

    async def on_react(self, sid, msg: protocol.React):
        await self.battles.react(self.players[sid], msg)

    async def on_challenge_player(self, sid, msg: protocol.ChallengePlayer):
        await self._asking_for_battle(sid, self.lobby.challenge(self.players[sid], msg))

    async def on_answer_challenge(self, sid, msg: protocol.AnswerChallenge):
        await self._asking_for_battle(sid, self.lobby.answer_challenge(self.players[sid], msg))

    async def on_list_tournaments(self, sid, msg: protocol.ListTournaments):
        return {"tournaments": [s.model_dump(mode="json") for s in self.service.tournaments.summaries()]}

    async def on_join_tournament(self, sid, msg: protocol.JoinTournament):
        await self.service.tournaments.join(self.players[sid], msg.tournament_id)

    async def on_leave_tournament(self, sid, msg: protocol.LeaveTournament):
        await self.service.tournaments.leave(self.players[sid], msg.tournament_id)

    async def on_pause_tournament(self, sid, msg: protocol.PauseTournament):
        await self.service.tournaments.set_paused(self.players[sid], msg.tournament_id, msg.paused)

    # ------------------------------------------------------------ instructors (checked in trigger_event)

    async def on_watch_room(self, sid, msg: protocol.WatchRoom):
        await self.service.classroom.watch(sid, msg.watch)

    async def on_spectate(self, sid, msg: protocol.Spectate):
        await self.battles.spectate(sid, msg.battle_id, msg.watch)

    async def on_class_settings(self, sid, msg: protocol.ClassSettings):
        await self.service.classroom.settings(msg)

    async def on_pair_players(self, sid, msg: protocol.PairPlayers):
        await self.service.classroom.pair(msg)

    async def on_abort_battle(self, sid, msg: protocol.AbortBattle):
        await self.service.classroom.abort(msg)
