"""Every protocol event against a real service process over a real port, good input and bad."""

from __future__ import annotations

import asyncio

import pytest

from helpers import Player, start_battle
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


def reference(challenge_id: str) -> str:
    return LIBRARY.get(challenge_id).reference


WRONG = "def {fn}(*args):\n    return None\n"


async def test_register_and_queue_and_leave(players, service):
    alice = await players("alice")
    ack = await alice.call("join_queue", {"pool": "medium", "ranked": False})
    assert ack["ok"]
    update = await alice.expect("queue_update")
    assert update == {**update, "status": "waiting", "pool": "medium", "ranked": False, "position": 1, "size": 1}
    await alice.refused("join_queue", {}, "already_queued")
    assert (await alice.call("leave_queue", {}))["ok"]
    assert (await alice.expect("queue_update"))["status"] == "left"
    await alice.refused("leave_queue", {}, "not_queued")


async def test_register_user_identity_rules(players, service):
    anon = await players(None)
    await anon.refused("join_queue", {}, "not_registered")
    await anon.refused("register_user", {}, "auth_failed")  # this connection proved nobody
    await anon.refused("register_user", {"token": "x", "display_name": "y"}, "invalid_payload")
    await anon.refused("register_user", {"token": "forged.token.value"}, "auth_failed")
    await anon.refused("register_user", {"display_name": "<script>"}, "invalid_name")
    await anon.refused("register_user", {"display_name": 42}, "invalid_payload")
    ack = await anon.call("register_user", {"display_name": "carol"})
    assert ack == {"ok": True, "name": "guest:carol"}
    registered = await anon.expect("registered")
    assert registered["user"]["name"] == "guest:carol" and registered["user"]["guest"] is True
    assert registered["user"]["display_name"] == "carol" and registered["guest_key"]
    assert registered["battle_id"] is None


async def test_signed_token_identity(tmp_path):
    """A service without guests accepts only tokens signed with its secret; the name comes from the token."""
    from helpers import ServiceProcess
    from jupyter_duel_server.auth import Identity, IdentitySigner

    svc = ServiceProcess(tmp_path, "--DuelService.countdown_s=0").start()
    try:
        player = await Player(svc.url).connect()
        await player.refused("register_user", {"display_name": "mallory"}, "guests_disabled")
        forged = IdentitySigner("another-secret").issue(Identity("dave", False))
        await player.refused("register_user", {"token": forged}, "auth_failed")
        token = IdentitySigner("test-secret").issue(Identity("dave", False))
        assert (await player.call("register_user", {"token": token}))["name"] == "dave"
        assert (await player.expect("registered"))["user"] == {
            "name": "dave", "display_name": "dave", "rating": 1200.0, "guest": False, "provisional": True,
            "games": 0, "wins": 0, "losses": 0, "draws": 0,
        }
        await player.close()
    finally:
        svc.stop()


async def test_full_battle_mirror_results_and_ratings(players, service):
    p1, p2, m1, m2 = await start_battle(players)
    battle_id = m1["battle_id"]
    assert m2["battle_id"] == battle_id
    assert m1["you"]["name"] == "guest:alice" and m1["opponent"]["name"] == "guest:bob"
    assert m2["you"]["name"] == "guest:bob" and m2["opponent"]["name"] == "guest:alice"
    assert m1["opponent"]["display_name"] == "bob" and m1["opponent"]["guest"] is True
    assert m1["mirror"] == m2["mirror"] == {"mode": "shape", "delay_s": 0.0}  # ranked: never copyable text
    challenge = m1["challenge"]
    assert challenge["samples"] and challenge["hidden_count"] >= 1
    fn = challenge["function"]

    # The ranked default mirrors the outline: full text, then a delta, shown as lines' indentation and length.
    assert (await p1.call("sync_code", {"battle_id": battle_id, "seq": 1, "text": "def f():\n    pass\n"}))["ok"]
    shape = await p2.expect("opponent_shape")
    assert shape == {"battle_id": battle_id, "lines": [[0, 8], [4, 4], [0, 0]], "chars": 18}
    delta = [{"retain": 13}, {"delete": 4}, {"insert": "return 1"}]
    assert (await p1.call("sync_code", {"battle_id": battle_id, "seq": 2, "delta": delta}))["ok"]
    assert (await p2.expect("opponent_shape"))["lines"] == [[0, 8], [4, 8], [0, 0]]
    assert p2.pending("opponent_code") == 0 and p1.pending("opponent_shape") == 0

    # A wrong submission: both see failing tests; only the author sees sample details.
    ack = await p1.call("submit_code", {"battle_id": battle_id, "code": WRONG.format(fn=fn)})
    assert ack["ok"] and isinstance(ack["submission_id"], int)
    result = await p1.expect("submission_result")
    assert result["verdict"] != "AC" and result["passed"] < result["total"]
    seen_by_author = [await p1.expect("test_result") for _ in range(result["total"])]
    seen_by_opponent = [await p2.expect("test_result") for _ in range(result["total"])]
    assert any(not t["passed"] for t in seen_by_author)
    assert all(t["detail"] for t in seen_by_author if t["kind"] == "sample")
    assert all(t["detail"] is None for t in seen_by_author if t["kind"] == "hidden")
    assert all(t["detail"] is None for t in seen_by_opponent)
    assert (await p2.expect("submission_result"))["message"] is None

    # The right submission by the other player wins.
    ack = await p2.call("submit_code", {"battle_id": battle_id, "code": reference(challenge["id"])})
    assert ack["ok"]
    done1, done2 = await p1.expect("battle_complete"), await p2.expect("battle_complete")
    assert done1 == done2
    assert done1["winner"] == p2.name and done1["reason"] == "solved" and done1["ranked"] is True
    ratings = {r["name"]: r for r in done1["ratings"]}
    assert ratings[p2.name]["after"] > ratings[p2.name]["before"] == 1200.0
    assert ratings[p1.name]["after"] < ratings[p1.name]["before"] == 1200.0
    # Both codes in full once it is over, whatever the mirror showed.
    assert {c["name"]: c["code"] for c in done1["codes"]} == {
        p1.name: "def f():\n    return 1\n", p2.name: ""}
    final = await p2.expect("submission_result")
    assert final["verdict"] == "AC" and final["passed"] == final["total"]

    # Acting on the finished battle is refused.
    await p1.refused("submit_code", {"battle_id": battle_id, "code": "x = 1"}, "battle_over")
    await p1.refused("forfeit", {"battle_id": battle_id}, "battle_over")


async def test_run_samples_goes_to_author_only(players, service):
    p1, p2, m1, _ = await start_battle(players)
    battle_id, challenge = m1["battle_id"], m1["challenge"]
    ack = await p1.call("run_samples", {"battle_id": battle_id, "code": reference(challenge["id"])})
    assert ack["ok"]
    result = await p1.expect("submission_result")
    assert result["samples_only"] is True and result["verdict"] == "AC"
    assert result["total"] == len(challenge["samples"])
    await asyncio.sleep(0.3)
    assert p2.pending("test_result") == 0 and p2.pending("submission_result") == 0
    assert p2.pending("battle_complete") == 0 and p1.pending("battle_complete") == 0


async def test_forfeit(players, service):
    p1, p2, m1, _ = await start_battle(players)
    assert (await p1.call("forfeit", {"battle_id": m1["battle_id"]}))["ok"]
    done = await p2.expect("battle_complete")
    assert done["winner"] == p2.name and done["reason"] == "forfeit"
    await p1.expect("battle_complete")


async def test_bad_input_is_refused_and_changes_nothing(players, service):
    p1, p2, m1, _ = await start_battle(players, ranked=False)
    outsider = await players("eve")
    battle_id = m1["battle_id"]
    before = service.counts()

    # Malformed, missing and mistyped fields.
    await p1.refused("submit_code", {"battle_id": battle_id}, "invalid_payload")
    await p1.refused("submit_code", {"battle_id": battle_id, "code": 5}, "invalid_payload")
    await p1.refused("submit_code", {"battle_id": 7, "code": "x"}, "invalid_payload")
    await p1.refused("submit_code", {"battle_id": battle_id, "code": "x", "admin": True}, "invalid_payload")
    await p1.refused("submit_code", "not an object", "invalid_payload")
    await p1.refused("submit_code", None, "invalid_payload")
    await p1.refused("join_queue", {"pool": "impossible"}, "invalid_payload")
    await p1.refused("join_queue", {"ranked": "yes"}, "invalid_payload")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": "1", "text": "x"}, "invalid_payload")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 1}, "invalid_payload")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 1, "delta": [{"jump": 3}]}, "invalid_payload")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 0, "text": "x"}, "invalid_payload")
    await p1.refused("no_such_event", {}, "unknown_event")

    # Unknown battles, and other people's battles.
    await p1.refused("submit_code", {"battle_id": "nope", "code": "x"}, "unknown_battle")
    await p1.refused("sync_code", {"battle_id": "nope", "seq": 1, "text": "x"}, "unknown_battle")
    await p1.refused("forfeit", {"battle_id": "nope"}, "unknown_battle")
    await outsider.refused("submit_code", {"battle_id": battle_id, "code": "x"}, "not_in_battle")
    await outsider.refused("run_samples", {"battle_id": battle_id, "code": "x"}, "not_in_battle")
    await outsider.refused("sync_code", {"battle_id": battle_id, "seq": 1, "text": "x"}, "not_in_battle")
    await outsider.refused("forfeit", {"battle_id": battle_id}, "not_in_battle")

    # Oversized code, submitted or synced.
    big = "x = 1\n" * 10_000  # 60 KB
    await p1.refused("submit_code", {"battle_id": battle_id, "code": big}, "code_too_large")
    await p1.refused("run_samples", {"battle_id": battle_id, "code": big}, "code_too_large")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 1, "text": big}, "code_too_large")

    # Deltas that do not follow.
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 5, "delta": [{"insert": "a"}]}, "out_of_sync")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 1, "delta": [{"retain": 99}]}, "out_of_sync")
    await p1.refused("join_queue", {}, "in_battle")

    # The resume and practice-bot events.
    await p1.refused("resume", {}, "invalid_payload")
    await p1.refused("resume", {"resume_token": 5}, "invalid_payload")
    await p1.refused("resume", {"resume_token": "x" * 2000}, "invalid_payload")
    await p1.refused("play_bot", {"speed": "warp"}, "invalid_payload")
    await p1.refused("play_bot", {"pool": "easy", "extra": 1}, "invalid_payload")
    await p1.refused("play_bot", {}, "in_battle")

    assert service.counts() == before
    assert p2.pending("opponent_code") == 0
    assert service.alive()

    # The connection and the battle still work.
    assert (await p1.call("sync_code", {"battle_id": battle_id, "seq": 1, "text": "ok"}))["ok"]
    assert (await p2.expect("opponent_code"))["text"] == "ok"


async def test_raw_protocol_abuse_keeps_connection(players, service):
    alice = await players("alice")
    # Several arguments, or none, are refused like any malformed payload.
    ack = await alice.client.call("join_queue", ({}, {}), timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    await alice.expect("error")
    await alice.client.emit("join_queue")
    assert (await alice.expect("error"))["code"] == "invalid_payload"
    assert (await alice.call("join_queue", {}))["ok"]


async def test_judge_busy(players, service):
    p1, _p2, m1, _ = await start_battle(players)
    battle_id, fn = m1["battle_id"], m1["challenge"]["function"]
    slow = f"import time\nslept = []\ndef {fn}(*a):\n    if not slept:\n        slept.append(time.sleep(1))\n    return None\n"
    assert (await p1.call("submit_code", {"battle_id": battle_id, "code": slow}))["ok"]
    await p1.refused("submit_code", {"battle_id": battle_id, "code": slow}, "judge_busy")
    await p1.expect("submission_result", timeout=60)


async def test_same_player_is_not_matched_with_itself(service):
    tab1 = await Player(service.url, "zoe").connect()
    tab2 = await tab1.another_tab()
    assert (await tab1.call("join_queue", {}))["ok"]
    await tab2.refused("join_queue", {}, "already_queued")
    await tab1.close()
    await tab2.close()


@pytest.mark.parametrize("pool", ["any", "hard"])
async def test_pools_overlap(players, service, pool):
    p1, p2 = await players("a1"), await players("a2")
    assert (await p1.call("join_queue", {"pool": pool}))["ok"]
    assert (await p2.call("join_queue", {"pool": "any"}))["ok"]
    m1 = await p1.expect("match_found")
    if pool != "any":
        assert m1["challenge"]["difficulty"] == pool
