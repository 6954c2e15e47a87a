"""Elo arithmetic, the battle rules and the lobby, on plain objects."""

from __future__ import annotations

import pytest

from jupyter_duel_server.battles import BattleState, Seat, SyncRefused
from jupyter_duel_server.matchmaker import Matchmaker, QueueEntry
from jupyter_duel_server.protocol import SyncCode, apply_delta, Retain, Insert, Delete
from jupyter_duel_server.rating import EloRating
from jupyter_duel_server.store import Profile


def test_elo_published_example():
    # Elo's textbook case: 1613 expected against 1609 has E ~= 0.506; a draw with K=32 moves it by ~ -0.2,
    # and equal players trade K/2 on a decisive result.
    elo = EloRating(k_factor=32)
    assert elo.expected(1613, 1609) == pytest.approx(0.5058, abs=1e-4)
    assert elo.update(1500, 1500, 1.0) == (1516.0, 1484.0)
    a, b = elo.update(1613, 1609, 0.5)
    assert a == pytest.approx(1612.81, abs=0.01) and a + b == pytest.approx(3222)


def test_elo_k_is_configurable_and_scores_checked():
    assert EloRating(k_factor=10).update(1200, 1200, 0.0) == (1195.0, 1205.0)
    with pytest.raises(ValueError):
        EloRating().update(1200, 1200, 2)


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


def test_forfeit_loses():
    b = battle()
    assert b.on_forfeit("a").winner == "b"


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


def test_matchmaker_fifo_pools_and_self():
    mm = Matchmaker()
    assert mm.join(QueueEntry("a", "easy", True, 1200)) is None
    assert mm.join(QueueEntry("b", "hard", True, 1200)) is None
    assert mm.join(QueueEntry("c", "medium", False, 1200)) is None  # casual never meets ranked
    assert mm.position("b") == 1 and mm.sizes()["easy"] == 1
    pairing = mm.join(QueueEntry("d", "any", True, 1200))
    assert (pairing.first.name, pairing.second.name, pairing.difficulty) == ("a", "d", "easy")
    with pytest.raises(ValueError):
        mm.join(QueueEntry("b", "hard", True, 1200))
    assert mm.leave("b").name == "b" and "b" not in mm
