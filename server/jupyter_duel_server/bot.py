"""The practice bot: an opponent for a player nobody was matched with, typing a reference solution.

The bot plays through the same paths as a person: its keystrokes are ``sync_code`` deltas relayed to the
player's mirror, and its finished code is submitted and judged for real. Its battles are never rated.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .protocol import Insert, Retain, SyncCode

if TYPE_CHECKING:
    from .battleroom import BattleRoom
    from .battles import BattleState, Seat

#: The bot's account name, reserved: no player may take it, or a name that looks like it.
BOT_NAME = "Practice bot"

TICK_S = 0.5


class PracticeBot:
    def __init__(self, room: "BattleRoom", battle: "BattleState", seat: "Seat", chars_per_minute: float):
        self.room, self.battle, self.seat = room, battle, seat
        self.chars_per_tick = max(1, round(chars_per_minute * TICK_S / 60.0))

    async def play(self) -> None:
        await asyncio.sleep(max(0.0, self.battle.started_at - time.time()))
        code = self.battle.challenge.reference
        typed = 0
        while typed < len(code):
            if self.battle.over:
                return
            chunk = code[typed : typed + self.chars_per_tick]
            seq = self.seat.seq + 1
            if typed == 0:  # like any client: the full text first, then deltas
                msg = SyncCode(battle_id=self.battle.id, seq=seq, text=chunk)
            else:
                msg = SyncCode(battle_id=self.battle.id, seq=seq, delta=[Retain(retain=typed), Insert(insert=chunk)])
            await self.room.sync_code(self.seat.name, msg)
            typed += len(chunk)
            await asyncio.sleep(TICK_S)
        if not self.battle.over:
            await self.room.submit(self.seat.name, self.battle.id, code, samples_only=False)
