"""The lobby: who is waiting for an opponent, and who is paired with whom.

First come, first served: a newcomer is paired with the longest-waiting compatible player. Two players are
compatible when they are different people, both want a ranked (or both a casual) battle and their pools
overlap (``any`` overlaps every difficulty).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

POOLS = ("any", "easy", "medium", "hard")


@dataclass
class QueueEntry:
    name: str
    pool: str
    ranked: bool
    rating: float
    joined_at: float = field(default_factory=time.monotonic)

    def waited(self, now: float | None = None) -> float:
        return (now if now is not None else time.monotonic()) - self.joined_at


@dataclass(frozen=True)
class Pairing:
    first: QueueEntry
    second: QueueEntry
    difficulty: str  # "any" or the difficulty both accept


def _shared_pool(a: str, b: str) -> str | None:
    if a == "any":
        return b
    if b == "any" or a == b:
        return a
    return None


class Matchmaker:
    """Waiting players by name, in arrival order."""

    def __init__(self) -> None:
        self._waiting: dict[str, QueueEntry] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)

    def join(self, entry: QueueEntry) -> Pairing | None:
        """Queue ``entry``; if someone compatible already waits, take both out and return the pairing."""
        if entry.name in self._waiting:
            raise ValueError(f"{entry.name} is already queued")
        for other in self._waiting.values():
            if other.name == entry.name or other.ranked != entry.ranked:
                continue
            difficulty = _shared_pool(other.pool, entry.pool)
            if difficulty is not None:
                del self._waiting[other.name]
                return Pairing(other, entry, difficulty)
        self._waiting[entry.name] = entry
        return None

    def leave(self, name: str) -> QueueEntry | None:
        return self._waiting.pop(name, None)

    def entry(self, name: str) -> QueueEntry | None:
        return self._waiting.get(name)

    def position(self, name: str) -> int:
        """1-based place among those waiting in the same pool; 0 when not waiting."""
        entry = self._waiting.get(name)
        if entry is None:
            return 0
        same = [e for e in self._waiting.values() if e.pool == entry.pool]
        return same.index(entry) + 1

    def pool_size(self, pool: str) -> int:
        return sum(1 for e in self._waiting.values() if e.pool == pool)

    def sizes(self) -> dict[str, int]:
        return {pool: self.pool_size(pool) for pool in POOLS}
