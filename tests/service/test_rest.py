"""The REST API of a real service process."""

from __future__ import annotations

import json

from helpers import get_json as get, judged, start_battle
from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server import protocol

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


def secrets_of(challenge) -> list[str]:
    """Strings that would only appear if hidden tests or the reference leaked."""
    public = challenge.statement + "".join(challenge.call_repr(t) for t in challenge.samples)
    leaks = [challenge.reference.strip()]
    for test in challenge.hidden:
        call = challenge.call_repr(test)
        if call not in public:  # a hidden test may repeat a statement's example on purpose
            leaks.append(call)
    return leaks


def test_health(service):
    status, body = get(service.url + "/api/health")
    assert status == 200 and body["status"] == "ok" and body["version"]


def test_challenges_never_leak_hidden_tests_or_reference(service):
    status, body = get(service.url + "/api/challenges")
    assert status == 200
    ids = {c["id"] for c in body["challenges"]}
    assert ids == {c.id for c in LIBRARY.all()} and len(ids) >= 5
    listing = json.dumps(body)
    for challenge in LIBRARY.all():
        status, view = get(f"{service.url}/api/challenges/{challenge.id}")
        assert status == 200
        protocol.ChallengeView.model_validate(view)
        assert view["hidden_count"] == len(challenge.hidden)
        text = json.dumps(view)
        for leak in secrets_of(challenge):
            assert leak not in text and leak not in listing, f"{challenge.id} leaks {leak[:40]!r}"
        assert "reference" not in view and "hidden" not in view


def test_unknown_challenge_and_user(service):
    status, body = get(service.url + "/api/challenges/does-not-exist")
    assert status == 404 and body["error"]["code"] == "unknown_challenge"
    status, body = get(service.url + "/api/users/nobody")
    assert status == 404 and body["error"]["code"] == "unknown_user"
    status, body = get(service.url + "/api/users/nobody/battles")
    assert status == 404 and body["error"]["code"] == "unknown_user"
    # What a client sent comes back clipped, never whole.
    for path in ("/api/challenges/", "/api/users/", "/api/users/{}/battles"):
        long_name = "x" * 5000
        url = service.url + (path.format(long_name) if "{}" in path else path + long_name)
        status, body = get(url)
        assert status == 404 and len(body["error"]["message"]) < 200, body


async def test_queue_info_leaderboard_history(players, service):
    waiting = await players("wanda")
    assert (await waiting.call("join_queue", {"pool": "hard"}))["ok"]
    await waiting.expect("queue_update")
    status, info = get(service.url + "/api/queue-info")
    assert status == 200 and info["pools"]["hard"] == 1 and info["waiting"] == 1

    p1, p2, m1, _ = await start_battle(players)
    await judged(p2, m1["battle_id"])  # somebody submitted: the forfeit is rated
    assert (await p1.call("forfeit", {"battle_id": m1["battle_id"]}))["ok"]
    await p2.expect("battle_complete")
    status, board = get(service.url + "/api/leaderboard")
    assert status == 200 and board["players"][0]["name"] == p2.name == "guest:bob"
    assert board["players"][0]["display_name"] == "bob" and board["players"][0]["guest"] is True
    status, history = get(service.url + f"/api/users/{p1.name}/battles")
    assert status == 200
    [battle] = history["battles"]
    assert battle["opponent"] == p2.name and battle["opponent_display_name"] == "bob"
    assert battle["result"] == "loss" and battle["reason"] == "forfeit"
    assert battle["mirror"] == "shape" and battle["pastes"] == []
    assert battle["rating_after"] < battle["rating_before"]
