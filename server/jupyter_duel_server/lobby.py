"""The lobby: players waiting for an opponent, until the battle room takes them.

Joining checks the pool and the queue cooldown of a player who keeps leaving battles early, then puts the
player in the ``Matchmaker``'s queue. A pairing round runs on every join and every ``match_interval_s``; each
pair it makes is opened in the battle room. Waiting players hear of their position and rating window
(``queue_update``), and after ``bot_after_s`` are offered the practice bot.

Besides the queue, a player may challenge another by name (a rematch is a challenge to the last opponent), and
an instructor may pair two players: either way ``open_pair`` takes both out of the queue into a new battle.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from . import mirror, protocol
from .accounts import player_info
from .battles import dodge_cooldown
from .bot import BOT_NAME, PracticeBot
from .challenges import ChallengeLibrary
from .matchmaker import Matchmaker, QueueEntry
from .protocol import ServiceError
from .rating import SECONDS_PER_DAY
from .store import Profile, Store

if TYPE_CHECKING:
    from .battleroom import BattleRoom
    from .service import DuelService


#: Seconds a challenge waits for its answer.
CHALLENGE_TTL_S = 60.0


@dataclass
class Offer:
    id: str
    challenger: str
    challenged: str
    pool: str
    ranked: bool
    expires_at: float


class Lobby:
    """The queue, the pairing loop, the practice bot offer, challenges between players."""

    def __init__(self, service: "DuelService", store: Store, challenges: ChallengeLibrary, matchmaker: Matchmaker,
                 battles: "BattleRoom"):
        self.service, self.store, self.challenges = service, store, challenges
        self.matchmaker, self.battles = matchmaker, battles
        self.log = service.log
        self._pairing_task: asyncio.Task | None = None
        self._sent_window: dict[str, tuple[float, bool]] = {}  # player -> (window, bot offered) last sent
        self.offers: dict[str, Offer] = {}  # open challenges by id
        self.changed: Callable[[], None] = lambda: None  # the class view's hook

    def close(self) -> None:
        if self._pairing_task is not None:
            self._pairing_task.cancel()

    def _check_pool(self, pool: str) -> None:
        packs = set(self.service.packs)
        if not any(pool in ("any", c.difficulty) and (not packs or c.pack in packs) for c in self.challenges.all()):
            raise ServiceError("empty_pool", f"no challenge is available in the {pool!r} pool")

    async def join_queue(self, name: str, msg: protocol.JoinQueue) -> None:
        self._check_free(name)
        self._check_pool(msg.pool)
        profile = await self.service.db(self.store.get_user, name)
        wait, exits = await self.queue_cooldown(profile.id)
        self._check_free(name)  # again: another tab of the player's may have queued or played meanwhile
        if wait > 0:
            raise ServiceError("queue_cooldown", f"you left {exits} battles early today: the queue opens again "
                               f"in {wait:.0f} s", retry_after=wait)
        # A guest's rating is worth nothing (anyone can make one): guests play casual unless the operator says.
        ranked = msg.ranked and (self.service.rate_guests or not profile.guest)
        entry = QueueEntry(name, msg.pool, ranked, profile.rating, profile=profile)
        self.matchmaker.join(entry)
        self.changed()
        self._ensure_pairing_loop()
        await self.pair()
        if name in self.matchmaker:
            await self._send_queue_update(entry, "waiting")

    def _check_free(self, name: str) -> None:
        if self.battles.battle_id_of(name) is not None:
            raise ServiceError("in_battle", "finish the running battle first")
        if name in self.matchmaker:
            raise ServiceError("already_queued", "already waiting for an opponent")

    async def queue_cooldown(self, user_id: int) -> tuple[float, int]:
        """(seconds before the player may queue again, their early exits today). A player who keeps leaving
        battles early waits (as lichess does with aborts): the first early exit of a day is free, then
        ``dodge_cooldown_s``, doubling each time, from the latest one."""
        svc = self.service
        if svc.dodge_cooldown_s <= 0:
            return 0.0, 0
        now = time.time()
        exits = await self.service.db(self.store.early_exits, user_id, now - SECONDS_PER_DAY)
        return dodge_cooldown(exits, now, svc.dodge_cooldown_s, svc.dodge_cooldown_max_s), len(exits)

    async def leave_queue(self, name: str) -> None:
        entry = self.matchmaker.leave(name)
        if entry is None:
            raise ServiceError("not_queued", "not waiting in any queue")
        self.changed()
        self._sent_window.pop(name, None)
        await self._send_queue_update(entry, "left")

    async def player_left(self, name: str) -> None:
        """``name``'s last connection closed: out of the queue, their challenges cancelled."""
        self.matchmaker.leave(name)
        self._sent_window.pop(name, None)
        await self._cancel_offers_of(name)
        self.changed()

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
        bot = status == "waiting" and entry.waited() >= self.service.bot_after_s
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
            mirror=mirror.mode_for(self.service.mirror_modes, entry.ranked, entry.pool),
        )
        await self.service.emit("queue_update", payload, to_player=entry.name)

    # ------------------------------------------------------------ pairing

    def _ensure_pairing_loop(self) -> None:
        if self._pairing_task is None or self._pairing_task.done():
            self._pairing_task = asyncio.ensure_future(self._pairing_loop())

    async def _pairing_loop(self) -> None:
        """Pair as windows widen; tell waiting players when their window or the bot offer changes."""
        while True:
            await asyncio.sleep(self.service.match_interval_s)
            try:
                await self.pair()
                for entry in self.matchmaker.entries():
                    now = (self.matchmaker.window(entry), entry.waited() >= self.service.bot_after_s)
                    if self._sent_window.get(entry.name) != now:
                        await self._send_queue_update(entry, "waiting")
            except Exception:
                self.log.exception("jupyter-duel: pairing round failed")

    async def pair(self) -> None:
        """One pairing round: open a battle for each pair and announce it."""
        pairings = self.matchmaker.pair_round()
        # Every paired player is in a battle before the first await: an event of theirs handled meanwhile (a
        # second tab's join_queue) finds them busy, never free to be paired twice.
        battles = [self.battles.open(p.first.profile, p.second.profile, p.difficulty, p.first.ranked,
                                     pool=p.first.pool) for p in pairings]
        if pairings:
            self.changed()
        for pairing, battle in zip(pairings, battles):
            try:
                await self.battles.record(battle)
            except Exception:  # the database refused: both players are free again, and told they left
                self.log.exception("jupyter-duel: battle %s could not be stored", battle.id)
                for entry in (pairing.first, pairing.second):
                    self._sent_window.pop(entry.name, None)
                    await self._send_queue_update(entry, "left")
                continue
            for entry in (pairing.first, pairing.second):
                self._sent_window.pop(entry.name, None)
                await self._send_queue_update(entry, "matched")
            await self.battles.announce(battle)

    async def play_bot(self, name: str, msg: protocol.PlayBot) -> None:
        self._check_bot_offer(name, msg)  # refused input changes nothing, not even the bot's account
        me = await self.service.db(self.store.get_user, name)
        bot = await self.service.db(self.store.get_or_create_user, BOT_NAME, guest=False, bot=True)
        self._check_bot_offer(name, msg)  # again, after the awaits: from here on the battle opens without one
        entry = self.matchmaker.leave(name)
        battle = self.battles.open(me, bot, msg.pool, ranked=False, bot=True, pool=msg.pool)
        if entry is not None:
            self._sent_window.pop(name, None)
            await self._send_queue_update(entry, "left")
        await self.battles.record(battle)
        await self.battles.announce(battle)
        practice = PracticeBot(self.battles, battle, battle.seat(BOT_NAME), self.service.bot_speeds[msg.speed])
        self.service.spawn(practice.play())

    def _check_bot_offer(self, name: str, msg: protocol.PlayBot) -> None:
        if self.battles.battle_id_of(name) is not None:
            raise ServiceError("in_battle", "finish the running battle first")
        self._check_pool(msg.pool)
        # The bot is what the queue offers after bot_after_s of waiting (queue_update's bot_available): before
        # that, a human opponent may still come.
        waiting = self.matchmaker.entry(name)
        if waiting is None:
            raise ServiceError("bot_not_offered", "join the queue first: the bot is offered to whoever waits")
        if waiting.waited() < self.service.bot_after_s:
            wait = self.service.bot_after_s - waiting.waited()
            raise ServiceError("bot_not_offered", f"the bot is offered in {wait:.1f} s", retry_after=wait)

    # ------------------------------------------------------------ pairs made by hand

    def ranked_between(self, first: Profile, second: Profile, ranked: bool) -> bool:
        """Whether a battle of these two may be ranked: not with a guest, unless guests are rated."""
        return self._ranked_between(first, second, ranked)

    async def taken(self, name: str) -> None:
        """``name`` was taken into a tournament's game: out of the queue (told ``matched``), their challenges
        cancelled."""
        entry = self.matchmaker.leave(name)
        if entry is not None:
            self._sent_window.pop(name, None)
            await self._send_queue_update(entry, "matched")
            self.changed()
        await self._cancel_offers_of(name)

    def _ranked_between(self, first: Profile, second: Profile, ranked: bool) -> bool:
        """Whether a battle of these two may be ranked: not with a guest, unless guests are rated."""
        if not ranked or self.service.rate_guests:
            return ranked
        return not (first.guest or second.guest)

    async def _profiles(self, *names: str) -> list[Profile]:
        profiles = [await self.service.db(self.store.get_user, n) for n in names]
        for name, profile in zip(names, profiles):
            if profile is None:
                raise ServiceError("unknown_player", f"no player is called {name!r}")
        return profiles

    async def open_pair(self, first: str, second: str, ranked: bool, pool: str = "any"):
        """Take ``first`` and ``second`` out of the queue (and their challenges) into a new battle."""
        a, b = await self._profiles(first, second)  # first: nothing is awaited from the checks to the opening
        for name in (first, second):
            if self.battles.battle_id_of(name) is not None:
                raise ServiceError("player_busy", f"{name} is in a battle already")
        battle = self.battles.open(a, b, pool, self._ranked_between(a, b, ranked), pool=pool)
        self.matchmaker.record_battle(first, second)
        entries = [self.matchmaker.leave(name) for name in (first, second)]
        try:
            await self.battles.record(battle)
        except Exception:  # the database refused: free again, and out of the queue as they are told
            for name, entry in zip((first, second), entries):
                if entry is not None:
                    self._sent_window.pop(name, None)
                    await self._send_queue_update(entry, "left")
            raise
        for name, entry in zip((first, second), entries):
            if entry is not None:
                self._sent_window.pop(name, None)
                await self._send_queue_update(entry, "matched")
            await self._cancel_offers_of(name)
        self.changed()
        await self.battles.announce(battle)
        return battle

    async def challenge(self, name: str, msg: protocol.ChallengePlayer) -> None:
        """``name`` challenges ``msg.name``: both hear of the offer, which the challenged answers."""
        target = msg.name
        if target == name:
            raise ServiceError("unknown_player", "challenge somebody else")
        if not self.service.accounts.is_online(target):
            raise ServiceError("unknown_player", "no online player has this name")
        me, them = await self._profiles(name, target)  # first: the checks below and the offer go together
        if not self.service.accounts.is_online(target):
            raise ServiceError("unknown_player", "no online player has this name")
        if self.battles.battle_id_of(name) is not None:
            raise ServiceError("in_battle", "finish the running battle first")
        if self.battles.battle_id_of(target) is not None:
            raise ServiceError("player_busy", f"{target} is in a battle")
        if any({o.challenger, o.challenged} == {name, target} for o in self.offers.values()):
            raise ServiceError("player_busy", "a challenge between you two is open already")
        self._check_pool(msg.pool)
        offer = Offer(uuid.uuid4().hex, name, target, msg.pool, self._ranked_between(me, them, msg.ranked),
                      time.time() + CHALLENGE_TTL_S)
        self.offers[offer.id] = offer
        self.service.later(f"offer/{offer.id}", CHALLENGE_TTL_S, self._close_offer, offer.id, "expired")
        await self._send_offer(offer, "offered")

    async def answer_challenge(self, name: str, msg: protocol.AnswerChallenge) -> None:
        offer = self.offers.get(msg.offer_id)
        if offer is None or offer.challenged != name:
            raise ServiceError("unknown_offer", "no open challenge to you has this id")
        if not msg.accept:
            await self._close_offer(offer.id, "declined")
            return
        if not self.service.accounts.is_online(offer.challenger):
            await self._close_offer(offer.id, "cancelled")
            raise ServiceError("unknown_player", "the challenger has gone")
        await self._close_offer(offer.id, "accepted")
        await self.open_pair(offer.challenger, offer.challenged, offer.ranked, offer.pool)

    async def _close_offer(self, offer_id: str, status: str) -> None:
        offer = self.offers.pop(offer_id, None)
        if offer is not None:
            self.service.cancel(f"offer/{offer_id}")
            await self._send_offer(offer, status)

    async def _cancel_offers_of(self, name: str) -> None:
        for offer in [o for o in self.offers.values() if name in (o.challenger, o.challenged)]:
            await self._close_offer(offer.id, "cancelled")

    async def _send_offer(self, offer: Offer, status: str) -> None:
        challenger, challenged = await self._profiles(offer.challenger, offer.challenged)
        payload = protocol.ChallengeOffer(
            offer_id=offer.id,
            server_time=time.time(),
            status=status,
            challenger=player_info(challenger, self.service.rating),
            challenged=player_info(challenged, self.service.rating),
            pool=offer.pool,
            ranked=offer.ranked,
            expires_at=offer.expires_at,
        )
        for name in (offer.challenger, offer.challenged):
            await self.service.emit("challenge_offer", payload, to_player=name)

    # ------------------------------------------------------------ views

    def waiting(self) -> list[QueueEntry]:
        """Everybody waiting, in arrival order."""
        return self.matchmaker.entries()

    def queue_info(self, name: str | None = None) -> dict:
        info = {
            "pools": self.matchmaker.sizes(),
            "waiting": len(self.matchmaker),
            "battles_running": self.battles.count(),
        }
        if name is not None:
            info["you"] = self.queue_position(name)
        return info
