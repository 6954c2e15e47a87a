"""Seeded simulation: players with hidden skill play many rounds through the real matchmaker and rating code.

Prints, per rating system, how well the final ratings order the *honest* players by skill (Spearman's rank
correlation) with no cheaters, with cheaters under the service's rules (``protected``) and with the same
cheaters under the rules the service had before (``unprotected``); how far the honest players' places among all
players are off; and how many percentile points each kind of cheater gained over its skill.
``tests/unit/test_rating_simulation.py`` runs the same functions.

    python benchmarks/rating_simulation.py [--players 200] [--rounds 150] [--seed 7] [--cheaters 0.15]
                                           [--rounds-per-day 10]

The players (``--cheaters`` is their share, split evenly among the kinds):

- honest: each battle is won with the Elo probability of the two hidden skills;
- sniper: submits whatever code it sees the opponent write. With the ``live`` mirror it wins every battle that
  either player would win (it copies the solution and submits at the same time); with the ``shape`` mirror, the
  ranked default, it sees no text and plays at its own skill;
- dodger: leaves right after ``match_found`` when the opponent's rating is higher than its own;
- farmer: a main account that plays honestly in the queue plus throwaway accounts (new ones every day) that meet
  the main directly (queueing at the same moment) a few times a round and forfeit during the countdown.

Both rule sets run every battle through the real ``BattleState`` (``on_submission``, ``on_forfeit``,
``on_grace_expired``, ``on_abort``) and rate it with the real rating system. ``protected`` is the service as it
is (``docs/rules.md``): forfeits and disconnect losses before anybody submitted are unrated (``Outcome.rated``),
a leaver loses when the grace period ends, repeated early exits close the queue for ``battles.dodge_cooldown``,
the same pair rates at most ``pair_rated_per_day`` battles a day, and a ranked battle gets the mirror mode of
``DuelService.mirror_modes`` (``mirror.mode_for``: ``shape``, no text). ``unprotected``: every forfeit is rated,
leaving right after ``match_found`` aborts the battle at once with no cooldown, no pair limit, the ``live``
mirror. The numbers (grace, cooldowns, pair limit, countdown, mirror modes) are the defaults of ``DuelService``.

Time, in seconds: a day is a session of ``rounds_per_day`` rounds of 15 minutes (the farm battles, a queue phase
of 60 s in which dodged players may queue again, then the battles); the next day's session starts 24 h after the
previous one, so the per-day rules (pair limit, early exits of the last day) apply.
"""

from __future__ import annotations

import argparse
import random
import statistics

from jupyter_duel_server.battles import BattleState, Seat, dodge_cooldown
from jupyter_duel_server.matchmaker import Matchmaker, QueueEntry
from jupyter_duel_server.rating import RATING_SYSTEMS, PlayerRating
from jupyter_duel_server.service import SECONDS_PER_DAY, DuelService
from jupyter_duel_server.store import Profile

try:
    from jupyter_duel_server import mirror
except ImportError:  # a service without mirror modes shows every edit live
    mirror = None

KINDS = ("sniper", "dodger", "farmer")
RULES = ("protected", "unprotected")

ROUND_S = 900.0  # one round: the queue phase and one battle
QUEUE_STEPS, STEP_S = 12, 5.0  # pairing rounds of the queue phase, seconds apart
BATTLE_S = 300.0  # from the start of the clock to the result of a battle played out
TESTS = 10  # tests of the simulated challenge
FARM_GAMES = 3  # battles of each farmer's main against its throwaways per round
THROWAWAYS = 3  # throwaway accounts per farmer, new ones every day


def _default(trait: str):
    return getattr(DuelService, trait).default()


PAIR_RATED_PER_DAY = _default("pair_rated_per_day")
DODGE_COOLDOWN_S = _default("dodge_cooldown_s")
DODGE_COOLDOWN_MAX_S = _default("dodge_cooldown_max_s")
GRACE_S = _default("disconnect_grace_s")
COUNTDOWN_S = _default("countdown_s")


def service_mirror(pool: str) -> str:
    """The mirror mode the service gives a ranked battle in ``pool`` (``DuelService.mirror_modes``, default)."""
    if mirror is None:
        return "live"
    return mirror.mode_for(_default("mirror_modes"), True, pool)


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def percentiles(values: list[float]) -> list[float]:
    """Each value's rank as a percentile: 0 the lowest, 100 the highest (ties share the mean rank)."""
    n = len(values)
    return [100.0 * r / (n - 1) for r in ranks(values)] if n > 1 else [50.0] * n


class Account:
    """One account: its profile (for the battle's seats), hidden skill, behaviour and rating."""

    def __init__(self, profile: Profile, skill: float, kind: str, rating: PlayerRating):
        self.name = profile.name
        self.profile = profile
        self.skill = skill
        self.kind = kind  # honest | sniper | dodger | farmer | throwaway
        self.rating = rating
        self.exits: list[float] = []  # early exits: forfeit/disconnect losses before anybody submitted
        self.busy_until = 0.0  # in a battle that has not ended yet
        self.throwaways: list[str] = []  # a farmer's, of the day


class Simulation:
    def __init__(self, system: str, rules: str, seed: int):
        if rules not in RULES:
            raise ValueError(f"rules must be one of {RULES}")
        self.rules = rules
        self.protected = rules == "protected"
        self.rating = RATING_SYSTEMS[system]()
        self.rng = random.Random(seed)
        self.accounts: dict[str, Account] = {}
        self.matchmaker = Matchmaker()
        self.pair_rated: dict[frozenset, list[float]] = {}
        self.battles = 0
        self.gaps: list[float] = []
        self.counts = dict.fromkeys(
            ("rated", "early_exit_unrated", "pair_limit_unrated", "aborted", "farm_battles", "cooldown_refusals"), 0
        )

    def add(self, name: str, skill: float, kind: str) -> Account:
        profile = Profile(len(self.accounts) + 1, name, False, 0.0, 0, 0, 0, 0)
        account = Account(profile, skill, kind, self.rating.initial())
        self.accounts[name] = account
        return account

    # ------------------------------------------------------------------ the service's decisions

    def may_queue(self, account: Account, now: float) -> bool:
        if not self.protected:
            return True
        recent = [t for t in account.exits if t >= now - SECONDS_PER_DAY]
        if dodge_cooldown(recent, now, DODGE_COOLDOWN_S, DODGE_COOLDOWN_MAX_S) > 0:
            self.counts["cooldown_refusals"] += 1
            return False
        return True

    def battle(self, a: Account, b: Account, now: float) -> BattleState:
        self.battles += 1
        return BattleState(
            f"b{self.battles}", None, (Seat(a.profile), Seat(b.profile)), ranked=True,
            time_limit_s=int(BATTLE_S * 2), started_at=now + COUNTDOWN_S,
        )

    def finish(self, battle: BattleState, now: float) -> None:
        """What ``BattleRoom._finish`` decides: rated or not, and the rating update; plus the early exit."""
        outcome = battle.outcome
        a, b = (self.accounts[n] for n in battle.names)
        if outcome.reason in ("forfeit", "disconnect") and battle.nobody_submitted():
            loser = b if outcome.winner == a.name else a
            loser.exits.append(now)
        if outcome.reason == "aborted":
            self.counts["aborted"] += 1
            return
        if self.protected:
            if not outcome.rated:
                self.counts["early_exit_unrated"] += 1
                return
            pair = frozenset(battle.names)
            times = [t for t in self.pair_rated.get(pair, ()) if t >= now - SECONDS_PER_DAY]
            self.pair_rated[pair] = times
            if PAIR_RATED_PER_DAY > 0 and len(times) >= PAIR_RATED_PER_DAY:
                self.counts["pair_limit_unrated"] += 1
                return
            times.append(now)
        self.counts["rated"] += 1
        a.rating, b.rating = self.rating.update(a.rating, b.rating, battle.score_of_first(), now=now)

    # ------------------------------------------------------------------ the players

    def mirror_mode(self, pool: str) -> str:
        return service_mirror(pool) if self.protected else "live"

    def play(self, a: Account, b: Account, now: float, pool: str) -> bool:
        """A battle the matchmaker made at ``now``; False when it ended without being played (a dodge), so that
        both players may queue again."""
        battle = self.battle(a, b, now)
        leaver = None
        for me, other in ((a, b), (b, a)):
            if me.kind == "dodger" and other.rating.rating > me.rating.rating:
                leaver = me
        if leaver is not None:
            other = b if leaver is a else a
            if self.protected:  # gone: loses when the grace period ends, unrated since nobody submitted
                seat = battle.seat(leaver.name)
                seat.connected, seat.gone_since = False, now
                end = now + GRACE_S
                battle.on_grace_expired(leaver.name)
            else:  # before: a disconnect right after match_found aborted the battle at once
                end = now
                battle.on_abort()
            self.finish(battle, end)
            leaver.busy_until = other.busy_until = end
            return False
        p_a = 1.0 / (1.0 + 10 ** ((b.skill - a.skill) / 400.0))
        winner = a if self.rng.random() < p_a else b
        snipers = [p for p in (a, b) if p.kind == "sniper"]
        if len(snipers) == 1 and self.mirror_mode(pool) == "live":
            # It submits the opponent's solution as soon as it appears. ("delayed" shows it too late: the
            # opponent's own submission has ended the battle by then; "shape" and "off" show no text.)
            winner = snipers[0]
        end = battle.started_at + BATTLE_S
        battle.on_submission(winner.name, TESTS, TESTS)
        self.finish(battle, end)
        a.busy_until = b.busy_until = end
        return True

    def farm(self, farmer: Account, now: float) -> None:
        """The main's battles against its own throwaways, each forfeited during the countdown."""
        for _ in range(FARM_GAMES):
            ready = [self.accounts[t] for t in farmer.throwaways]
            ready = [t for t in ready if self.may_queue(t, now)]
            if not ready:
                return
            throwaway = ready[0]
            farmer.throwaways.remove(throwaway.name)
            farmer.throwaways.append(throwaway.name)  # next time, the others first
            battle = self.battle(farmer, throwaway, now)
            battle.on_forfeit(throwaway.name)
            self.counts["farm_battles"] += 1
            self.finish(battle, now + 1.0)
            now += COUNTDOWN_S

    def round(self, start: float, pool_of: dict[str, str]) -> None:
        players = [acc for acc in self.accounts.values() if acc.kind != "throwaway"]
        for acc in players:
            if acc.kind == "farmer":
                self.farm(acc, start)
        done: set[str] = set()
        clock = start + FARM_GAMES * COUNTDOWN_S + 1.0  # the queue phase, after the farm battles
        for _step in range(QUEUE_STEPS):
            for acc in players:
                if acc.name in done or acc.name in self.matchmaker or acc.busy_until > clock:
                    continue
                if self.may_queue(acc, clock):
                    self.matchmaker.join(QueueEntry(acc.name, pool_of[acc.name], True, acc.rating.rating,
                                                    joined_at=clock))
            for pairing in self.matchmaker.pair_round(now=clock):
                a, b = self.accounts[pairing.first.name], self.accounts[pairing.second.name]
                self.gaps.append(pairing.gap)
                if self.play(a, b, clock, pairing.difficulty):
                    done.update((a.name, b.name))
            clock += STEP_S
        for entry in self.matchmaker.entries():
            self.matchmaker.leave(entry.name)


def simulate(
    system: str = "elo",
    players: int = 200,
    rounds: int = 150,
    seed: int = 7,
    cheaters: float = 0.0,
    rules: str = "protected",
    rounds_per_day: int = 10,
    cheat: bool = True,
) -> dict:
    """One seeded run. ``cheaters`` is the share of the ``players`` that cheat, split evenly among ``KINDS``
    (the same seed gives the same skills, and the same cheaters whatever the rules). With ``cheat=False`` the
    same accounts are chosen but play honestly: the figures of the same population without cheaters, over the
    same "honest" players (and the gains of the would-be cheaters show how far chance alone moves them)."""
    sim = Simulation(system, rules, seed)
    rng = sim.rng
    skills = [rng.gauss(1500, 300) for _ in range(players)]
    n_cheaters = round(players * cheaters)
    chosen = random.Random(f"{seed}/cheaters").sample(range(players), n_cheaters)
    kind_of = {i: KINDS[j % len(KINDS)] for j, i in enumerate(chosen)}
    for i, skill in enumerate(skills):
        sim.add(f"p{i}", skill, kind_of.get(i, "honest") if cheat else "honest")
    names = [f"p{i}" for i in range(players)]
    farmers = [sim.accounts[n] for n in names if sim.accounts[n].kind == "farmer"]
    for r in range(rounds):
        day, slot = divmod(r, rounds_per_day)
        if slot == 0:
            for farmer in farmers:
                farmer.throwaways = [sim.add(f"{farmer.name}.d{day}t{t}", 0.0, "throwaway").name
                                     for t in range(THROWAWAYS)]
        pool_of = {name: rng.choice(["any", "easy", "medium", "hard"]) for name in names}
        sim.round(day * SECONDS_PER_DAY + slot * ROUND_S, pool_of)

    accounts = [sim.accounts[n] for n in names]
    final = [acc.rating.rating for acc in accounts]
    skill = [acc.skill for acc in accounts]
    honest = [i for i in range(players) if i not in kind_of]
    gained = [r - s for r, s in zip(percentiles(final), percentiles(skill))]
    by_kind = {kind: [i for i in range(players) if kind_of.get(i) == kind] for kind in KINDS}
    return {
        "system": system,
        "rules": rules,
        "cheat": cheat,
        "players": players,
        "rounds": rounds,
        "days": -(-rounds // rounds_per_day),
        "cheaters": {kind: len(idx) for kind, idx in by_kind.items()},
        "games": len(sim.gaps),
        "spearman": spearman(final, skill),
        "honest_spearman": spearman([final[i] for i in honest], [skill[i] for i in honest]),
        # mean |rating percentile - skill percentile| of the honest players among all players: their place on
        # the leaderboard, which cheaters above them push down
        "honest_percentile_error": statistics.fmean(abs(gained[i]) for i in honest),
        # mean (rating percentile - skill percentile) of each kind of cheater, among all players; None: no such
        "percentile_gain": {
            kind: statistics.fmean(gained[i] for i in idx) if idx else None for kind, idx in by_kind.items()
        },
        "mean_gap": statistics.fmean(sim.gaps),
        "mean_gap_last_third": statistics.fmean(sim.gaps[-len(sim.gaps) // 3 :]),
        **sim.counts,
    }


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


SETTINGS = {"none": "no cheaters", "protected": "protected", "unprotected": "unprotected"}


def run_all(players: int, rounds: int, seed: int, cheaters: float, rounds_per_day: int = 10) -> dict:
    """Per rating system: the population with its cheaters playing honestly ("none"), and cheating under each
    rule set."""
    runs = {}
    for system in RATING_SYSTEMS:
        common = dict(players=players, rounds=rounds, seed=seed, cheaters=cheaters, rounds_per_day=rounds_per_day)
        runs[system, "none"] = simulate(system, cheat=False, **common)
        for rules in RULES:
            runs[system, rules] = simulate(system, rules=rules, **common)
    return runs


def report(runs: dict, players: int, rounds: int, seed: int, cheaters: float) -> str:
    """The tables ``main`` prints, from ``run_all``'s runs."""
    systems = list(dict.fromkeys(system for system, _ in runs))
    first = runs[systems[0], "protected"]
    kinds = ", ".join(f"{n} {kind}s" for kind, n in first["cheaters"].items())
    honest = players - sum(first["cheaters"].values())
    heads = "".join(f"{SETTINGS[k]:>12}" for k in SETTINGS)
    lines = [
        f"{players} players, {rounds} rounds over {first['days']} days, seed {seed}",
        f"cheaters {cheaters:.0%}: {kinds} ({THROWAWAYS} new throwaways a day each, "
        f"{FARM_GAMES} farm battles a round)",
        "no cheaters: the same players, all honest; protected: the service's rules (ranked mirror: "
        f"{service_mirror('any')});",
        "unprotected: the rules before them (forfeits rated, dodges aborted, no cooldown, no pair limit, live mirror)",
        "",
        f"Honest players ({honest}): how their final ratings order them by skill (Spearman), and how far their",
        "places among all players are off (mean |rating percentile - skill percentile|, points of 100)",
        f"{'':9}{'Spearman with skill':>36} |{'place off by':>36}",
        f"{'system':9}{heads} |{heads}",
    ]
    for system in systems:
        lines.append(
            f"{system:9}" + "".join(f"{runs[system, k]['honest_spearman']:12.3f}" for k in SETTINGS) + " |"
            + "".join(f"{runs[system, k]['honest_percentile_error']:12.1f}" for k in SETTINGS)
        )
    lines += [
        "",
        "Cheaters: mean rating percentile minus skill percentile among all players (no cheaters: the same accounts, "
        "honest)",
        f"{'system':9}{'rules':13}" + "".join(f"{kind + 's':>10}" for kind in KINDS),
    ]
    for system in systems:
        for k in SETTINGS:
            gain = runs[system, k]["percentile_gain"]
            lines.append(f"{system:9}{SETTINGS[k]:13}" + "".join(f"{_signed(gain[kind]):>10}" for kind in KINDS))
    lines += [
        "",
        "Battles: paired by the matchmaker; rated (farm battles included); a main against its own throwaway; left",
        "unrated as an early exit / by the pair limit; aborted (a dodge under the rules before); join attempts",
        "refused by the early-exit cooldown",
        f"{'system':9}{'rules':13}{'paired':>8}{'rated':>8}{'farm':>7}{'early exit':>12}{'pair limit':>12}"
        f"{'aborted':>9}{'cooldown':>10}",
    ]
    for system in systems:
        for k in SETTINGS:
            r = runs[system, k]
            lines.append(
                f"{system:9}{SETTINGS[k]:13}{r['games']:8}{r['rated']:8}{r['farm_battles']:7}"
                f"{r['early_exit_unrated']:12}{r['pair_limit_unrated']:12}{r['aborted']:9}"
                f"{r['cooldown_refusals']:10}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cheaters", type=float, default=0.15, help="share of the players that cheat (0-1)")
    parser.add_argument("--rounds-per-day", type=int, default=10)
    args = parser.parse_args()
    runs = run_all(args.players, args.rounds, args.seed, args.cheaters, args.rounds_per_day)
    print(report(runs, args.players, args.rounds, args.seed, args.cheaters))


if __name__ == "__main__":
    main()
