"""The classroom: what an instructor sees of the room and the controls they run the class with.

Instructors (``registered.instructor``) may watch the room: ``room_state`` (every running duel with its players,
clock, tests passed and fair-play signals; the queue; who is online; the class's pack or challenge) comes at
once and then after every change, at most once per ``ROOM_INTERVAL_S``. They may spectate a duel (the battle
room sends both codes at full fidelity), put the class on one pack or challenge, pair two players, abort a battle
with a reason, and export the session's results as CSV. Students never reach any of this: the namespace refuses
instructor events from anybody else (``not_instructor``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from . import fairplay, protocol
from .auth import display_name
from .protocol import ServiceError

if TYPE_CHECKING:
    from .accounts import Accounts
    from .battleroom import BattleRoom
    from .challenges import ChallengeLibrary
    from .lobby import Lobby
    from .service import DuelService
    from .store import Store

#: Most often a watching instructor gets ``room_state``, in seconds.
ROOM_INTERVAL_S = 1.0

CSV_COLUMNS = ("battle_id", "started_at", "ended_at", "challenge_id", "challenge_title", "player_a", "player_b",
               "winner", "status", "reason", "ranked", "mirror", "rating_a_before", "rating_a_after",
               "rating_b_before", "rating_b_after", "similarity", "pastes_a", "pastes_b", "note")


class Classroom:
    """Watchers of the room, and the class controls."""

    def __init__(self, service: "DuelService", store: "Store", challenges: "ChallengeLibrary",
                 battles: "BattleRoom", lobby: "Lobby", accounts: "Accounts"):
        self.service, self.store, self.challenges = service, store, challenges
        self.battles, self.lobby, self.accounts = battles, lobby, accounts
        self.watchers: set[str] = set()  # sids
        self.started_at = time.time()  # the session whose results the export holds
        self._due = False
        self._similarity: dict[str, tuple[int, int, float | None]] = {}  # battle id -> (seq a, seq b, value)
        battles.changed = lobby.changed = self.changed

    # ------------------------------------------------------------ the room

    def changed(self) -> None:
        """Something the room view shows changed: send it to the watchers soon (once for a burst). With several
        workers, one that does not run the lobby tells the lobby worker instead."""
        workers = getattr(self.service, "workers", None)
        if workers is not None and not workers.lobby_here:
            workers.room_changed()
            return
        if self.watchers and not self._due:
            self._due = True
            asyncio.get_running_loop().call_later(ROOM_INTERVAL_S, self._send_due)

    def _send_due(self) -> None:
        self._due = False
        if self.watchers:
            self.service.spawn(self._send(list(self.watchers)))

    async def _send(self, sids: list[str]) -> None:
        state = self.room_state()
        for sid in sids:
            await self.service.emit("room_state", state, sid=sid)

    async def watch(self, sid: str, watch: bool) -> None:
        if watch:
            self.watchers.add(sid)
            await self._send([sid])
        else:
            self.watchers.discard(sid)

    def forget(self, sid: str) -> None:
        """A connection closed: it watches nothing any more."""
        self.watchers.discard(sid)
        self.battles.forget_spectator(sid)

    def room_state(self) -> protocol.RoomState:
        now = time.time()
        battles = self.battle_views(now)
        workers = getattr(self.service, "workers", None)
        if workers is not None:  # the battles of the other workers, as they last told
            battles += workers.remote_battle_views()
        queue = [
            protocol.RoomWaiting(
                name=entry.name, display_name=display_name(entry.name), pool=entry.pool, ranked=entry.ranked,
                rating=round(entry.rating, 1), waited_s=round(entry.waited(), 1),
            )
            for entry in self.lobby.waiting()
        ]
        return protocol.RoomState(
            battles=battles,
            queue=queue,
            online=self.accounts.online_players(),
            pack=self.battles.class_pack,
            challenge_id=self.battles.class_challenge,
            packs=sorted(self.challenges.packs),
            server_time=now,
        )

    def battle_views(self, now: float) -> list[protocol.RoomBattle]:
        """This process's running battles as the class view shows them."""
        running = self.battles.battles()
        battles = []
        for battle in running:
            a, b = battle.seats
            battles.append(protocol.RoomBattle(
                battle_id=battle.id,
                challenge_id=battle.challenge.id,
                challenge_title=battle.challenge.title,
                difficulty=battle.challenge.difficulty,
                ranked=battle.ranked,
                mirror=battle.mirror,
                players=[
                    protocol.RoomPlayer(
                        name=seat.name, display_name=seat.profile.display_name, guest=seat.profile.guest,
                        connected=seat.connected, submissions=seat.submissions, best_passed=seat.best_passed,
                        pastes=len(seat.pastes),
                    )
                    for seat in battle.seats
                ],
                total_tests=len(battle.challenge.samples) + len(battle.challenge.hidden),
                started_at=battle.started_at,
                deadline=battle.deadline,
                similarity=None if (a.bot or b.bot) else self._live_similarity(battle),
            ))
        live = {battle.id for battle in running}
        self._similarity = {k: v for k, v in self._similarity.items() if k in live}
        return battles

    def _live_similarity(self, battle) -> float | None:
        """The similarity of the two codes now, computed again only when either has changed."""
        a, b = battle.seats
        cached = self._similarity.get(battle.id)
        if cached is not None and cached[:2] == (a.seq, b.seq):
            return cached[2]
        value = fairplay.similarity(a.code, b.code, battle.challenge.starter_code)
        self._similarity[battle.id] = (a.seq, b.seq, value)
        return value

    # ------------------------------------------------------------ controls

    async def settings(self, msg: protocol.ClassSettings) -> None:
        """Put every new battle on one pack or one challenge (None: back to the service's own choice)."""
        if msg.pack is not None and msg.pack not in self.challenges.packs:
            raise ServiceError("unknown_pack", "no loaded pack has this name")
        if msg.challenge_id is not None:
            try:
                self.challenges.get(msg.challenge_id)
            except KeyError:
                raise ServiceError("unknown_challenge", "no loaded challenge has this id") from None
        self.battles.class_pack, self.battles.class_challenge = msg.pack, msg.challenge_id
        self.service.log.info("jupyter-duel: class on pack %s, challenge %s", msg.pack, msg.challenge_id)
        self.changed()

    async def pair(self, msg: protocol.PairPlayers) -> None:
        if msg.first == msg.second:
            raise ServiceError("unknown_player", "pair two different players")
        for name in (msg.first, msg.second):
            if not self.accounts.is_online(name):
                raise ServiceError("unknown_player", f"{name!r} is not online")
        await self.lobby.open_pair(msg.first, msg.second, msg.ranked)

    async def abort(self, msg: protocol.AbortBattle) -> None:
        await self.battles.abort(msg.battle_id, msg.reason)

    # ------------------------------------------------------------ export

    async def results_csv(self, since: float | None = None) -> str:
        """The battles finished since ``since`` (default: since this service started) as CSV, one per row."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        rows = await self.service.db(self.store.finished_battles, self.started_at if since is None else since)
        for row in rows:
            try:
                row["challenge_title"] = self.challenges.get(row["challenge_id"]).title
            except KeyError:
                row["challenge_title"] = row["challenge_id"]
            for key in ("started_at", "ended_at"):
                row[key] = datetime.fromtimestamp(row[key], timezone.utc).isoformat(timespec="seconds")
            writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        return out.getvalue()


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (names are chosen by players)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
