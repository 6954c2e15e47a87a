"""Accounts: who a connection is, what others see of a player, and who is online.

``identify`` turns a ``register_user`` payload (a signed identity token, or a guest name where guests are
allowed) into a stored player. Presence is the set of connected sids per player: a player comes with their
first connection and goes with their last, and ``Accounts`` tells the battle room and the lobby when either
happens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from . import protocol
from .auth import GUEST_PREFIX, AuthError, Identity, IdentitySigner, check_guest_name, skeleton
from .bot import BOT_NAME
from .protocol import ServiceError
from .store import NameConfusable, NameTaken, Profile, Store

if TYPE_CHECKING:
    from .battleroom import BattleRoom
    from .lobby import Lobby
    from .rating import RatingSystem
    from .service import DuelService


def player_info(profile: Profile, rating: "RatingSystem", bot: bool = False) -> protocol.PlayerInfo:
    """What a battle shows of one of its players."""
    return protocol.PlayerInfo(
        name=profile.name,
        display_name=profile.display_name,
        rating=round(profile.rating, 1),
        guest=profile.guest,
        bot=bot,
        provisional=False if bot else rating.provisional(profile.rating_state(), time.time()),
    )


class Accounts:
    """Identities, profile views and presence."""

    def __init__(self, service: "DuelService", store: Store, signer: IdentitySigner, rating: "RatingSystem",
                 battles: "BattleRoom", lobby: "Lobby"):
        self.service, self.store, self.signer, self.rating = service, store, signer, rating
        self.battles, self.lobby = battles, lobby
        self.sids: dict[str, set[str]] = {}  # player name -> connected sids
        self.lobby_tabs: dict[str, str] = {}  # player name -> the connection that last asked for a battle
        self.came_online: Callable[[str], None] = lambda name: None  # the tournament room's hook

    async def identify(self, msg: protocol.RegisterUser, proven: Identity | None = None
                       ) -> tuple[Profile, str | None, bool]:
        """Turn a register_user payload into a stored player, the key a guest's browser must keep (at its first
        registration) and whether the player is an instructor; or raise ServiceError. ``proven`` is who the
        connection's own HTTP request proved to be (the hub's front door), used when the payload names nobody."""
        try:
            identity = self._identity(msg, proven)
            if not identity.guest:
                if identity.name.startswith(GUEST_PREFIX) or identity.name == BOT_NAME:
                    raise AuthError("invalid_name", f"the name {identity.name!r} is reserved")
                instructor = identity.instructor or identity.name in self.service.instructors
                return await self.service.db(self.store.get_or_create_user, identity.name), None, instructor
            name = check_guest_name(identity.name)
            if skeleton(name) == skeleton(BOT_NAME):
                raise NameConfusable(BOT_NAME)
            return (*await self.service.db(self.store.claim_guest, name, msg.guest_key), False)
        except AuthError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        except NameTaken:
            raise ServiceError("name_taken", f"the guest name {identity.name!r} belongs to another browser") from None
        except NameConfusable as exc:
            raise ServiceError("name_confusable", f"the name {identity.name!r} looks like {exc.args[0]!r}, which "
                               "another player has") from None

    def _identity(self, msg: protocol.RegisterUser, proven: Identity | None) -> Identity:
        if self.service.hub:  # the hub says who everybody is: no tokens, no guests
            if msg.token is not None or msg.display_name is not None or proven is None:
                raise AuthError("auth_failed", "log in through the hub: send register_user with no token and no "
                                "display_name, on a connection made after GET api/me")
            return proven
        if msg.token is not None:
            return self.signer.verify(msg.token)
        if msg.display_name is not None:
            if not self.service.allow_guests:
                raise ServiceError("guests_disabled", "this service does not accept guest names")
            return Identity(msg.display_name, True)
        if proven is None:
            raise AuthError("auth_failed", "send an identity token or, where guests are allowed, a display name")
        return proven

    def registered(self, profile: Profile, guest_key: str | None, instructor: bool, sid: str
                   ) -> protocol.Registered:
        """What ``registered`` says to connection ``sid``: the player, the running battle they may resume, and
        whether another of their tabs plays it."""
        battle_id = self.battles.battle_id_of(profile.name)
        return protocol.Registered(
            battle_elsewhere=self.battles.elsewhere(profile.name, sid),
            user=self.profile_view(profile),
            battle_id=battle_id,
            resume_token=self.battles.resume_token(battle_id, profile.name) if battle_id else None,
            guest_key=guest_key,
            instructor=instructor,
        )

    def profile_view(self, profile: Profile) -> protocol.UserProfile:
        return protocol.UserProfile(**profile.as_dict(self.rating.provisional(profile.rating_state(), time.time())))

    async def user_view(self, name: str) -> protocol.UserProfile | None:
        profile = await self.service.db(self.store.get_user, name)
        return None if profile is None else self.profile_view(profile)

    async def leaderboard(self) -> list[protocol.UserProfile]:
        """The best rated players; guests only where their ratings count (``DuelService.rate_guests``)."""
        best = await self.service.db(self.store.leaderboard, guests=self.service.rate_guests)
        return [self.profile_view(p) for p in best]

    # ------------------------------------------------------------ presence

    def online(self) -> int:
        """How many players have a connection."""
        return len(self.sids)

    def is_online(self, name: str) -> bool:
        return name in self.sids

    def has_connection(self, name: str, sid: str) -> bool:
        return sid in self.sids.get(name, ())

    def connections(self, name: str) -> set[str]:
        """The open connections (tabs) of ``name``."""
        return set(self.sids.get(name, ()))

    def asked_from(self, name: str, sid: str) -> None:
        """Connection ``sid`` asked for a battle (queue, bot, challenge): it will play the battle that comes."""
        self.lobby_tabs[name] = sid

    def lobby_tab(self, name: str) -> str | None:
        """The open connection of ``name`` that last asked for a battle, if any."""
        sid = self.lobby_tabs.get(name)
        return sid if sid is not None and self.has_connection(name, sid) else None

    def online_players(self) -> list[str]:
        """Handles of every player with a connection."""
        return sorted(self.sids)

    async def connected(self, name: str, sid: str) -> None:
        """A connection registered as ``name``. (It plays their running battle only once it resumes it.)"""
        first = name not in self.sids
        self.sids.setdefault(name, set()).add(sid)
        if first:
            self.lobby.changed()
            self.came_online(name)

    async def disconnected(self, name: str, sid: str) -> None:
        sids = self.sids.get(name, set())
        sids.discard(sid)
        if self.lobby_tabs.get(name) == sid:
            del self.lobby_tabs[name]
        if not sids:
            self.sids.pop(name, None)
            await self.lobby.player_left(name)
        await self.battles.tab_closed(name, sid)
