"""What a worker of a service of several processes does besides being a service (``cluster`` is the transport).

On the lobby worker (``DuelService.lobby_worker``): the presence of every worker's registered connections (so the
lobby's rules run unchanged on them), the lobby events the other workers forward, the class view of every
worker's battles, where each new battle runs (``place``: the worker of one of its players, the less busy of the
two) and which players are busy on other workers. On every worker: opening a battle the lobby placed here,
streaming a battle to an instructor connected elsewhere, aborting it, carrying on the battles of a worker whose
lease ran out, and telling the lobby what it needs (presence, battles, ends).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from . import protocol
from .bot import PracticeBot

if TYPE_CHECKING:
    from .battleroom import RemoteBattle
    from .service import DuelService

#: Most often a worker tells the lobby what its battles look like, in seconds.
ROOM_PUSH_S = 1.0


class Workers:
    def __init__(self, service: "DuelService"):
        self.service = service
        self.cluster = service.cluster
        self.log = service.log
        self.me = service.worker_id
        self.lobby = service.lobby_worker
        self.remote_sids: dict[str, str] = {}  # lobby: connection on another worker -> that worker
        self.remote_rooms: dict[str, list[dict]] = {}  # lobby: worker -> its battles as RoomBattle dicts
        self.watching: set[str] = set()  # connections of this worker watching the room (instructors)
        self._room_due = False
        self._lobby_lease: bytes | None = None  # the lobby process's lease seen last (a new one: tell it again)
        c = self.cluster
        for op in ("connected", "disconnected", "event", "room", "over", "hello"):
            c.on(op, getattr(self, "_on_" + op))
        c.on("open_battle", self._on_open_battle)
        c.on("spectate", self._on_spectate)
        c.on("abort", self._on_abort)

    @property
    def lobby_here(self) -> bool:
        return self.me == self.lobby

    async def start(self) -> None:
        await self.cluster.start()
        if self.lobby_here:  # who is busy on the other workers (a restarted lobby)
            self.service.battles.remote_of.update(await self.cluster.playing())
        else:  # whatever a previous process of this worker told the lobby is gone
            self._lobby_lease = await self.cluster.redis.get(self.cluster._key("lease", self.lobby))
            await self.cluster.cast(self.lobby, "hello")

    async def beat(self) -> None:
        """Renew the lease every third of it; carry on orphaned battles; keep the lobby's view true."""
        while True:
            await asyncio.sleep(self.service.worker_lease_s / 3)
            try:
                if not await self.cluster.beat():
                    await self._drop_lost_battles()
                orphans = await self.cluster.orphans()
                if orphans:
                    claimed = await self.cluster.claim(orphans)
                    if claimed:
                        self.log.warning("jupyter-duel: worker %s carries on %d battle(s) of a stopped worker",
                                         self.me, len(claimed))
                        await self.service.battles.restore(only=claimed)
                if self.lobby_here:
                    alive = await self.cluster.alive_workers()
                    for worker in {*self.remote_sids.values(), *self.remote_rooms} - alive:
                        await self._forget_worker(worker)
                else:
                    lease = await self.cluster.redis.get(self.cluster._key("lease", self.lobby))
                    if lease is not None and lease != self._lobby_lease:  # a new lobby process: tell it all
                        self._lobby_lease = lease
                        await self._tell_lobby_everything()
            except Exception:
                self.log.exception("jupyter-duel: worker %s: heartbeat failed", self.me)

    async def _drop_lost_battles(self) -> None:
        """After a stall longer than the lease: the battles another worker carries on now are its own; this
        worker forgets them (without ending them) and their players find them where registered says."""
        battles = self.service.battles
        mine = await self.cluster.owned(list(battles.running))
        for battle_id in [b for b in battles.running if b not in mine]:
            battle = battles.running.pop(battle_id)
            self.service.cancel(battle_id)
            for seat in battle.seats:
                self.service.cancel(f"{battle_id}/{seat.name}")
                if battles.battle_of.get(seat.name) == battle_id:
                    del battles.battle_of[seat.name]
            self.log.warning("jupyter-duel: worker %s: battle %s is carried on by another worker now", self.me,
                             battle_id)
        self.service.classroom.changed()

    # ------------------------------------------------------------ presence (sent to the lobby)

    async def connected(self, sid: str, name: str, instructor: bool) -> None:
        if not self.lobby_here:
            await self.cluster.cast(self.lobby, "connected", sid=sid, name=name, instructor=instructor)

    async def disconnected(self, sid: str, name: str) -> None:
        self.watching.discard(sid)
        if not self.lobby_here:
            await self.cluster.cast(self.lobby, "disconnected", sid=sid, name=name)

    async def forward(self, sid: str, event: str, args: tuple) -> dict:
        """A lobby event of a connection of this worker, handled by the lobby worker: its answer."""
        try:
            answer = await self.cluster.call(self.lobby, "event", sid=sid, event=event,
                                             payload=args[1] if len(args) > 1 else None, nargs=len(args))
        except protocol.ServiceError as exc:
            return await self.service.namespace._refuse(sid, event, exc.code, str(exc), exc.retry_after)
        if event == "watch_room" and answer.get("ok"):  # told again to a restarted lobby process
            if args[1].get("watch", True):
                self.watching.add(sid)
            else:
                self.watching.discard(sid)
        return answer

    async def _tell_lobby_everything(self) -> None:
        ns = self.service.namespace
        self.log.info("jupyter-duel: worker %s: telling the lobby worker again", self.me)
        if not await self.cluster.cast(self.lobby, "hello"):
            self._lobby_lease = None  # not listening yet: again at the next beat
            return
        for sid, name in list(ns.players.items()):
            await self.connected(sid, name, sid in ns.instructors)
        for sid in list(self.watching):
            if sid in ns.players:
                await self.cluster.call(self.lobby, "event", sid=sid, event="watch_room", payload={"watch": True},
                                        nargs=2)
        await self._push_room()

    async def _on_hello(self, sender: str) -> None:
        """A worker (re)started: whatever its previous process had is gone."""
        await self._forget_worker(sender)

    async def _forget_worker(self, worker: str) -> None:
        self.remote_rooms.pop(worker, None)
        for sid in [s for s, w in self.remote_sids.items() if w == worker]:
            name = self.service.namespace.players.get(sid)
            if name is not None:
                await self._on_disconnected(worker, sid, name)
        self.service.classroom.changed()

    async def _on_connected(self, sender: str, sid: str, name: str, instructor: bool) -> None:
        ns = self.service.namespace
        self.remote_sids[sid] = sender
        ns.players[sid] = name
        if instructor:
            ns.instructors.add(sid)
        await self.service.accounts.connected(name, sid)

    async def _on_disconnected(self, sender: str, sid: str, name: str) -> None:
        ns = self.service.namespace
        self.remote_sids.pop(sid, None)
        ns.limiter.forget_connection(sid)
        ns.instructors.discard(sid)
        self.service.classroom.forget(sid)
        if ns.players.pop(sid, None) is not None:
            await self.service.accounts.disconnected(name, sid)

    async def _on_event(self, sender: str, sid: str, event: str, payload, nargs: int) -> dict:
        args = (sid, payload) if nargs > 1 else (sid,)
        return await self.service.namespace.trigger_event(event, *args)

    # ------------------------------------------------------------ battles

    def place(self, *names: str | None) -> str:
        """The worker a battle of ``names`` runs on: the worker of one of its players' lobby tab (one player
        at most moves), the one with fewer battles."""
        accounts = self.service.accounts
        choices = []
        for name in names:
            if name is None:
                continue
            sid = accounts.lobby_tab(name) or next(iter(sorted(accounts.connections(name))), None)
            choices.append(self.remote_sids.get(sid, self.me) if sid is not None else self.me)
        return min(choices, key=lambda w: (self._load(w), choices.index(w))) if choices else self.me

    def _load(self, worker: str) -> int:
        return self.service.battles.count() if worker == self.me else len(self.remote_rooms.get(worker, ()))

    async def open_on(self, battle: "RemoteBattle") -> None:
        """Ask ``battle.worker`` to open and announce ``battle`` (the lobby's tabs of its players with it)."""
        accounts = self.service.accounts
        tabs = {name: accounts.lobby_tab(name) for name in battle.names}
        others = {name: sorted(accounts.connections(name) - {tabs[name]}) for name in battle.names}
        await self.cluster.call(battle.worker, "open_battle", battle_id=battle.id, tabs=tabs, others=others,
                                **battle.request)

    async def _on_open_battle(self, sender: str, battle_id: str, a: str, b: str, difficulty: str, challenge_id: str,
                              ranked: bool, bot: bool, pool: str, tabs: dict, others: dict,
                              speed: str = "normal") -> dict:
        svc, battles = self.service, self.service.battles
        first = await svc.db(svc.store.get_user, a)
        second = await svc.db(svc.store.get_user, b)
        battle = battles.open(first, second, difficulty, ranked, bot=bot, pool=pool, battle_id=battle_id,
                              challenge=svc.challenges.get(challenge_id))
        await battles.record(battle)
        await battles.announce(battle, tabs=tabs, others=others)
        if bot:
            practice = PracticeBot(battles, battle, battle.seats[1], svc.bot_speeds[speed])
            svc.spawn(practice.play())
        return {"battle_id": battle.id}

    async def _on_spectate(self, sender: str, sid: str, battle_id: str, watch: bool) -> None:
        await self.service.battles.spectate(sid, battle_id, watch)

    async def _on_abort(self, sender: str, battle_id: str, reason: str) -> None:
        await self.service.battles.abort(battle_id, reason)

    async def battle_over(self, battle_id: str, names: list[str]) -> None:
        """A battle of this worker ended: nobody owns it any more, and its players are free in the lobby."""
        await self.cluster.release(battle_id, names)
        if not self.lobby_here:
            await self.cluster.cast(self.lobby, "over", battle_id=battle_id, names=names)

    async def _on_over(self, sender: str, battle_id: str, names: list[str]) -> None:
        remote_of = self.service.battles.remote_of
        for name in names:
            if remote_of.get(name) == battle_id:
                del remote_of[name]
        self.service.classroom.changed()

    # ------------------------------------------------------------ the class view

    def room_changed(self) -> None:
        """This worker's battles changed: tell the lobby soon (once for a burst)."""
        if not self._room_due and not self.lobby_here:
            self._room_due = True
            asyncio.get_running_loop().call_later(ROOM_PUSH_S, lambda: self.service.spawn(self._push_room()))

    async def _push_room(self) -> None:
        self._room_due = False
        views = [v.model_dump(mode="json") for v in self.service.classroom.battle_views(time.time())]
        await self.cluster.cast(self.lobby, "room", battles=views)

    async def _on_room(self, sender: str, battles: list[dict]) -> None:
        self.remote_rooms[sender] = battles
        self.service.classroom.changed()

    def remote_battle_views(self) -> list[protocol.RoomBattle]:
        return [protocol.RoomBattle.model_validate(b) for views in self.remote_rooms.values() for b in views]
