"""The battle rules of docs/rules.md, each with real Socket.IO clients against a real service process."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpers import Player, ServiceProcess, get_json
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
GRACE_S = 1.5
TIME_LIMIT_S = 6


@pytest.fixture
def rules_service(tmp_path):
    svc = ServiceProcess(
        tmp_path,
        "--allow-guests",
        "--DuelService.countdown_s=0",
        f"--DuelService.disconnect_grace_s={GRACE_S}",
        *(f"--DuelService.time_limits={d}={TIME_LIMIT_S}" for d in ("easy", "medium", "hard")),
        "--DuelService.bot_after_s=0.5",
        "--DuelService.bot_speeds=fast=60000",
        "--DuelService.match_interval_s=0.2",
    ).start()
    yield svc
    svc.stop()


async def battle(url, a="ann", b="ben"):
    p1, p2 = await Player(url, a).connect(), await Player(url, b).connect()
    for p in (p1, p2):
        assert (await p.call("join_queue", {"pool": "easy"}))["ok"]
    m1, m2 = await p1.expect("match_found"), await p2.expect("match_found")
    return p1, p2, m1, m2


def partial(challenge_id: str, passing: int) -> str:
    """The reference, except that every call after the first ``passing`` ones fails."""
    c = LIBRARY.get(challenge_id)
    return (
        f"{c.reference}\n_real = {c.function}\n_calls = [0]\n"
        f"def {c.function}(*args):\n    _calls[0] += 1\n"
        f"    if _calls[0] > {passing}:\n        raise RuntimeError('not yet')\n    return _real(*args)\n"
    )


async def judged(player: Player, battle_id: str, code: str) -> dict:
    assert (await player.call("submit_code", {"battle_id": battle_id, "code": code}))["ok"]
    while True:  # both players see every submission's result: wait for this player's own
        result = await player.expect("submission_result", timeout=60)
        if result["player"] == player.name:
            return result


def history(svc, name):
    _, body = get_json(f"{svc.url}/api/users/{name}/battles")
    return body["battles"]


async def test_resume_within_grace_loses_no_delta_and_keeps_the_clock(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    bid = m1["battle_id"]
    assert m1["deadline"] == pytest.approx(m1["started_at"] + TIME_LIMIT_S)
    assert (await p1.call("sync_code", {"battle_id": bid, "seq": 1, "text": "ab"}))["ok"]
    assert (await p1.call("sync_code", {"battle_id": bid, "seq": 2, "delta": [{"retain": 2}, {"insert": "c"}]}))["ok"]
    assert (await p2.call("sync_code", {"battle_id": bid, "seq": 1, "text": "x"}))["ok"]
    assert (await p2.expect("opponent_code"))["seq"] == 1
    assert (await p2.expect("opponent_code"))["seq"] == 2
    assert (await p1.expect("opponent_code"))["text"] == "x"

    await p1.close()  # the transport drops
    away = await p2.expect("opponent_status")
    assert away["connected"] is False and 0 < away["grace_s"] <= GRACE_S
    # The opponent keeps typing while p1 is away: p1 misses these events.
    assert (await p2.call("sync_code", {"battle_id": bid, "seq": 2, "delta": [{"retain": 1}, {"insert": "yz"}]}))["ok"]

    back = await Player(rules_service.url, "ann").connect()
    assert (await p2.expect("opponent_status"))["connected"] is True
    assert (await back.call("resume", {"resume_token": m1["resume_token"]}))["ok"]
    state = await back.expect("battle_state")
    assert state["your_code"] == "abc" and state["your_seq"] == 2
    assert state["opponent_code"] == "xyz" and state["opponent_seq"] == 2
    assert state["deadline"] == pytest.approx(m1["deadline"]) and abs(state["server_time"] - time.time()) < 2
    # Continuing from your_seq, nothing is lost on either side.
    assert (await back.call("sync_code", {"battle_id": bid, "seq": 3, "delta": [{"retain": 3}, {"insert": "d"}]}))["ok"]
    assert (await p2.expect("opponent_code"))["seq"] == 3
    await back.close()
    await p2.close()


async def test_registered_offers_the_running_battle(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    tab = Player(rules_service.url)
    await tab.client.connect(rules_service.url, transports=["websocket"])
    assert (await tab.call("register_user", {"display_name": "ann"}))["ok"]
    registered = await tab.expect("registered")
    assert registered["battle_id"] == m1["battle_id"] and registered["resume_token"]
    assert (await tab.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
    assert (await tab.expect("battle_state"))["battle_id"] == m1["battle_id"]
    # Another player's token, or a forged one, is refused.
    await p2.refused("resume", {"resume_token": m1["resume_token"]}, "bad_resume_token")
    await p2.refused("resume", {"resume_token": "forged"}, "bad_resume_token")
    for p in (p1, p2, tab):
        await p.close()


async def test_back_after_the_grace_period_is_too_late(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    bid = m1["battle_id"]
    await judged(p1, bid, "def nothing(): pass\n")  # somebody submitted: the battle counts
    await p1.close()
    done = await p2.expect("battle_complete", timeout=GRACE_S + 10)
    assert done["winner"] == "ben" and done["reason"] == "disconnect" and done["ranked"] is True
    late = await Player(rules_service.url, "ann").connect()
    await late.refused("resume", {"resume_token": m1["resume_token"]}, "battle_over")
    [record] = history(rules_service, "ann")
    assert record["result"] == "loss" and record["reason"] == "disconnect"
    assert record["rating_after"] < record["rating_before"]
    await late.close()
    await p2.close()


async def test_gone_before_anyone_submitted_aborts_without_rating_change(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    await p1.close()
    done = await p2.expect("battle_complete", timeout=GRACE_S + 10)
    assert done["winner"] is None and done["reason"] == "aborted" and done["ranked"] is False
    assert all(r["before"] == r["after"] for r in done["ratings"])
    await p2.close()


async def test_both_gone_aborts(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    await judged(p2, m1["battle_id"], "def nothing(): pass\n")
    await p1.close()
    await p2.close()
    await asyncio.sleep(GRACE_S + 1.5)
    [record] = history(rules_service, "ann")
    assert record["result"] == "aborted" and record["rating_after"] == record["rating_before"]
    assert get_json(f"{rules_service.url}/api/users/ben")[1]["games"] == 0


async def test_forfeit_loses(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    assert (await p2.call("forfeit", {"battle_id": m1["battle_id"]}))["ok"]
    done = await p1.expect("battle_complete")
    assert done["winner"] == "ann" and done["reason"] == "forfeit"
    for p in (p1, p2):
        await p.close()


@pytest.mark.parametrize("passed_ann,passed_ben,winner", [(3, 1, "ann"), (2, 2, None)])
async def test_time_limit_most_tests_passed_wins(rules_service, passed_ann, passed_ben, winner):
    p1, p2, m1, _ = await battle(rules_service.url)
    bid, cid = m1["battle_id"], m1["challenge"]["id"]
    assert (await judged(p1, bid, partial(cid, passed_ann)))["passed"] == passed_ann
    assert (await judged(p2, bid, partial(cid, passed_ben)))["passed"] == passed_ben
    done = await p1.expect("battle_complete", timeout=TIME_LIMIT_S + 10)
    assert done["reason"] == "time_limit" and done["winner"] == winner
    ratings = {r["name"]: r for r in done["ratings"]}
    if winner is None:
        assert ratings["ann"]["after"] == ratings["ann"]["before"]  # equal players draw: no change
    else:
        assert ratings["ann"]["after"] > ratings["ann"]["before"]
    for p in (p1, p2):
        await p.close()


async def test_countdown_refuses_early_submissions(tmp_path):
    svc = ServiceProcess(tmp_path, "--allow-guests", "--DuelService.countdown_s=30").start()
    try:
        p1, p2, m1, _ = await battle(svc.url)
        assert m1["started_at"] - m1["server_time"] == pytest.approx(30, abs=1)
        await p1.refused("submit_code", {"battle_id": m1["battle_id"], "code": "x = 1"}, "not_started")
        assert (await p1.call("sync_code", {"battle_id": m1["battle_id"], "seq": 1, "text": "x"}))["ok"]
        for p in (p1, p2):
            await p.close()
    finally:
        svc.stop()


async def test_window_widens_and_practice_bot(rules_service):
    lonely = await Player(rules_service.url, "lonely").connect()
    assert (await lonely.call("join_queue", {"pool": "easy"}))["ok"]
    first = await lonely.expect("queue_update")
    assert first["status"] == "waiting" and first["bot_available"] is False and first["window"] == 100
    offered = await lonely.expect("queue_update", timeout=10)
    assert offered["bot_available"] is True
    _, info = get_json(f"{rules_service.url}/api/queue-info?name=lonely")
    assert info["you"]["position"] == 1 and info["you"]["window"] >= 100

    assert (await lonely.call("play_bot", {"pool": "easy", "speed": "fast"}))["ok"]
    match = await lonely.expect("match_found")
    assert match["opponent"]["bot"] is True and match["ranked"] is False
    first_code = await lonely.expect("opponent_code")
    assert first_code["text"] is not None and first_code["seq"] == 1  # like any client: the full text first
    done = await lonely.expect("battle_complete", timeout=60)
    assert done["winner"] == "Practice bot" and done["ranked"] is False
    assert all(r["before"] == r["after"] for r in done["ratings"])
    _, board = get_json(f"{rules_service.url}/api/leaderboard")
    assert all(p["name"] != "Practice bot" for p in board["players"])
    await lonely.close()
