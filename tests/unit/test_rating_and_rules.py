"""Elo arithmetic, the battle rules and the lobby, on plain objects."""

from __future__ import annotations

import pytest

from jupyter_duel_server.battles import BattleState, Seat, SyncRefused
from jupyter_duel_server.matchmaker import Matchmaker, QueueEntry
from jupyter_duel_server.protocol import SyncCode, apply_delta, Retain, Insert, Delete
from jupyter_duel_server.rating import EloRating, Glicko2Rating, PlayerRating
from jupyter_duel_server.store import Profile


def test_elo_published_example():
    # The classic worked example of the Elo system: a 1613 player meets 1609, 1477, 1388, 1586 and 1720,
    # scores 2.5 against an expected ~2.867, and with K = 32 ends at 1601.
    elo = EloRating(k_factor=32, provisional_games=0)
    opponents = [1609, 1477, 1388, 1586, 1720]
    expected = sum(elo.expected(1613, r) for r in opponents)
    assert expected == pytest.approx(2.867, abs=0.015)
    assert round(1613 + 32 * (2.5 - expected)) == 1601
    a, b = elo.update(PlayerRating(1500, games=20), PlayerRating(1500, games=20), 1.0, now=0)
    assert (a.rating, b.rating) == (1516.0, 1484.0) and a.games == 21


def test_elo_k_is_configurable_and_provisional():
    elo = EloRating(k_factor=10, provisional_k_factor=40, provisional_games=3)
    new, veteran = PlayerRating(1200, games=0), PlayerRating(1200, games=50)
    a, b = elo.update(new, veteran, 0.0, now=0)
    assert a.rating == 1180.0 and b.rating == 1205.0  # the newcomer moves with K=40, the veteran with K=10
    assert elo.provisional(new, 0) and not elo.provisional(veteran, 0)
    with pytest.raises(ValueError):
        elo.update(new, veteran, 2, now=0)


def test_glicko2_published_example():
    # Glickman's worked example: 1500/200/0.06 beats 1400/30, loses to 1550/100 and 1700/300 with tau 0.5.
    g = Glicko2Rating(tau=0.5)
    r = g.rate(PlayerRating(1500, 200, 0.06), [(1400, 30, 1), (1550, 100, 0), (1700, 300, 0)])
    assert r.rating == pytest.approx(1464.06, abs=0.01)
    assert r.rd == pytest.approx(151.52, abs=0.01)
    assert r.volatility == pytest.approx(0.05999, abs=1e-5)


def test_glicko2_one_game_is_one_period_without_the_deviation_increase():
    # Worked by hand from Glickman's steps, for 1500/200/0.06 beating 1400/30/0.06, both rated just now (no
    # time away, so no aging): mu = 0, phi = 200/173.7178 = 1.15129; mu_j = -0.57565, phi_j = 0.17269;
    # g(phi_j) = 1/sqrt(1 + 3 phi_j^2 / pi^2) = 0.99550; E = 1/(1 + exp(-g (mu - mu_j))) = 0.63947;
    # v = 1/(g^2 E (1 - E)) = 4.37680; phi' = 1/sqrt(1/phi^2 + 1/v) = 1.00865  (phi* = phi: no increase)
    # -> RD' = 173.7178 phi' = 175.22; mu' = phi'^2 g (1 - E) = 0.36514 -> r' = 1500 + 173.7178 mu' = 1563.43.
    # With the increase (phi* = sqrt(phi^2 + sigma'^2), sigma' = 0.059999) it would be 1563.56 / 175.40.
    # The loser, 1400/30 against 1500/200: g = 0.84428, E = 0.38083, v = 5.94953 -> 1398.34 / 29.93.
    g = Glicko2Rating(tau=0.5)
    now = 1_000_000.0
    a, b = g.update(PlayerRating(1500, 200, 0.06, last_rated_at=now), PlayerRating(1400, 30, 0.06, last_rated_at=now),
                    1.0, now=now)
    assert (a.rating, a.rd) == (pytest.approx(1563.43, abs=0.01), pytest.approx(175.22, abs=0.01))
    assert a.volatility == pytest.approx(0.059999, abs=1e-6)
    assert (b.rating, b.rd) == (pytest.approx(1398.34, abs=0.01), pytest.approx(29.93, abs=0.01))
    # The multi-game period of the published algorithm keeps its increase (the worked example above).
    with_increase = g.rate(PlayerRating(1500, 200, 0.06), [(1400, 30, 1)])
    assert (with_increase.rating, with_increase.rd) == (pytest.approx(1563.56, abs=0.01), pytest.approx(175.40, abs=0.01))


def test_glicko2_deviation_only_shrinks_for_a_player_who_keeps_playing():
    # Games in a row with no time away: each one is information, so the deviation must go down every time (with
    # the increase applied per game, a frequent player's deviation would be held up by sigma' once per game).
    g = Glicko2Rating()
    player, rival = PlayerRating(1500, 80, 0.06, last_rated_at=0.0), PlayerRating(1500, 80, 0.06, last_rated_at=0.0)
    previous = player.rd
    for game in range(60):
        player, rival = g.update(player, rival, float(game % 2), now=0.0)
        assert player.rd < previous
        previous = player.rd
    # With the increase applied per game the deviation stalls near 61 after ~40 games (and stops shrinking).
    assert player.rd < 45


def test_glicko2_deviation_grows_with_inactivity_and_provisional_flag():
    g = Glicko2Rating(period_days=7, provisional_rd=110)
    settled = PlayerRating(1600, 60, 0.06, games=40, last_rated_at=0)
    week = 7 * 86400
    assert g.effective_rd(settled, 0) == pytest.approx(60)
    assert g.effective_rd(settled, 10 * week) > g.effective_rd(settled, week) > 60
    assert g.effective_rd(settled, 10_000 * week) == pytest.approx(350)
    assert not g.provisional(settled, week) and g.provisional(settled, 1000 * week)
    a, b = g.update(settled, g.initial(), 1.0, now=week)
    assert a.rating > 1600 and b.rating < 1500 and b.rd < 350 and a.last_rated_at == week


def seats(a="a", b="b"):
    return (Seat(Profile(1, a, False, 1200, 0, 0, 0, 0)), Seat(Profile(2, b, False, 1200, 0, 0, 0, 0)))


def battle():
    return BattleState(id="x", challenge=None, seats=seats(), ranked=True, time_limit_s=60)


def test_first_full_pass_wins_and_only_once():
    b = battle()
    assert b.on_submission("a", 3, 5) is None
    outcome = b.on_submission("b", 5, 5)
    assert outcome.winner == "b" and outcome.reason == "solved"
    assert b.on_submission("a", 5, 5) is None and b.outcome.winner == "b"
    assert b.score_of_first() == 0.0


@pytest.mark.parametrize("passed_a,passed_b,winner", [(3, 1, "a"), (1, 4, "b"), (2, 2, None)])
def test_time_limit_most_tests_passed(passed_a, passed_b, winner):
    b = battle()
    b.on_submission("a", passed_a, 5)
    b.on_submission("b", passed_b, 5)
    assert b.on_time_limit().winner == winner
    assert b.score_of_first() == {"a": 1.0, "b": 0.0, None: 0.5}[winner]


def test_forfeit_loses_and_counts_only_once_somebody_submitted():
    b = battle()
    outcome = b.on_forfeit("a")
    assert outcome.winner == "b" and outcome.rated is False  # nobody submitted: unrated
    b = battle()
    b.on_submission("a", 1, 5)
    outcome = b.on_forfeit("a")
    assert outcome.winner == "b" and outcome.rated is True


def test_gone_past_the_grace_loses_even_before_any_submission():
    b = battle()
    b.seat("a").connected = False
    outcome = b.on_grace_expired("a")
    assert (outcome.winner, outcome.reason, outcome.rated) == ("b", "disconnect", False)
    b = battle()
    b.on_submission("b", 2, 5)
    b.seat("a").connected = False
    assert b.on_grace_expired("a").rated is True
    b = battle()
    for seat in b.seats:
        seat.connected = False
    assert b.on_grace_expired("a").reason == "aborted"


def test_sync_rules():
    seat = seats()[0]
    seat.apply_sync(SyncCode(battle_id="x", seq=1, text="hello"), 100)
    seat.apply_sync(SyncCode(battle_id="x", seq=2, delta=[Retain(retain=5), Insert(insert="!")]), 100)
    assert seat.code == "hello!"
    for bad in (
        SyncCode(battle_id="x", seq=4, delta=[Insert(insert="a")]),
        SyncCode(battle_id="x", seq=3, delta=[Retain(retain=50)]),
        SyncCode(battle_id="x", seq=2, text="old"),
    ):
        with pytest.raises(SyncRefused):
            seat.apply_sync(bad, 100)
    with pytest.raises(SyncRefused) as err:
        seat.apply_sync(SyncCode(battle_id="x", seq=9, text="y" * 101), 100)
    assert err.value.code == "code_too_large"
    assert seat.code == "hello!" and seat.seq == 2


def test_apply_delta():
    assert apply_delta("abcdef", [Retain(retain=1), Delete(delete=2), Insert(insert="XY")]) == "aXYdef"
    with pytest.raises(ValueError):
        apply_delta("ab", [Delete(delete=3)])


def entry(name, rating=1200, pool="any", ranked=True, waited=0.0):
    return QueueEntry(name, pool, ranked, rating, joined_at=-waited)


def names(pairings):
    return sorted(tuple(sorted((p.first.name, p.second.name))) for p in pairings)


def test_matchmaker_pools_ranked_and_self():
    mm = Matchmaker()
    for e in (entry("a", pool="easy"), entry("b", pool="hard"), entry("c", pool="medium", ranked=False)):
        mm.join(e)
    assert mm.pair_round(now=0) == []  # nobody compatible: pools differ, casual never meets ranked
    assert mm.position("b") == 1 and mm.sizes()["easy"] == 1
    mm.join(entry("d", pool="any"))
    [pairing] = mm.pair_round(now=0)
    assert {pairing.first.name, pairing.second.name} == {"a", "d"} or {pairing.first.name, pairing.second.name} == {"b", "d"}
    assert pairing.difficulty in ("easy", "hard")
    with pytest.raises(ValueError):
        mm.join(entry("c"))
    assert mm.leave("c").name == "c" and "c" not in mm


def test_window_widens_with_waiting():
    mm = Matchmaker(window_start=100, window_step=50, window_interval_s=5, window_cap=300)
    mm.join(entry("low", 1000))
    mm.join(entry("high", 1250))
    assert mm.pair_round(now=0) == []  # 250 apart, windows 100
    assert mm.window(mm.entry("low"), now=14.9) == 200
    assert mm.pair_round(now=14.9) == []
    assert mm.window(mm.entry("low"), now=100) == 300  # capped
    assert names(mm.pair_round(now=15.0)) == [("high", "low")]


def test_pairs_minimise_total_gap_over_the_queue():
    mm = Matchmaker(window_start=1000)
    # Greedy first-come pairing would give (a,b) 500 and (c,d) 500; the best pairing is (a,c) and (b,d).
    for e in (entry("a", 1000), entry("b", 1500), entry("c", 1010), entry("d", 1490)):
        mm.join(e)
    pairs = mm.pair_round(now=0)
    assert names(pairs) == [("a", "c"), ("b", "d")]
    assert sum(p.gap for p in pairs) == 20


def test_no_immediate_rematch_but_a_later_one():
    mm = Matchmaker(window_start=1000)
    mm.join(entry("a"))
    mm.join(entry("b"))
    assert names(mm.pair_round(now=0)) == [("a", "b")]
    mm.join(entry("a"))
    mm.join(entry("b"))
    assert mm.pair_round(now=0) == []
    mm.join(entry("c"))
    assert len(mm.pair_round(now=0)) == 1  # c takes one of them
    mm.record_battle("a", "c")
    mm.record_battle("b", "c")
    survivor = mm.entries()[0].name
    mm.join(entry("b" if survivor == "a" else "a"))
    assert len(mm.pair_round(now=0)) == 1  # they played others since


def test_incompatible_neighbour_is_skipped():
    mm = Matchmaker(window_start=1000)
    mm.join(entry("a", 1000, pool="easy"))
    mm.join(entry("x", 1001, pool="hard"))
    mm.join(entry("b", 1002, pool="easy"))
    assert names(mm.pair_round(now=0)) == [("a", "b")]
