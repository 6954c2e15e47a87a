"""The tournament panel's pure parts: which buttons a view enables, the coarse time left and when it changes,
and the HTML it renders from names players chose (escaped: an ipywidgets HTML value is rendered as HTML)."""

from __future__ import annotations

import time

import pytest

from jupyter_duel.tournament_widgets import (
    allowed_commands, describe_time_left, is_ending, next_change_s, pairings_table, standings_table, status_line, time_left_s,
)

HOSTILE = "<img src=x onerror=alert(1)>"


def view(**changes) -> dict:
    base = {
        "id": "t1", "name": "Friday", "format": "swiss", "status": "running", "rated": False, "players": 2,
        "round": 1, "rounds": 3, "starts_at": 100.0, "ends_at": None, "version": 4, "server_time": 200.0,
        "entrants": [{"name": "ada", "display_name": "ada"}, {"name": "guest:x", "display_name": HOSTILE}],
        "standings": [
            {"rank": 1, "name": "ada", "display_name": "ada", "score": 1.5, "games": 2, "wins": 1, "draws": 1,
             "losses": 0, "tiebreaks": {"buchholz": 2.5}, "on_fire": False, "withdrawn": False},
            {"rank": 2, "name": "guest:x", "display_name": HOSTILE, "score": 0.5, "games": 2, "wins": 0,
             "draws": 1, "losses": 1, "tiebreaks": {"buchholz": 3.0}, "on_fire": False, "withdrawn": True},
        ],
        "pairings": [{"round": 1, "first": "ada", "second": "guest:x", "battle_id": "b1", "status": "playing",
                      "points_first": None, "points_second": None, "winner": None, "reason": None,
                      "progress": {"ada": {"passed": 3, "total": 7}, "guest:x": {"passed": 0, "total": 7}}}],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize("changes, allowed", [
    ({"status": "open", "round": 0, "pairings": []}, {"start", "end"}),
    ({}, {"pause", "end"}),
    ({"status": "paused"}, {"resume", "end"}),
    ({"status": "finished"}, set()),
    # The round is over: the next may be paired by hand, unless it was the last.
    ({"pairings": [{"round": 1, "first": "ada", "second": None, "status": "bye"}]}, {"pause", "end", "next_round"}),
    ({"round": 3, "pairings": [{"round": 3, "first": "ada", "second": "b", "status": "finished"}]},
     {"pause", "end"}),
    ({"format": "arena", "pairings": []}, {"pause", "end"}),
])
def test_buttons_follow_the_status(changes, allowed):
    assert allowed_commands(view(**changes)) == allowed


def test_time_left_is_coarse_and_says_when_it_changes():
    assert [describe_time_left(s) for s in (None, 0, 30, 60, 61, 125, 2700)] == [
        "", "time is up", "less than a minute left", "less than a minute left", "about 2 min left",
        "about 3 min left", "about 45 min left"]
    assert next_change_s(125) == pytest.approx(5)
    assert next_change_s(120) == pytest.approx(60)
    assert next_change_s(30) == pytest.approx(30)
    assert next_change_s(0) is None and next_change_s(None) is None
    # By the service's clock: a view that says it ends 300 s after its server_time, read with the offset.
    arena = view(format="arena", ends_at=1_000_300.0, server_time=1_000_000.0)
    offset = 1_000_000.0 - time.time()
    assert 299 < time_left_s(arena, offset) <= 300
    assert time_left_s(view(status="finished", ends_at=5.0), 0) is None
    assert "about 5 min left" in status_line(arena, offset)


def test_names_players_chose_are_escaped():
    for html in (standings_table(view()), pairings_table(view()), status_line(view(name=HOSTILE), 0)):
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    standings = standings_table(view())
    assert "<th>Buchholz</th>" in standings and "<td>2.5</td>" in standings and "(withdrawn)" in standings
    pairings = pairings_table(view())
    assert "<td>3/7</td>" in pairings and "<td>0/7</td>" in pairings and "<td>playing</td>" in pairings


def test_a_finished_game_says_who_won_and_how():
    finished = {"round": 2, "first": "ada", "second": "guest:x", "status": "finished", "points_first": 1.0,
                "points_second": 0.0, "winner": "ada", "reason": "time_limit", "progress": {}}
    drawn = {**finished, "winner": None, "reason": "time_limit", "points_first": 0.5, "points_second": 0.5}
    bye = {"round": 2, "first": "ada", "second": None, "status": "bye", "progress": {}}
    html = pairings_table(view(pairings=[finished, drawn, bye]))
    assert "<td>ada won (time limit)</td>" in html and "<td>draw (time limit)</td>" in html
    assert "<td><i>bye</i></td>" in html and "<th>Round</th>" in html
    assert "<th>Round</th>" not in pairings_table(view(format="arena", pairings=[finished]))


def test_ending_tournaments_allow_only_stopping_their_games():
    swiss_over = view(pairings=[{"round": 1, "first": "ada", "second": "b", "status": "finished"}])
    assert "next_round" in allowed_commands(swiss_over)
    assert allowed_commands(swiss_over, ending=True) == {"pause", "end"}
    assert is_ending(view(ending=True)) and is_ending(view(), end_requested=True) and not is_ending(view())
    assert not is_ending(view(status="finished"), end_requested=True)
    assert is_ending(view(format="arena", ends_at=10.0), clock_offset_s=0.0)  # the arena's time is up
    assert "running, ending: no new games" in status_line(view(), 0, ending=True)
