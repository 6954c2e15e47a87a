"""Tournaments end to end: a real service process, real Socket.IO players, the REST API of the organiser.

Each format runs with six players whose games end fast (a challenge's reference solution submitted, or a
forfeit); a player drops mid-game and resumes; refused input changes nothing; a restart keeps a tournament; the
exports hold both players' solutions."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess
from jupyter_duel_server.auth import Identity, IdentitySigner
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
NAMES = ["ann", "ben", "cy", "dee", "eve", "fay"]
TIME_LIMIT_S = 30
OPTIONS = (
    *RATED_GUESTS,
    "--DuelService.countdown_s=0",
    "--DuelService.disconnect_grace_s=8",
    "--DuelService.submit_cooldown_s=0",
    "--DuelService.tournament_round_break_s=0.3",
    "--DuelService.tournament_state_interval_s=0.2",
    "--DuelService.tournament_rematch_after_s=0.5",
    *(f"--DuelService.time_limits={d}={TIME_LIMIT_S}" for d in ("easy", "medium", "hard")),
)


def token(name: str, instructor: bool = False) -> str:
    return IdentitySigner("test-secret").issue(Identity(name, False, instructor=instructor))


#: ``api``'s default: as the instructor, with a token made for the call (tokens expire: one made when this module
#: is imported could be stale by the time a test runs).
TEACHER = "teacher"


def api(svc: ServiceProcess, method: str, path: str, body=None, auth: str | None = TEACHER,
        raw: bool = False):
    """One REST call: (status, decoded JSON body, or the text with ``raw``)."""
    if auth is TEACHER:
        auth = token("teach", instructor=True)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(svc.url + "/api/" + path, data=data, method=method)
    if auth:
        request.add_header("Authorization", f"token {auth}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
            return response.status, text if raw else json.loads(text)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def tour_service(tmp_path):
    svc = ServiceProcess(tmp_path, *OPTIONS).start()
    yield svc
    svc.stop()


async def six(svc: ServiceProcess) -> list[Player]:
    return [await Player(svc.url, n).connect() for n in NAMES]


async def close_all(players) -> None:
    for p in players:
        await p.close()


def reference(challenge_id: str) -> str:
    return LIBRARY.get(challenge_id).reference


class Games:
    """What every player saw of its tournament games (``match_found`` and ``battle_complete``)."""

    def __init__(self):
        self.found: list[tuple[str, dict]] = []
        self.complete: dict[str, dict] = {}


async def play(player: Player, games: Games, strategy, stop: asyncio.Event) -> None:
    """Play every tournament game that comes: type a line (and the reference when solving), then submit it or,
    when not solving, wait for the opponent's solution up to a patience and forfeit. ``strategy(me, opponent)``
    is (solving, patience in seconds)."""
    while not stop.is_set():
        try:
            found = await player.expect("match_found", timeout=0.5)
        except asyncio.TimeoutError:
            continue
        await play_one(player, games, strategy, found)
    # Games opened while this player was still finishing the last one (as an arena ends) were told of too.
    while player.pending("match_found"):
        games.found.append((player.name, await player.expect("match_found")))


async def opponent_typed(player: Player, battle_id: str, timeout: float = 10.0) -> None:
    """Wait (at most ``timeout``) until the opponent's first edit of ``battle_id`` is mirrored to ``player``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in ("opponent_code", "opponent_shape"):
            while player.pending(event):
                if (await player.expect(event))["battle_id"] == battle_id:
                    return
        await asyncio.sleep(0.05)


async def play_one(player: Player, games: Games, strategy, found: dict) -> None:
    """One game: what ``play`` says."""
    games.found.append((player.name, found))
    bid, cid = found["battle_id"], found["challenge"]["id"]
    opponent = found["opponent"]["name"]
    solving, patience = strategy(player.name, opponent)
    code = f"# {player.display_name} vs {found['opponent']['display_name']}\n" + (reference(cid) if solving else "")
    ack = await player.call("sync_code", {"battle_id": bid, "seq": 1, "text": code})
    assert ack["ok"] or ack["error"]["code"] == "battle_over", ack  # the opponent may have forfeited already
    if solving and ack["ok"]:
        # Under load the opponent may type late: both solutions are on record before this one ends the game.
        await opponent_typed(player, bid)
        while True:
            ack = await player.call("submit_code", {"battle_id": bid, "code": code})
            if ack["ok"] or ack["error"]["code"] != "rate_limited":
                break
            await asyncio.sleep(ack["error"]["retry_after_s"])  # a player in a fast arena submits a lot
        assert ack["ok"] or ack["error"]["code"] == "battle_over", ack
    else:
        try:
            done = await player.expect("battle_complete", timeout=patience)
            games.complete[bid] = done
            return
        except asyncio.TimeoutError:
            ack = await player.call("forfeit", {"battle_id": bid})
            assert ack["ok"] or ack["error"]["code"] == "battle_over", ack
    while True:
        done = await player.expect("battle_complete", timeout=TIME_LIMIT_S + 30)
        if done["battle_id"] == bid:
            break
    games.complete[bid] = done


async def until_view(svc, tid: str, predicate, timeout: float = 120.0) -> dict:
    """Long-poll the view until ``predicate(view)``."""
    deadline = time.monotonic() + timeout
    status, view = api(svc, "GET", f"tournaments/{tid}", auth=None)
    assert status == 200
    while not predicate(view):
        assert time.monotonic() < deadline, f"the tournament never got there: {view['status']} round {view['round']}"
        status, view = await asyncio.to_thread(api, svc, "GET", f"tournaments/{tid}?version={view['version']}&wait=5",
                                               None, None)
        assert status == 200
    return view


def check_games_against_view(view: dict, games: Games, names: list[str]) -> None:
    """Every finished game of the view is a battle the players were told of, with its result; the standings
    count exactly the games recorded."""
    by_battle = {}
    for name, found in games.found:
        assert found["tournament_id"] == view["id"]
        by_battle.setdefault(found["battle_id"], set()).add(name)
    played = [g for g in view["games"] if g["battle_id"]]
    assert played and {g["battle_id"] for g in played} == set(by_battle)
    for g in played:
        assert by_battle[g["battle_id"]] == {g["first"], g["second"]}
        done = games.complete[g["battle_id"]]
        assert g["status"] == "finished" and g["winner"] == done["winner"] and g["reason"] == done["reason"]
        assert sorted([g["points_first"], g["points_second"]]) == ([0.5, 0.5] if done["winner"] is None else [0.0, 1.0])
        assert done["ranked"] is False  # the organiser chose an unrated tournament
    counts = Counter(n for g in view["games"] if g["second"] for n in (g["first"], g["second"]))
    standing = {s["name"]: s for s in view["standings"]}
    assert set(standing) == set(names)
    for name in names:
        assert standing[name]["games"] == counts[name]
        assert standing[name]["wins"] + standing[name]["draws"] + standing[name]["losses"] == counts[name]


def create(svc, **body) -> dict:
    status, view = api(svc, "POST", "tournaments", {"rated": False, **body})
    assert status == 201, view
    assert view["status"] == "open" and view["entrants"] == [] and view["version"] >= 1
    return view


async def join_all(players, tid: str) -> None:
    for p in players:
        assert (await p.call("join_tournament", {"tournament_id": tid}))["ok"]


async def run_all(players, games: Games, strategy) -> tuple[asyncio.Event, list[asyncio.Task]]:
    stop = asyncio.Event()
    return stop, [asyncio.create_task(play(p, games, strategy, stop)) for p in players]


def lower_name_solves(me: str, other: str) -> tuple[bool, float]:
    return me < other, 60.0


async def finish(stop: asyncio.Event, tasks) -> None:
    stop.set()
    await asyncio.gather(*tasks)


# ---------------------------------------------------------------------------------------------------- formats


async def test_an_arena_of_six_pairs_players_as_soon_as_they_are_free(tour_service):
    players = await six(tour_service)
    try:
        view = create(tour_service, name="Friday arena", format="arena", duration_s=25, difficulty="easy")
        tid = view["id"]
        announced = await players[0].expect("tournaments")  # every registered player hears of a new one
        assert [t["id"] for t in announced["tournaments"]] == [tid] and announced["tournaments"][0]["status"] == "open"
        listed = await players[0].call("list_tournaments", {})
        assert listed["ok"] and listed["tournaments"][0]["id"] == tid and listed["tournaments"][0]["format"] == "arena"
        await join_all(players, tid)
        games = Games()
        # The lower name solves; its opponent forfeits first, except in the games of cy (a shorter name).
        stop, tasks = await run_all(players, games, lambda me, other: (me < other, 60.0 if "cy" in me + other else 0.1))
        status, started = api(tour_service, "POST", f"tournaments/{tid}/start")
        assert status == 200 and started["status"] == "running"
        assert started["ends_at"] == pytest.approx(started["starts_at"] + 25)
        state = await players[0].expect("tournament_state")
        assert state["tournament"]["id"] == tid
        view = await until_view(tour_service, tid, lambda v: v["status"] == "finished", timeout=150)
        await finish(stop, tasks)
        check_games_against_view(view, games, [p.name for p in players])
        # Everybody played several games.
        per_player = Counter(n for g in view["games"] for n in (g["first"], g["second"]))
        assert min(per_player.values()) >= 2, per_player
        assert all(g["reason"] in ("solved", "forfeit") for g in view["games"])
        assert {g["reason"] for g in view["games"]} == {"solved", "forfeit"}
        # The arena's scoring: a win 2 (4 on fire), a draw 1; the scores add up to what the games gave.
        assert sum(s["score"] for s in view["standings"]) >= 2 * len(view["games"])
        assert [s["rank"] for s in view["standings"]] == list(range(1, 7))
        assert view["pairings"] and all(p["status"] == "finished" for p in view["pairings"])
    finally:
        await close_all(players)


async def test_a_swiss_of_six_plays_its_rounds_without_rematches(tour_service):
    players = await six(tour_service)
    try:
        view = create(tour_service, name="Swiss", format="swiss", rounds=3, difficulty="easy")
        tid = view["id"]
        await join_all(players, tid)
        games = Games()
        stop, tasks = await run_all(players, games, lower_name_solves)
        assert api(tour_service, "POST", f"tournaments/{tid}/start")[0] == 200
        view = await until_view(tour_service, tid, lambda v: v["status"] == "finished")
        await finish(stop, tasks)
        check_games_against_view(view, games, [p.name for p in players])
        assert view["round"] == view["rounds"] == 3 and len(view["games"]) == 9
        assert [sum(g["round"] == r for g in view["games"]) for r in (1, 2, 3)] == [3, 3, 3]
        pairs = [frozenset((g["first"], g["second"])) for g in view["games"]]
        assert len(set(pairs)) == 9  # no rematch
        # Each round's challenge is one for all its games (same_challenge_per_round), a new one each round.
        challenges = {}
        for name, found in games.found:
            game = next(g for g in view["games"] if g["battle_id"] == found["battle_id"])
            challenges.setdefault(game["round"], set()).add(found["challenge"]["id"])
        assert all(len(c) == 1 for c in challenges.values()) and len(set.union(*challenges.values())) == 3
        assert all("buchholz" in s["tiebreaks"] and "sonneborn_berger" in s["tiebreaks"] for s in view["standings"])
        assert sum(s["score"] for s in view["standings"]) == 9
        for g in view["games"]:  # each game's progress: the winner's solution passed every test
            progress = g["progress"][g["winner"]]
            assert progress["passed"] == progress["total"] > 0
        top = view["standings"][0]
        assert top["score"] == sum(1 for g in view["games"] if g["winner"] == top["name"])
    finally:
        await close_all(players)


async def test_a_round_robin_of_six_meets_everyone_once_and_exports_both_solutions(tour_service):
    players = await six(tour_service)
    try:
        chosen = [c.id for c in LIBRARY.all() if c.difficulty == "easy"][:2]
        view = create(tour_service, name="=HYPERLINK(\"x\")", format="round_robin", challenges=chosen,
                      same_challenge_per_round=False, time_limit_s=TIME_LIMIT_S)
        tid = view["id"]
        await join_all(players, tid)
        games = Games()
        stop, tasks = await run_all(players, games, lower_name_solves)
        status, started = api(tour_service, "POST", f"tournaments/{tid}/start")
        assert status == 200 and started["rounds"] == 5
        # Once started, a round robin takes nobody else.
        late = await Player(tour_service.url, "gus").connect()
        await late.refused("join_tournament", {"tournament_id": tid}, "tournament_closed")
        await late.close()
        view = await until_view(tour_service, tid, lambda v: v["status"] == "finished", timeout=240)
        await finish(stop, tasks)
        check_games_against_view(view, games, [p.name for p in players])
        assert len(view["games"]) == 15
        assert len({frozenset((g["first"], g["second"])) for g in view["games"]}) == 15
        assert all(found["challenge"]["id"] in chosen for _n, found in games.found)
        # Everybody solves against the players named after them: the table is the names' order.
        assert [s["name"] for s in view["standings"]] == sorted(p.name for p in players)
        assert [s["score"] for s in view["standings"]] == [5, 4, 3, 2, 1, 0]

        # The exports: CSV (formula-safe), and the notebook with both final solutions of every game.
        status, text = api(tour_service, "GET", f"tournaments/{tid}/results.csv", raw=True)
        assert status == 200
        table, rows = text.split("\r\n\r\n")
        standings = list(csv.DictReader(io.StringIO(table)))
        assert [r["name"] for r in standings] == [s["name"] for s in view["standings"]]
        rows = list(csv.DictReader(io.StringIO(rows)))
        assert len(rows) == 15 and all(r["tournament"] == "'=HYPERLINK(\"x\")" for r in rows)
        assert {r["battle_id"] for r in rows} == {g["battle_id"] for g in view["games"]}
        status, nb = api(tour_service, "GET", f"tournaments/{tid}/notebook")
        assert status == 200 and nb["nbformat"] == 4
        # It opens on Python without asking for a kernel, and counts in words a reader expects.
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        text = "\n".join("".join(c["source"]) for c in nb["cells"])
        assert "6 players, 15 games played." in text
        for game in view["games"]:
            first, second = (p.display_name for n in (game["first"], game["second"]) for p in players if p.name == n)
            assert f"# {first} vs {second}" in text and f"# {second} vs {first}" in text
            challenge = LIBRARY.get(next(f["challenge"]["id"] for _n, f in games.found
                                         if f["battle_id"] == game["battle_id"]))
            assert challenge.reference.strip().splitlines()[-1] in text
        for cid in chosen:  # never a hidden test's call
            challenge = LIBRARY.get(cid)
            assert not any(challenge.call_repr(hidden) in text for hidden in challenge.hidden)
            assert any(challenge.call_repr(sample) in text for sample in challenge.samples)
        # Only instructors export.
        assert api(tour_service, "GET", f"tournaments/{tid}/results.csv", auth=token("ann"))[0] == 403
        assert api(tour_service, "GET", f"tournaments/{tid}/notebook", auth=None)[0] == 403
    finally:
        await close_all(players)


# ---------------------------------------------------------------------------------------------------- resume


async def test_a_player_who_drops_mid_game_resumes_it_and_the_game_counts(tour_service):
    ann, ben = [await Player(tour_service.url, n).connect() for n in ("ann", "ben")]
    back = None
    try:
        tid = create(tour_service, name="Duo", format="swiss", rounds=1, difficulty="easy", rated=True)["id"]
        await join_all([ann, ben], tid)
        assert api(tour_service, "POST", f"tournaments/{tid}/start")[0] == 200
        found = await ann.expect("match_found")
        await ben.expect("match_found")
        bid = found["battle_id"]
        assert found["tournament_id"] == tid
        assert (await ann.call("sync_code", {"battle_id": bid, "seq": 1, "text": "# before\n"}))["ok"]
        await ann.close()  # the transport drops
        away = await ben.expect("opponent_status")
        assert away["connected"] is False
        back = Player(tour_service.url, guest_key=ann.guest_key)
        await back.client.connect(tour_service.url, transports=["websocket"])
        registered = await back.register({"display_name": "ann"})
        assert registered["battle_id"] == bid
        assert (await back.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
        state = await back.expect("battle_state")
        assert state["tournament_id"] == tid and state["your_code"] == "# before\n" and state["your_seq"] == 1
        code = "# after\n" + reference(found["challenge"]["id"])
        assert (await back.call("sync_code", {"battle_id": bid, "seq": 2, "text": code}))["ok"]
        assert (await back.call("submit_code", {"battle_id": bid, "code": code}))["ok"]
        done = await ben.expect("battle_complete", timeout=60)
        assert done["winner"] == back.name and done["reason"] == "solved"
        assert done["ranked"] is True  # rated, as the organiser chose
        view = await until_view(tour_service, tid, lambda v: v["status"] == "finished")
        [game] = view["games"]
        assert game["battle_id"] == bid and game["winner"] == back.name and game["points_first" if game["first"] == back.name else "points_second"] == 1.0
        assert view["standings"][0]["name"] == back.name
    finally:
        await close_all([p for p in (ann, ben, back) if p is not None])


# ---------------------------------------------------------------------------------------------------- refusals


async def test_bad_input_is_refused_and_changes_nothing(tour_service):
    svc = tour_service
    ann, ben, cy = [await Player(svc.url, n).connect() for n in ("ann", "ben", "cy")]
    try:
        # Creating: instructors only, a well-formed body, known packs and challenges.
        body = {"name": "x", "format": "arena", "duration_s": 60}
        assert api(svc, "POST", "tournaments", body, auth=None) == (403, api(svc, "POST", "tournaments", body,
                                                                              auth=token("ann"))[1])
        assert api(svc, "POST", "tournaments", body, auth=token("ann"))[1]["error"]["code"] == "not_instructor"
        for bad, code in [({"name": "x", "format": "arena"}, "invalid_payload"),
                          ({"name": "x", "format": "swiss"}, "invalid_payload"),
                          ({"name": "x", "format": "league", "rounds": 2}, "invalid_payload"),
                          ({"name": "", "format": "swiss", "rounds": 2}, "invalid_payload"),
                          ({"name": "x", "format": "swiss", "rounds": "2"}, "invalid_payload"),
                          ({"name": "x", "format": "swiss", "rounds": 2, "extra": 1}, "invalid_payload"),
                          ({"name": "x", "format": "swiss", "rounds": 2, "pack": "nope"}, "unknown_pack"),
                          ({"name": "x", "format": "swiss", "rounds": 2, "challenges": ["nope"]}, "unknown_challenge"),
                          ([1, 2], "invalid_payload")]:
            status, answer = api(svc, "POST", "tournaments", bad)
            assert (status, answer["error"]["code"]) == (400, code), (bad, answer)
        assert api(svc, "GET", "tournaments")[1] == {"tournaments": []}

        # Unknown ids, over REST and Socket.IO.
        assert api(svc, "GET", "tournaments/nope")[1]["error"]["code"] == "unknown_tournament"
        assert api(svc, "POST", "tournaments/nope/start")[0] == 404
        await ann.refused("join_tournament", {"tournament_id": "nope"}, "unknown_tournament")
        await ann.refused("join_tournament", {"tournamentid": "nope"}, "invalid_payload")

        rr = create(svc, name="RR", format="round_robin", difficulty="easy")
        arena = create(svc, name="Arena", format="arena", duration_s=600, difficulty="easy")
        swiss = create(svc, name="Swiss", format="swiss", rounds=2, difficulty="easy")
        listed = api(svc, "GET", "tournaments")[1]["tournaments"]
        assert [t["id"] for t in listed] == [swiss["id"], arena["id"], rr["id"]]  # newest first

        def snapshot():
            return [api(svc, "GET", f"tournaments/{t['id']}")[1] for t in (rr, arena, swiss)]

        # Invalid transitions (409), instructors only (403), with nothing changed.
        await ann.refused("leave_tournament", {"tournament_id": rr["id"]}, "not_in_tournament")
        await ann.refused("pause_tournament", {"tournament_id": arena["id"], "paused": True}, "not_in_tournament")
        before = snapshot()
        for tid, action, code in [(rr["id"], "pause", "tournament_state"), (rr["id"], "resume", "tournament_state"),
                                  (rr["id"], "start", "tournament_state"),  # nobody entered
                                  (rr["id"], "next_round", "tournament_state"),
                                  (arena["id"], "next_round", "tournament_state")]:
            status, answer = api(svc, "POST", f"tournaments/{tid}/{action}")
            assert (status, answer["error"]["code"]) == (409, code), (action, answer)
        for action in ("start", "pause", "resume", "next_round", "end"):
            assert api(svc, "POST", f"tournaments/{rr['id']}/{action}", auth=token("ann"))[0] == 403
        assert api(svc, "POST", f"tournaments/{rr['id']}/end", {"abort_games": "yes"})[0] == 400
        after = snapshot()
        assert [v["version"] for v in after] == [v["version"] for v in before]

        await join_all([ann, ben], rr["id"])
        await join_all([ann], swiss["id"])
        await ann.refused("pause_tournament", {"tournament_id": swiss["id"], "paused": True}, "tournament_state")
        assert api(svc, "POST", f"tournaments/{swiss['id']}/start")[1]["error"]["code"] == "tournament_state"
        status, started = api(svc, "POST", f"tournaments/{rr['id']}/start")
        assert status == 200 and started["status"] == "running" and started["rounds"] == 1
        for p in (ann, ben):
            assert (await p.expect("match_found"))["tournament_id"] == rr["id"]
        version = api(svc, "GET", f"tournaments/{rr['id']}")[1]["version"]
        await cy.refused("join_tournament", {"tournament_id": rr["id"]}, "tournament_closed")
        assert api(svc, "POST", f"tournaments/{rr['id']}/start")[1]["error"]["code"] == "tournament_state"
        assert api(svc, "POST", f"tournaments/{rr['id']}/resume")[0] == 409
        assert api(svc, "GET", f"tournaments/{rr['id']}")[1]["version"] == version

        # Pausing, then ending with the games aborted: finished at once, and closed to everyone.
        assert api(svc, "POST", f"tournaments/{rr['id']}/pause")[1]["status"] == "paused"
        status, ended = api(svc, "POST", f"tournaments/{rr['id']}/end", {"abort_games": True})
        assert status == 200
        done = await ann.expect("battle_complete")
        assert done["reason"] == "aborted"
        view = await until_view(svc, rr["id"], lambda v: v["status"] == "finished")
        [game] = view["games"]
        assert game["reason"] == "aborted" and game["points_first"] == game["points_second"] == 0.0
        assert api(svc, "POST", f"tournaments/{rr['id']}/end")[0] == 409
        await cy.refused("join_tournament", {"tournament_id": rr["id"]}, "tournament_closed")
        await ann.refused("leave_tournament", {"tournament_id": rr["id"]}, "tournament_closed")

        # Long-poll: answered at once on a change, after the wait without one.
        version = api(svc, "GET", f"tournaments/{arena['id']}")[1]["version"]
        began = time.monotonic()
        status, same = await asyncio.to_thread(api, svc, "GET", f"tournaments/{arena['id']}?version={version}&wait=1")
        assert status == 200 and same["version"] == version and time.monotonic() - began >= 0.9
        poll = asyncio.create_task(asyncio.to_thread(api, svc, "GET",
                                                     f"tournaments/{arena['id']}?version={version}&wait=20"))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        assert (await cy.call("join_tournament", {"tournament_id": arena["id"]}))["ok"]
        status, changed = await poll
        assert status == 200 and changed["version"] > version and time.monotonic() - began < 5
        assert [e["name"] for e in changed["entrants"]] == [cy.name]
        assert api(svc, "GET", f"tournaments/{arena['id']}?version=x&wait=1")[1]["error"]["code"] == "invalid_payload"
    finally:
        await close_all([ann, ben, cy])


# ---------------------------------------------------------------------------------------------------- restart


async def test_a_restarted_service_keeps_the_tournament_and_its_running_game(tour_service):
    svc = tour_service
    ann, ben, cy = [await Player(svc.url, n).connect() for n in ("ann", "ben", "cy")]
    players = [ann, ben, cy]
    try:
        tid = create(svc, name="Kept", format="swiss", rounds=2, difficulty="easy")["id"]
        await join_all(players, tid)
        assert api(svc, "POST", f"tournaments/{tid}/start")[0] == 200
        running = await until_view(svc, tid, lambda v: any(g["status"] == "playing" for g in v["pairings"]))
        [game] = [g for g in running["pairings"] if g["status"] == "playing"]
        [bye] = [g for g in running["pairings"] if g["status"] == "bye"]
        assert bye["points_first"] == 1.0
        await close_all(players)
        svc.restart()
        status, view = api(svc, "GET", f"tournaments/{tid}")
        assert status == 200 and view["status"] == "running" and view["round"] == 1
        assert [e["name"] for e in view["entrants"]] == [e["name"] for e in running["entrants"]]
        assert [g["battle_id"] for g in view["pairings"]] == [g["battle_id"] for g in running["pairings"]]
        # Both players of the running game come back and finish it: the tournament goes on to round 2.
        players = []
        for name in (game["first"], game["second"]):
            old = next(p for p in (ann, ben, cy) if p.name == name)
            p = Player(svc.url, guest_key=old.guest_key)
            await p.client.connect(svc.url, transports=["websocket"])
            registered = await p.register({"display_name": old.display_name})
            assert registered["battle_id"] == game["battle_id"]
            assert (await p.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
            state = await p.expect("battle_state")
            assert state["tournament_id"] == tid
            players.append(p)
        assert (await players[0].call("forfeit", {"battle_id": game["battle_id"]}))["ok"]
        view = await until_view(svc, tid, lambda v: v["round"] == 2)
        [played] = [g for g in view["games"] if g["battle_id"] == game["battle_id"]]
        assert played["winner"] == players[1].name and played["reason"] == "forfeit"
        # The third player is not connected in round 2: a no-show, a forfeit loss.
        assert any(g["status"] == "forfeit" and g["reason"] == "no_show" for g in view["pairings"]), view["pairings"]
    finally:
        await close_all(players)


# ---------------------------------------------------------------------------------------------------- control


async def next_found(player: Player, timeout: float = 10.0) -> dict:
    found = await player.expect("match_found", timeout)
    assert found["tournament_id"]
    return found


async def test_a_late_joiner_and_an_organiser_running_a_swiss_round_by_round(tour_service):
    svc = tour_service
    ann, ben, cy = [await Player(svc.url, n).connect() for n in ("ann", "ben", "cy")]
    try:
        tid = create(svc, name="Step by step", format="swiss", rounds=2, difficulty="easy")["id"]
        await join_all([ann, ben], tid)
        assert api(svc, "POST", f"tournaments/{tid}/start")[0] == 200
        found = await next_found(ann)
        await next_found(ben)
        # A late joiner: in from round 2, with ½ for the round missed.
        assert (await cy.call("join_tournament", {"tournament_id": tid}))["ok"]
        view = api(svc, "GET", f"tournaments/{tid}")[1]
        assert {s["name"]: s["score"] for s in view["standings"]}[cy.name] == 0.5
        # Paused: the game goes on, but the next round is not paired when it ends...
        assert api(svc, "POST", f"tournaments/{tid}/pause")[1]["status"] == "paused"
        assert (await ben.call("forfeit", {"battle_id": found["battle_id"]}))["ok"]
        await ann.expect("battle_complete")
        view = await until_view(svc, tid, lambda v: v["games"])
        await asyncio.sleep(1.0)  # several round breaks
        assert api(svc, "GET", f"tournaments/{tid}")[1]["round"] == 1
        # ...until the organiser pairs it (it stays paused).
        status, view = api(svc, "POST", f"tournaments/{tid}/next_round")
        assert status == 200 and view["round"] == 2 and view["status"] == "paused"
        assert api(svc, "POST", f"tournaments/{tid}/next_round")[1]["error"]["code"] == "tournament_state"
        # Scores 1, ½, 0: the bye goes to the last, the late joiner meets the leader.
        [bye] = [g for g in view["pairings"] if g["status"] == "bye"]
        assert bye["first"] == ben.name and bye["points_first"] == 1.0
        second = await next_found(cy)
        assert second["opponent"]["name"] == ann.name
        await next_found(ann)
        # A player who withdraws keeps their points; their running game plays on and counts.
        assert (await cy.call("leave_tournament", {"tournament_id": tid}))["ok"]
        assert (await cy.call("forfeit", {"battle_id": second["battle_id"]}))["ok"]
        await cy.expect("battle_complete")
        # Resumed with its last round over: finished.
        view = await until_view(svc, tid, lambda v: len(v["games"]) == 3)
        assert view["status"] == "paused"
        status, view = api(svc, "POST", f"tournaments/{tid}/resume")
        assert status == 200 and view["status"] == "finished"
        table = {s["name"]: s for s in view["standings"]}
        assert table[cy.name]["withdrawn"] and table[cy.name]["score"] == 0.5 and table[cy.name]["games"] == 1
        assert [s["name"] for s in view["standings"]][0] == ann.name and table[ann.name]["score"] == 2
        assert {e["name"]: e["status"] for e in view["entrants"]}[cy.name] == "withdrawn"
    finally:
        await close_all([ann, ben, cy])


async def test_an_arena_player_pauses_and_the_organiser_ends_it(tour_service):
    svc = tour_service
    ann, ben, cy = [await Player(svc.url, n).connect() for n in ("ann", "ben", "cy")]
    try:
        tid = create(svc, name="Pauses", format="arena", duration_s=300, difficulty="easy")["id"]
        await join_all([ann, ben, cy], tid)
        assert (await cy.call("pause_tournament", {"tournament_id": tid, "paused": True}))["ok"]
        assert api(svc, "POST", f"tournaments/{tid}/start")[0] == 200
        first = await next_found(ann)
        assert first["opponent"]["name"] == ben.name
        await next_found(ben)
        # ann and ben just met: with cy paused, nobody else fits, so they meet again after the rematch window.
        assert (await ann.call("forfeit", {"battle_id": first["battle_id"]}))["ok"]
        again = await next_found(ann)
        assert again["opponent"]["name"] == ben.name and again["battle_id"] != first["battle_id"]
        await next_found(ben)
        assert cy.pending("match_found") == 0
        # cy comes back: paired as soon as a game ends, with somebody who is not their last opponent.
        assert (await cy.call("pause_tournament", {"tournament_id": tid, "paused": False}))["ok"]
        assert (await ben.call("forfeit", {"battle_id": again["battle_id"]}))["ok"]
        third = await next_found(cy)
        assert third["opponent"]["name"] in (ann.name, ben.name)
        assert (await next_found(ann if third["opponent"]["name"] == ann.name else ben))["battle_id"] == third["battle_id"]
        # The organiser ends it: no new game, the running one plays on and counts, then it is finished.
        status, view = api(svc, "POST", f"tournaments/{tid}/end")
        assert status == 200 and view["status"] == "running" and view["ending"]
        listed = (await cy.call("list_tournaments", {}))["tournaments"]
        assert [(t["id"], t["ending"]) for t in listed] == [(tid, True)]
        assert api(svc, "POST", f"tournaments/{tid}/end")[1]["error"]["code"] == "tournament_state"
        await cy.refused("join_tournament", {"tournament_id": tid}, "tournament_closed")
        assert (await cy.call("forfeit", {"battle_id": third["battle_id"]}))["ok"]
        view = await until_view(svc, tid, lambda v: v["status"] == "finished")
        assert len(view["games"]) == 3 and view["games"][-1]["battle_id"] == third["battle_id"]
        await asyncio.sleep(1.0)
        assert sum(p.pending("match_found") for p in (ann, ben, cy)) == 0
        table = {s["name"]: s["score"] for s in view["standings"]}
        # Three wins of 2 points, nobody on fire: cy's opponent won twice, the other once, cy never.
        winner = third["opponent"]["name"]
        assert table == {ann.name: 2, ben.name: 2, cy.name: 0, winner: 4}
    finally:
        await close_all([ann, ben, cy])


async def test_a_killed_service_carries_an_arena_on(tour_service):
    svc = tour_service
    ann, ben = [await Player(svc.url, n).connect() for n in ("ann", "ben")]
    players = [ann, ben]
    try:
        tid = create(svc, name="Crash", format="arena", duration_s=600, difficulty="easy")["id"]
        await join_all(players, tid)
        assert api(svc, "POST", f"tournaments/{tid}/start")[0] == 200
        found = await next_found(ann)
        await next_found(ben)

        def stored_game() -> list:
            import sqlite3

            with sqlite3.connect(svc.db_path) as db:
                return db.execute("SELECT status, battle_id FROM tournament_games WHERE tournament_id = ?",
                                  (tid,)).fetchall()

        deadline = time.monotonic() + 10
        while stored_game() != [("playing", found["battle_id"])]:  # written by the database workers
            assert time.monotonic() < deadline, stored_game()
            await asyncio.sleep(0.1)
        await close_all(players)
        svc.kill()  # SIGKILL: nothing written on the way out
        svc.start()
        status, view = api(svc, "GET", f"tournaments/{tid}")
        assert status == 200 and view["status"] == "running" and view["pairings"][0]["status"] == "playing"
        players = []
        for old in (ann, ben):
            p = Player(svc.url, guest_key=old.guest_key)
            await p.client.connect(svc.url, transports=["websocket"])
            registered = await p.register({"display_name": old.display_name})
            assert registered["battle_id"] == found["battle_id"]
            assert (await p.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
            assert (await p.expect("battle_state"))["tournament_id"] == tid
            players.append(p)
        assert (await players[1].call("forfeit", {"battle_id": found["battle_id"]}))["ok"]
        # Recorded, and the two are paired again (nobody else is free) after the rematch window.
        again = await next_found(players[0])
        assert again["battle_id"] != found["battle_id"] and again["tournament_id"] == tid
        view = api(svc, "GET", f"tournaments/{tid}")[1]
        [game] = view["games"]
        assert game["battle_id"] == found["battle_id"] and game["winner"] == players[0].name
        assert {s["name"]: s["score"] for s in view["standings"]} == {players[0].name: 2, players[1].name: 0}
    finally:
        await close_all(players)
