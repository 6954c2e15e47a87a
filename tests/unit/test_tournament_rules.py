"""The tournament formats' rules (``jupyter_duel_server.tournaments``) against hand-worked examples, the written
rules of ``docs/tournaments.md`` and seeded simulations."""

from __future__ import annotations

import itertools
import random
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest

from jupyter_duel_server.tournaments import (
    ArenaGame, Entrant, FreePlayer, Game, RulesError, arena_standings, may_meet, pair_arena, pair_swiss_round,
    round_robin_schedule, round_robin_standings, round_robin_withdrawal, score_sequence, swiss_scores,
    swiss_standings,
)
from jupyter_duel_server.tournaments import arena, swiss
from jupyter_duel_server.tournaments.matching import maximum_matching, pair_in_preference_order
from jupyter_duel_server.tournaments.simulation import simulate_arena, simulate_swiss
from jupyter_duel_server.tournaments.standings import DRAW, LOSS, WIN

DOC = Path(__file__).resolve().parents[2] / "docs" / "tournaments.md"


def entrants(names: str, top: int = 2000, step: int = 100) -> list[Entrant]:
    """One entrant per letter, rated from ``top`` down by ``step``: the letters are also the seeding order."""
    return [Entrant(name, top - i * step) for i, name in enumerate(names)]


# ---------------------------------------------------------------------------------------------------- matching


def _brute_force_matching_size(nodes: list[int], edges: set[frozenset[int]]) -> int:
    best = 0
    for size in range(len(nodes) // 2, 0, -1):
        for chosen in itertools.combinations(sorted(edges, key=sorted), size):
            if len({node for edge in chosen for node in edge}) == 2 * size:
                return size
    return best


def test_maximum_matching_equals_brute_force_on_random_graphs():
    rng = random.Random(3)
    for _ in range(150):
        count = rng.randint(2, 9)
        nodes = list(range(count))
        edges = {frozenset(pair) for pair in itertools.combinations(nodes, 2) if rng.random() < 0.35}
        matching = maximum_matching(nodes, lambda a, b: frozenset((a, b)) in edges)
        assert all(matching[matching[a]] == a and frozenset((a, matching[a])) in edges for a in matching)
        assert len(matching) // 2 == _brute_force_matching_size(nodes, edges)


def test_maximum_matching_through_a_blossom():
    # A triangle 0-1-2 with tails 0-3 and 2-4, 1-5: a greedy choice of 0-1 or 1-2 strands two tails; the only
    # perfect matching is 0-3, 2-4, 1-5, reached through the odd cycle.
    edges = {frozenset(e) for e in [(0, 1), (1, 2), (0, 2), (0, 3), (2, 4), (1, 5)]}
    matching = maximum_matching(list(range(6)), lambda a, b: frozenset((a, b)) in edges, start={0: 1, 1: 0})
    assert matching == {0: 3, 3: 0, 2: 4, 4: 2, 1: 5, 5: 1}


def test_preference_pairing_backs_off_a_first_choice_that_strands_someone():
    # 0 prefers 1, but 2 can only meet 1: the search gives 0 its second choice.
    edges = {frozenset(e) for e in [(0, 1), (0, 3), (1, 2), (1, 3)]}
    pairs = pair_in_preference_order([0, 1, 2, 3], lambda a, b: frozenset((a, b)) in edges,
                                     lambda node, others: sorted(others))
    assert pairs == [(0, 3), (1, 2)]
    assert pair_in_preference_order([0, 1, 2], lambda a, b: True, lambda n, o: o) is None


# ------------------------------------------------------------------------------------------------- round robin


def test_round_robin_four_players_by_hand():
    # Circle method: A keeps its seat, B C D turn. Round 1 A-D B-C; round 2 A-C D-B; round 3 A-B C-D.
    assert round_robin_schedule("ABCD") == [
        [("A", "D"), ("B", "C")], [("A", "C"), ("D", "B")], [("A", "B"), ("C", "D")],
    ]


@pytest.mark.parametrize("count", range(2, 13))
def test_round_robin_every_pair_exactly_once(count):
    names = [f"p{i}" for i in range(count)]
    schedule = round_robin_schedule(names)
    assert len(schedule) == (count - 1 if count % 2 == 0 else count)
    pairs = Counter(frozenset(pair) for rnd in schedule for pair in rnd if None not in pair)
    assert set(pairs) == {frozenset(p) for p in itertools.combinations(names, 2)}
    assert set(pairs.values()) == {1}
    for rnd in schedule:  # nobody twice in a round, everybody once
        seated = [name for pair in rnd for name in pair if name is not None]
        assert sorted(seated) == sorted(names)
    byes = Counter(a for rnd in schedule for a, b in rnd if b is None)
    assert byes == (Counter() if count % 2 == 0 else Counter({name: 1 for name in names}))


def test_round_robin_refuses_bad_lists():
    with pytest.raises(RulesError) as refused:
        round_robin_schedule(["a", "a", "b"])
    assert refused.value.code == "duplicate_player"
    with pytest.raises(RulesError) as refused:
        round_robin_schedule(["a"])
    assert refused.value.code == "too_few_players"


def test_round_robin_standings_by_hand():
    # R1 A beats D, B draws C; R2 A draws C, D beats B; R3 B beats A, C beats D.
    # Scores: C 2, A 1.5, B 1.5, D 1.
    # Sonneborn-Berger: A = 1·D(1) + ½·C(2) + 0 = 2;  B = ½·C(2) + 0 + 1·A(1.5) = 2.5;
    #                   C = ½·B(1.5) + ½·A(1.5) + 1·D(1) = 2.5;  D = 1·B(1.5) = 1.5.  B is above A.
    games = [
        Game.result(1, "A", "D", WIN), Game.result(1, "B", "C", DRAW),
        Game.result(2, "A", "C", DRAW), Game.result(2, "D", "B", WIN),
        Game.result(3, "A", "B", LOSS), Game.result(3, "C", "D", WIN),
    ]
    table = round_robin_standings(entrants("ABCD"), games)
    assert [(row.rank, row.player, row.score, row.tiebreaks["sonneborn_berger"]) for row in table] == [
        (1, "C", 2.0, 2.5), (2, "B", 1.5, 2.5), (3, "A", 1.5, 2.0), (4, "D", 1.0, 1.5),
    ]
    assert (table[0].wins, table[0].draws, table[0].losses, table[0].games) == (1, 2, 0, 3)


def test_round_robin_withdrawal_forfeits_the_remaining_games():
    # D plays round 1 (loses to A) and withdraws: round 2 D-B and round 3 C-D become forfeit wins for B and C.
    schedule = round_robin_schedule("ABCD")
    games = [Game.result(1, "A", "D", WIN), Game.result(1, "B", "C", DRAW)]
    forfeits = round_robin_withdrawal(schedule, games, "D")
    assert forfeits == [Game.forfeit(2, "B", "D"), Game.forfeit(3, "C", "D")]
    assert not any(game.played for game in forfeits)
    players = [*entrants("ABC"), Entrant("D", 1700, withdrawn_from_round=2)]
    table = {row.player: row for row in round_robin_standings(players, games + forfeits)}
    assert (table["D"].score, table["D"].losses, table["D"].withdrawn) == (0.0, 3, True)
    assert table["B"].score == 1.5 and table["C"].score == 1.5


def test_round_robin_five_players_one_bye_each():
    # Seats A B C D E and an empty one; the empty seat turns with the others, so the bye goes A, D, B, E, C:
    # [A B C D E -] pairs A with the empty seat, [A - B C D E] pairs it with D, [A E - B C D] with B, ...
    schedule = round_robin_schedule("ABCDE")
    assert len(schedule) == 5 and all(len(rnd) == 3 for rnd in schedule)
    assert [next(a for a, b in rnd if b is None) for rnd in schedule] == ["A", "D", "B", "E", "C"]


# ------------------------------------------------------------------------------------------------------- Swiss


def test_swiss_first_round_top_half_meets_bottom_half():
    assert pair_swiss_round(entrants("ABCDEFGH"), [], 1).pairs == [
        ("A", "E"), ("B", "F"), ("C", "G"), ("D", "H"),
    ]


def test_swiss_six_players_floats_and_no_rematch():
    # Round 1 (all on 0): A-D, B-E, C-F. Results: A beats D, E beats B, C draws F.
    # Round 2 groups: {A, E} on 1, {C, F} on ½, {B, D} on 0. A meets E; C and F have met, so C floats down to
    # the top of the 0 group (B) and F meets D.
    players = entrants("ABCDEF")
    assert pair_swiss_round(players, [], 1).pairs == [("A", "D"), ("B", "E"), ("C", "F")]
    games = [Game.result(1, "A", "D", WIN), Game.result(1, "B", "E", LOSS), Game.result(1, "C", "F", DRAW)]
    second = pair_swiss_round(players, games, 2)
    assert second.pairs == [("A", "E"), ("C", "B"), ("F", "D")]
    assert second.bye is None and not second.rematches


def test_swiss_five_players_bye_and_backtracking_by_hand():
    players = entrants("ABCDE")
    first = pair_swiss_round(players, [], 1)
    # Odd: the lowest-ranked (E) sits out with the bye; A B C D pair top half against bottom half.
    assert (first.pairs, first.bye) == ([("A", "C"), ("B", "D")], "E")
    games = [Game.result(1, "A", "C", WIN), Game.result(1, "B", "D", DRAW), Game.bye(1, "E", swiss.BYE_POINTS)]
    # Scores A 1, E 1, B ½, D ½, C 0. The bye goes to C, the lowest without one. A's first choice, E, would
    # leave B and D, who have met: the search keeps A-B and E-D instead.
    second = pair_swiss_round(players, games, 2)
    assert (second.pairs, second.bye, second.rematches) == ([("A", "B"), ("E", "D")], "C", False)


def test_swiss_seven_players_two_rounds_by_hand():
    players = entrants("ABCDEFG")
    first = pair_swiss_round(players, [], 1)
    # G, the lowest, has the bye; A..F: top half A B C against bottom half D E F.
    assert (first.pairs, first.bye) == ([("A", "D"), ("B", "E"), ("C", "F")], "G")
    games = [
        Game.result(1, "A", "D", WIN), Game.result(1, "B", "E", WIN), Game.result(1, "C", "F", LOSS),
        Game.bye(1, "G", WIN),
    ]
    # On 1: A B F G (ratings 2000 1900 1500 1400); on 0: C D E. The bye goes to E (G has had one); the 1 group
    # pairs A-F and B-G, the 0 group C-D.
    second = pair_swiss_round(players, games, 2)
    assert (second.pairs, second.bye) == ([("A", "F"), ("B", "G"), ("C", "D")], "E")


def test_swiss_tiebreaks_by_hand_with_byes():
    # Round 1: A beats C, B draws D, E bye. Round 2: A beats B, E draws D, C bye.
    # Scores: A 2, E 1.5, C 1, D 1, B 0.5.
    # Adjusted scores (unplayed rounds count ½): A 2, B ½, C 0+½ = ½, D 1, E ½+½ = 1.
    # Buchholz (a player's own unplayed round counts their own adjusted score):
    #   A = C ½ + B ½ = 1;  B = D 1 + A 2 = 3;  C = A 2 + own ½ = 2.5;  D = B ½ + E 1 = 1.5;  E = D 1 + own 1 = 2.
    # Sonneborn-Berger (points × adjusted score; an unplayed round: its points × own adjusted score):
    #   A = 1·½ + 1·½ = 1;  B = ½·1 + 0 = ½;  C = 0·2 + 1·½ = ½;  D = ½·½ + ½·1 = ¾;
    #   E = ½·1 + 1·1 = 1.5.
    # C and D tie on 1: C's Buchholz is higher.
    games = [
        Game.result(1, "A", "C", WIN), Game.result(1, "B", "D", DRAW), Game.bye(1, "E", WIN),
        Game.result(2, "A", "B", WIN), Game.result(2, "E", "D", DRAW), Game.bye(2, "C", WIN),
    ]
    table = swiss_standings(entrants("ABCDE"), games)
    assert [(r.player, r.score, r.tiebreaks["buchholz"], r.tiebreaks["sonneborn_berger"]) for r in table] == [
        ("A", 2.0, 1.0, 1.0), ("E", 1.5, 2.0, 1.5), ("C", 1.0, 2.5, 0.5), ("D", 1.0, 1.5, 0.75),
        ("B", 0.5, 3.0, 0.5),
    ]
    assert (table[1].games, table[1].draws) == (1, 1)  # a bye is not a game


def test_swiss_sonneborn_berger_rating_and_name_break_ties():
    # Four players, one round: A beats B, C beats D, all rated alike except D.
    # Second round A draws C, B draws D. Scores A 1.5, C 1.5, B ½, D ½.
    # Buchholz: A = B ½ + C 1.5 = 2 = C = D ½ + A 1.5; B = A 1.5 + D ½ = 2 = D = C 1.5 + B ½.
    # Sonneborn-Berger: A = 1·½ + ½·1.5 = 1.25 = C = 1·½ + ½·1.5. B = 0 + ½·½ = ¼ = D.
    # A and C tie on everything but the name; B (1500) is above D (1400) on rating.
    players = [Entrant("C", 1500), Entrant("A", 1500), Entrant("B", 1500), Entrant("D", 1400)]
    games = [
        Game.result(1, "A", "B", WIN), Game.result(1, "C", "D", WIN),
        Game.result(2, "A", "C", DRAW), Game.result(2, "B", "D", DRAW),
    ]
    table = swiss_standings(players, games)
    assert [r.player for r in table] == ["A", "C", "B", "D"]
    assert {r.player: r.tiebreaks["sonneborn_berger"] for r in table} == {"A": 1.25, "C": 1.25, "B": 0.25, "D": 0.25}


def test_swiss_withdrawn_opponent_counts_half_per_missed_round():
    # W loses to A in round 1 then withdraws. After 3 rounds W's adjusted score is 0 + ½ + ½ = 1 (its own score
    # stays 0), so A's Buchholz counts W as 1, not 0.
    players = [*entrants("ABC"), Entrant("W", 1000, withdrawn_from_round=2)]
    games = [
        Game.result(1, "A", "W", WIN), Game.result(1, "B", "C", WIN),
        Game.result(2, "A", "B", WIN), Game.bye(2, "C", WIN),
        Game.result(3, "A", "C", WIN), Game.bye(3, "B", WIN),
    ]
    assert pair_swiss_round(players, games[:2], 2).bye is not None  # W is no longer paired: 3 players
    assert "W" not in {name for pair in pair_swiss_round(players, games[:2], 2).pairs for name in pair}
    table = {r.player: r for r in swiss_standings(players, games)}
    # A's opponents: W (adjusted 1), B (1 + 0 + ½ = 1.5: the round-3 bye counts ½), C (0 + ½ + 0 = ½).
    assert table["A"].tiebreaks["buchholz"] == 3.0
    assert table["W"].score == 0.0 and table["W"].withdrawn


def test_swiss_late_joiner_gets_half_a_point_per_missed_round():
    players = [*entrants("ABCD"), Entrant("L", 1600, joined_round=3)]
    games = [
        Game.result(1, "A", "C", WIN), Game.result(1, "B", "D", WIN),
        Game.result(2, "A", "B", DRAW), Game.result(2, "C", "D", DRAW),
    ]
    assert "L" not in str(pair_swiss_round(players, games[:2], 2))
    assert swiss_scores(players, games)["L"] == 2 * swiss.MISSED_ROUND_POINTS == 1.0
    third = pair_swiss_round(players, games, 3)
    # Scores A 1.5, B 1.5, L 1 (two rounds missed), C ½, D ½. Odd: the bye to the lowest without one, D. A and
    # B, the 1.5 group, have met: A floats down to the top of the next group, L, and B meets C.
    assert (third.pairs, third.bye) == ([("A", "L"), ("B", "C")], "D")


def test_swiss_no_show_is_a_forfeit_that_does_not_count_as_meeting():
    games = [Game.forfeit(1, "A", "B")]
    assert swiss_scores(entrants("AB"), games) == {"A": 1.0, "B": 0.0}
    second = pair_swiss_round(entrants("AB"), games, 2)
    assert second.pairs == [("A", "B")] and not second.rematches
    table = {r.player: r for r in swiss_standings(entrants("AB"), games)}
    assert (table["A"].wins, table["B"].losses) == (1, 1)


def test_swiss_rematch_only_when_unavoidable():
    # Two players, two rounds: the second can only be a rematch, and says so.
    games = [Game.result(1, "A", "B", WIN)]
    assert pair_swiss_round(entrants("AB"), games, 2).rematches


def test_swiss_refuses_bad_input_and_changes_nothing():
    players = entrants("ABCD")
    games = [Game.result(1, "A", "B", WIN)]
    for bad_games, code in [
        ([Game.result(1, "A", "Z", WIN)], "unknown_player"),
        ([Game.result(1, "A", "B", WIN), Game.result(1, "A", "C", WIN)], "duplicate_game"),
    ]:
        with pytest.raises(RulesError) as refused:
            pair_swiss_round(players, bad_games, 2)
        assert refused.value.code == code
    with pytest.raises(RulesError) as refused:
        pair_swiss_round(players, games, 1)
    assert refused.value.code == "bad_round"
    with pytest.raises(RulesError) as refused:
        pair_swiss_round([*players, Entrant("A")], [], 1)
    assert refused.value.code == "duplicate_player"
    with pytest.raises(RulesError) as refused:
        pair_swiss_round([*players, Entrant("L", joined_round=0)], [], 1)
    assert refused.value.code == "bad_player"
    with pytest.raises(RulesError) as refused:
        Game.result(1, "A", "B", 2)
    assert refused.value.code == "bad_result"
    assert games == [Game.result(1, "A", "B", WIN)]


@pytest.mark.parametrize("count", [64, 63])
def test_swiss_simulation_never_repeats_and_gives_at_most_one_bye(count):
    simulation = simulate_swiss(count, 6, seed=count)
    assert simulation.repeat_pairings() == 0
    assert not any(r.rematches for r in simulation.rounds)
    byes = simulation.byes()
    assert max(byes.values(), default=0) <= 1 and sum(byes.values()) == (6 if count % 2 else 0)
    for swiss_round in simulation.rounds:  # everyone plays exactly once per round
        seated = [n for pair in swiss_round.pairs for n in pair] + [swiss_round.bye] * (swiss_round.bye is not None)
        assert sorted(seated) == sorted(e.name for e in simulation.entrants)


@pytest.mark.parametrize("seed", range(5))
def test_swiss_simulation_with_withdrawals_and_late_joiners(seed):
    simulation = simulate_swiss(21, 7, seed=seed, withdraw_each_round=1, join_each_round=1)
    assert simulation.repeat_pairings() == 0
    assert max(simulation.byes().values(), default=0) <= 1
    by_name = {e.name: e for e in simulation.entrants}
    for swiss_round in simulation.rounds:
        seated = [n for pair in swiss_round.pairs for n in pair] + [swiss_round.bye] * (swiss_round.bye is not None)
        assert sorted(seated) == sorted(n for n, e in by_name.items() if e.plays_in(swiss_round.round))


def _repeat_free_round_exists(names: list[str], met: set[frozenset[str]]) -> bool:
    """Brute force: some bye (if odd) and some pairing of the rest with no pair in ``met``."""
    def pairable(rest: list[str]) -> bool:
        if not rest:
            return True
        first, *others = rest
        return any(
            frozenset((first, other)) not in met and pairable([o for o in others if o != other]) for other in others
        )
    if len(names) % 2 == 0:
        return pairable(names)
    return any(pairable([n for n in names if n != bye]) for bye in names)


def test_swiss_finds_a_round_without_rematches_whenever_one_exists():
    # Random histories of played games among 4 to 9 players (as many as 3 to 6 rounds' worth); the pairer says
    # "rematches" exactly when brute force finds no round without one, and otherwise repeats nobody.
    rng = random.Random(5)
    outcomes = Counter()
    for _ in range(300):
        count = rng.randint(4, 9)
        players = [Entrant(f"p{i}", rng.randint(1000, 2000)) for i in range(count)]
        names = [p.name for p in players]
        games = []
        for round_no in range(1, rng.randint(3, 6) + 1):
            order = rng.sample(names, count)
            for a, b in zip(order[::2], order[1::2]):
                games.append(Game.result(round_no, a, b, rng.choice([WIN, DRAW, LOSS])))
        met = {frozenset((g.first, g.second)) for g in games}
        paired = pair_swiss_round(players, games, round_no + 1)
        possible = _repeat_free_round_exists(names, met)
        outcomes[possible] += 1
        assert paired.rematches == (not possible)
        if possible:
            assert not any(frozenset(pair) in met for pair in paired.pairs)
        seated = [n for pair in paired.pairs for n in pair] + [paired.bye] * (paired.bye is not None)
        assert sorted(seated) == sorted(names)
    assert outcomes[True] > 50 and outcomes[False] > 10  # both cases were exercised


# ------------------------------------------------------------------------------------------------------- arena


def test_arena_scoring_and_fire_by_hand():
    # W W W W D W W L W: 2, 2, then on fire 4, 4, a draw on fire 2 (the fire goes out), 2, 2, a loss on fire 0, 2.
    points, streak = score_sequence([WIN, WIN, WIN, WIN, DRAW, WIN, WIN, LOSS, WIN])
    assert points == [2, 2, 4, 4, 2, 2, 2, 0, 2] and streak == 1


def test_arena_standings_by_hand():
    # A beats B, A beats C, A beats B (on fire: 4), C draws B. A 8 points, streak 3; C 1, B 1 in 3 games vs 2.
    games = [
        ArenaGame("A", "B", WIN, 10), ArenaGame("C", "A", LOSS, 20), ArenaGame("B", "A", LOSS, 30),
        ArenaGame("C", "B", DRAW, 40),
    ]
    table = arena_standings(entrants("ABC"), games, withdrawn={"C"})
    assert [(r.player, r.score, r.games, r.streak, r.on_fire) for r in table] == [
        ("A", 8, 3, 3, True), ("C", 1, 2, 0, False), ("B", 1, 3, 0, False),
    ]
    assert table[1].withdrawn and table[1].tiebreaks["points_per_game"] == 0.5


def free(name, score=0, rating=1500, last=None, since=0.0, paused=False):
    return FreePlayer(name, score, rating, last, since, paused)


def test_arena_pairs_by_rank_closeness():
    players = [free("A", 10), free("B", 8), free("C", 6), free("D", 4)]
    assert pair_arena(players, now=5) == [("A", "B"), ("C", "D")]


def test_arena_never_the_previous_opponent_while_others_wait():
    # A and B just finished their game against each other (now == waiting_since): A meets C, B meets D.
    players = [free("A", 10, last="B", since=5), free("B", 8, last="A", since=5), free("C", 6), free("D", 4)]
    assert pair_arena(players, now=5) == [("A", "C"), ("B", "D")]


def test_arena_previous_opponents_alone_meet_again_after_waiting():
    a, b = free("A", 4, last="B", since=10), free("B", 2, last="A", since=10)
    assert pair_arena([a, b], now=10) == []
    assert not may_meet(a, b, 10 + arena.REMATCH_AFTER_S / 2)
    assert pair_arena([a, b], now=10 + arena.REMATCH_AFTER_S) == [("A", "B")]


def test_arena_paused_players_are_not_paired():
    assert pair_arena([free("A"), free("B", paused=True)], now=3) == []
    assert pair_arena([free("A"), free("B", paused=True), free("C")], now=3) == [("A", "C")]


def test_arena_the_longest_waiting_play_first():
    # Three free: one must wait, the one who became free last (C), though A and C are the closest in rank.
    players = [free("A", 6, since=1), free("B", 0, since=2), free("C", 5, since=3)]
    assert pair_arena(players, now=3) == [("A", "B")]


def test_arena_two_left_over_are_both_paired_next_round():
    # Round at t=10: H1 and H2 just played each other and are alone: nobody is paired. At t=11 N arrives. Were
    # H1 and H2 still kept apart, one of them would take N and the other wait a second round; having waited a
    # round they may meet again, and the two who waited longest play first: H1-H2, N (just arrived) waits.
    h1, h2 = free("H1", 4, last="H2", since=10), free("H2", 2, last="H1", since=10)
    assert pair_arena([h1, h2], now=10) == []
    assert pair_arena([h1, h2, free("N", 3, since=10.5)], now=11) == [("H1", "H2")]


def test_arena_closest_in_rank_gives_way_when_it_would_strand_a_pair():
    # Ranking W, X, Y, Z; Y and Z just played each other. W's closest, X, would leave Y and Z together: W meets
    # the next closest, Y, and X meets Z.
    players = [free("W", 10), free("X", 9), free("Y", 8, last="Z", since=1), free("Z", 0, last="Y", since=1)]
    assert pair_arena(players, now=1) == [("W", "Y"), ("X", "Z")]


def test_arena_refuses_duplicate_players():
    with pytest.raises(RulesError) as refused:
        pair_arena([free("A"), free("A")], now=0)
    assert refused.value.code == "duplicate_player"


def test_arena_simulation_pairs_every_free_player_within_two_rounds():
    simulation = simulate_arena(players=200, duration_s=600, seed=11)
    waits = sorted(simulation.waits)
    print(f"\narena 200 bots, 600 s: {len(simulation.games)} games, {simulation.pairing_rounds} pairing rounds, "
          f"wait max {waits[-1]:.2f} s, p99 {waits[int(0.99 * (len(waits) - 1))]:.2f} s, "
          f"median {statistics.median(waits):.2f} s, immediate rematches {simulation.immediate_rematches}")
    assert len(simulation.games) > 500
    # Nobody free is left unpaired at a second pairing round in a row while somebody free could meet them,
    # and no two players left unpaired at any round could have met.
    assert simulation.left_twice == []
    assert simulation.left_pairable == []


@pytest.mark.parametrize("players", [2, 3, 4, 5, 7])
def test_arena_simulation_small_arenas(players):
    simulation = simulate_arena(players=players, duration_s=400, seed=players, game_s=(5, 30), pause_share=0.2)
    assert simulation.left_twice == [] and simulation.left_pairable == []
    assert simulation.games


# --------------------------------------------------------------------------------------------------------- docs


def _doc_table(heading: str) -> list[list[str]]:
    """The first table under ``heading`` in the doc: its rows of cells, the separator row left out."""
    lines = DOC.read_text().split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = itertools.takewhile(lambda line: line.startswith("|"), lines[start:])
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table]
    return [row for row in rows if not set("".join(row)) <= set("-: ")]


def _number(cell: str) -> float | None:
    cell = cell.replace("½", ".5").strip()
    if cell in ("—", "-", ""):
        return None
    return float(cell if not cell.startswith(".") else "0" + cell)


def test_docs_scoring_table_is_the_code():
    header, *rows = _doc_table("## Scoring")
    assert header == ["Result", "Round robin", "Swiss", "Arena", "Arena, on fire"]
    table = {row[0]: [_number(cell) for cell in row[1:]] for row in rows}
    # Round robin and Swiss: a game's points are the record's points.
    assert table["Win"] == [WIN, WIN, arena.game_points(WIN, False), arena.game_points(WIN, True)]
    assert table["Draw"] == [DRAW, DRAW, arena.game_points(DRAW, False), arena.game_points(DRAW, True)]
    assert table["Loss"] == [LOSS, LOSS, arena.game_points(LOSS, False), arena.game_points(LOSS, True)]
    assert table["Bye"][:2] == [0, swiss.BYE_POINTS]
    assert table["Forfeit win (opponent absent)"][:2] == [Game.forfeit(1, "a", "b").points_first] * 2
    assert table["No-show (forfeit loss)"][:2] == [Game.forfeit(1, "a", "b").points_second] * 2
    assert table["Round missed before joining"][1] == swiss.MISSED_ROUND_POINTS
    text = DOC.read_text()
    assert re.search(r"two wins in a row", text) and arena.FIRE_AFTER_WINS == 2
    assert f"{arena.PAIRING_INTERVAL_S:g} s" in text
