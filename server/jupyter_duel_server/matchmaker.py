"""The lobby: who is waiting for an opponent, and who is paired with whom.

Each waiting player accepts opponents within a rating window that widens the longer they wait. A pairing round
sorts the waiting players by rating and picks, by dynamic programming over that order, the set of pairs that
matches the most players with the smallest total rating gap, where a pair must be compatible: different people,
not an immediate rematch (unless both have waited ``rematch_after_s`` with nobody else), both ranked or both casual, overlapping pools, and a gap within both players' windows.
Pairing neighbours in rating order is what minimises the total gap of points on a line; the DP also lets a
pair skip one player between them, so one incompatible neighbour does not block a good pair.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from traitlets import Float
from traitlets.config import LoggingConfigurable

POOLS = ("any", "easy", "medium", "hard")


@dataclass
class QueueEntry:
    name: str
    pool: str
    ranked: bool
    rating: float
    joined_at: float = field(default_factory=time.monotonic)
    # The player's stored profile (store.Profile) when they joined: the lobby opens the battle with it, without
    # reading the database between pairing and seating them.
    profile: object = field(default=None, compare=False, repr=False)

    def waited(self, now: float | None = None) -> float:
        return (now if now is not None else time.monotonic()) - self.joined_at


@dataclass(frozen=True)
class Pairing:
    first: QueueEntry
    second: QueueEntry
    difficulty: str  # "any" or the difficulty both accept

    @property
    def gap(self) -> float:
        return abs(self.first.rating - self.second.rating)


def shared_pool(a: str, b: str) -> str | None:
    """The pool two players can both play in, or None."""
    if a == "any":
        return b
    if b == "any" or a == b:
        return a
    return None


class Matchmaker(LoggingConfigurable):
    """Waiting players by name, in arrival order, and the pairing rounds."""

    window_start = Float(100.0, help="Rating gap a player accepts on joining the queue.").tag(config=True)
    window_step = Float(50.0, help="How much the window widens every window_interval_s of waiting.").tag(
        config=True
    )
    window_interval_s = Float(5.0, help="Seconds of waiting per widening step.").tag(config=True)
    window_cap = Float(1000.0, help="The widest window.").tag(config=True)
    rematch_after_s = Float(
        15.0, help="Two players who just played each other are paired again only once both have waited this "
        "long (when nobody else came for them: e.g. the only two in the room)."
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._waiting: dict[str, QueueEntry] = {}
        self.last_opponent: dict[str, str] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)

    def window(self, entry: QueueEntry, now: float | None = None) -> float:
        steps = int(entry.waited(now) // self.window_interval_s)
        return min(self.window_cap, self.window_start + steps * self.window_step)

    def join(self, entry: QueueEntry) -> None:
        if entry.name in self._waiting:
            raise ValueError(f"{entry.name} is already queued")
        self._waiting[entry.name] = entry

    def leave(self, name: str) -> QueueEntry | None:
        return self._waiting.pop(name, None)

    def entry(self, name: str) -> QueueEntry | None:
        return self._waiting.get(name)

    def entries(self) -> list[QueueEntry]:
        return list(self._waiting.values())

    def position(self, name: str) -> int:
        """1-based place among those waiting in the same pool; 0 when not waiting."""
        entry = self._waiting.get(name)
        if entry is None:
            return 0
        place = 1
        for other in self._waiting.values():
            if other is entry:
                return place
            if other.pool == entry.pool:
                place += 1
        return 0

    def pool_size(self, pool: str) -> int:
        return sum(1 for e in self._waiting.values() if e.pool == pool)

    def sizes(self) -> dict[str, int]:
        sizes = dict.fromkeys(POOLS, 0)
        for e in self._waiting.values():
            sizes[e.pool] += 1
        return sizes

    def _rematch(self, a: str, b: str) -> bool:
        return self.last_opponent.get(a) == b or self.last_opponent.get(b) == a

    def record_battle(self, a: str, b: str) -> None:
        """Remember who last played whom, so the same two are not paired again straight away."""
        self.last_opponent[a], self.last_opponent[b] = b, a

    # ------------------------------------------------------------ pairing

    def compatible(self, a: QueueEntry, b: QueueEntry, window_a: float, window_b: float) -> str | None:
        """The pool a pair would play in, or None when they may not be paired now."""
        if a.name == b.name or a.ranked != b.ranked:
            return None
        if self._rematch(a.name, b.name) and min(a.waited(), b.waited()) < self.rematch_after_s:
            return None
        if abs(a.rating - b.rating) > min(window_a, window_b):
            return None
        return shared_pool(a.pool, b.pool)

    def pair_round(self, now: float | None = None) -> list[Pairing]:
        """One pairing round over everyone waiting; paired players leave the queue."""
        now = time.monotonic() if now is None else now
        pairings: list[Pairing] = []
        for ranked in (True, False):
            group = [e for e in self._waiting.values() if e.ranked == ranked]
            group.sort(key=_by_rating)
            pairings.extend(self._best_pairs(group, now))
        for p in pairings:
            del self._waiting[p.first.name]
            del self._waiting[p.second.name]
            self.record_battle(p.first.name, p.second.name)
        return pairings

    def _best_pairs(self, group: list[QueueEntry], now: float) -> list[Pairing]:
        """The DP over one rating-sorted group (all ranked or all casual). Written as a flat loop over local
        lists because it runs over the whole queue every round (10,000 players in well under 50 ms)."""
        n = len(group)
        if n < 2:
            return []
        start, step, interval, cap = self.window_start, self.window_step, self.window_interval_s, self.window_cap
        ratings = [e.rating for e in group]
        names = [e.name for e in group]
        pools = [e.pool for e in group]
        joined = [e.joined_at for e in group]
        last, rematch_after = self.last_opponent, self.rematch_after_s

        def window(i: int) -> float:
            return min(cap, start + ((now - joined[i]) // interval) * step)

        def pool_of(i: int, j: int) -> str | None:
            """The shared pool of players i and j if they may be paired now (j is below i in rating)."""
            gap = ratings[i] - ratings[j]
            if gap > start and (gap > window(i) or gap > window(j)):
                return None
            a, b = names[i], names[j]
            if a == b:
                return None
            if (last.get(a) == b or last.get(b) == a) and now - max(joined[i], joined[j]) < rematch_after:
                return None
            pa, pb = pools[i], pools[j]
            if pa == "any":
                return pb
            if pb == "any" or pa == pb:
                return pa
            return None

        # best_pairs[k], best_gap[k]: most pairs, then least total gap, among the first k players.
        best_pairs = [0] * (n + 1)
        best_gap = [0.0] * (n + 1)
        choice = [0] * (n + 1)  # 0: player k-1 unpaired; 1: paired with k-2; 2: with k-3 (k-2 unpaired)
        pool_at: list[str | None] = [None] * (n + 1)
        for k in range(2, n + 1):
            i = k - 1
            cur_p, cur_g, how, used = best_pairs[k - 1], best_gap[k - 1], 0, None
            # pool_of(i, i - 1), inlined: this line runs once per waiting player per round.
            gap = ratings[i] - ratings[i - 1]
            pool = None
            # Windows only matter past the narrowest one, which every waiting player has.
            if gap <= start or (gap <= window(i) and gap <= window(i - 1)):
                a, b = names[i], names[i - 1]
                rematch = last.get(a) == b or last.get(b) == a
                if a != b and not (rematch and now - max(joined[i], joined[i - 1]) < rematch_after):
                    pa, pb = pools[i], pools[i - 1]
                    pool = pb if pa == "any" else pa if (pb == "any" or pa == pb) else None
            if pool is not None:
                cand_p, cand_g = best_pairs[k - 2] + 1, best_gap[k - 2] + ratings[i] - ratings[i - 1]
                if cand_p > cur_p or (cand_p == cur_p and cand_g < cur_g):
                    cur_p, cur_g, how, used = cand_p, cand_g, 1, pool
            elif k >= 3:
                # Reaching past the neighbour only helps when the neighbour cannot be paired with i: otherwise
                # pairing the neighbour is never worse (as many pairs, a smaller gap).
                pool = pool_of(i, i - 2)
                if pool is not None:
                    cand_p, cand_g = best_pairs[k - 3] + 1, best_gap[k - 3] + ratings[i] - ratings[i - 2]
                    if cand_p > cur_p or (cand_p == cur_p and cand_g < cur_g):
                        cur_p, cur_g, how, used = cand_p, cand_g, 2, pool
            best_pairs[k], best_gap[k], choice[k], pool_at[k] = cur_p, cur_g, how, used
        pairs: list[Pairing] = []
        k = n
        while k >= 2:
            if choice[k] == 1:
                pairs.append(Pairing(group[k - 2], group[k - 1], pool_at[k]))
                k -= 2
            elif choice[k] == 2:
                pairs.append(Pairing(group[k - 3], group[k - 1], pool_at[k]))
                k -= 3
            else:
                k -= 1
        pairs.reverse()  # lowest ratings first; the service starts every battle of a round at once
        return pairs


def _by_rating(entry: QueueEntry) -> float:
    return entry.rating
