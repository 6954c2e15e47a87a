"""The battle rules of docs/rules.md, each with real Socket.IO clients against a real service process."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, judged, players_on
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
GRACE_S = 1.5
TIME_LIMIT_S = 6


@pytest.fixture
def rules_service(tmp_path):
    svc = ServiceProcess(
        tmp_path,
        *RATED_GUESTS,
        "--DuelService.countdown_s=0",
        f"--DuelService.disconnect_grace_s={GRACE_S}",
        *(f"--DuelService.time_limits={d}={TIME_LIMIT_S}" for d in ("easy", "medium", "hard")),
        "--DuelService.bot_after_s=0.5",
        "--DuelService.bot_speeds=fast=60000",
        "--DuelService.match_interval_s=0.2",
    ).start()
    yield svc
    svc.stop()


async def battle(url, a="ann", b="ben", ranked=True):
    p1, p2 = await Player(url, a).connect(), await Player(url, b).connect()
    for p in (p1, p2):
        assert (await p.call("join_queue", {"pool": "easy", "ranked": ranked}))["ok"]
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


def history(svc, name):
    _, body = get_json(f"{svc.url}/api/users/{name}/battles")
    return body["battles"]


async def test_resume_within_grace_loses_no_delta_and_keeps_the_clock(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url, ranked=False)  # casual: the mirror is live
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

    back = await p1.another_tab()
    assert (await back.call("resume", {"resume_token": m1["resume_token"]}))["ok"]
    assert (await p2.expect("opponent_status"))["connected"] is True
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
    tab = Player(rules_service.url, guest_key=p1.guest_key)  # another tab of the same browser
    await tab.client.connect(rules_service.url, transports=["websocket"])
    registered = await tab.register({"display_name": "ann"})
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
    assert done["winner"] == p2.name and done["reason"] == "disconnect" and done["ranked"] is True
    late = await p1.another_tab()
    await late.refused("resume", {"resume_token": m1["resume_token"]}, "battle_over")
    [record] = history(rules_service, p1.name)
    assert record["result"] == "loss" and record["reason"] == "disconnect"
    assert record["rating_after"] < record["rating_before"]
    await late.close()
    await p2.close()


async def test_leaving_right_after_the_match_loses_unrated(rules_service):
    # Dodging: whoever leaves right after match_found and stays away loses, though nobody submitted; a loss
    # before anybody submitted changes no rating.
    p1, p2, m1, _ = await battle(rules_service.url)
    await p1.close()
    done = await p2.expect("battle_complete", timeout=GRACE_S + 10)
    assert done["winner"] == p2.name and done["reason"] == "disconnect" and done["ranked"] is False
    assert all(r["before"] == r["after"] for r in done["ratings"])
    [record] = history(rules_service, p1.name)
    assert record["result"] == "loss" and record["reason"] == "disconnect"
    assert record["rating_after"] == record["rating_before"]
    await p2.close()


async def test_forfeits_before_any_submission_farm_nothing(rules_service):
    # Farming: throwaway accounts forfeit during the countdown against one main account, again and again.
    main = await Player(rules_service.url, "main").connect()
    before = get_json(f"{rules_service.url}/api/users/{main.name}")[1]["rating"]
    for i in range(4):
        feeder = await Player(rules_service.url, f"feeder{i}").connect()
        for p in (main, feeder):
            assert (await p.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
        match = await feeder.expect("match_found")
        await main.expect("match_found")
        assert match["ranked"] is True
        assert (await feeder.call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
        done = await main.expect("battle_complete")
        assert done["winner"] == main.name and done["reason"] == "forfeit" and done["ranked"] is False
        await feeder.close()
    assert get_json(f"{rules_service.url}/api/users/{main.name}")[1]["rating"] == before
    await main.close()


async def test_the_bot_is_not_offered_before_the_wait(rules_service):
    eager = await Player(rules_service.url, "eager").connect()
    error = await eager.refused("play_bot", {"pool": "easy", "speed": "fast"}, "bot_not_offered")  # not queued
    assert "queue" in error["message"]
    slow = ServiceProcess(rules_service.db_path.parent / "slow", *RATED_GUESTS, "--DuelService.bot_after_s=600")
    (rules_service.db_path.parent / "slow").mkdir()
    slow.start()
    try:
        waiting = await Player(slow.url, "waiting").connect()
        assert (await waiting.call("join_queue", {"pool": "easy"}))["ok"]
        error = await waiting.refused("play_bot", {"pool": "easy", "speed": "fast"}, "bot_not_offered")
        assert 590 < error["retry_after_s"] <= 600
        assert slow.counts()["battles"] == 0
        await waiting.close()
    finally:
        slow.stop()
    await eager.close()


async def test_a_second_tab_cannot_be_paired_twice(rules_service):
    # Two tabs of one player: while a pairing round sends its events, the second tab asks to join another pool.
    for round_ in range(5):
        ann = await Player(rules_service.url, f"ann{round_}").connect()
        ann_tab = await ann.another_tab()
        ben, cat = await Player(rules_service.url, f"ben{round_}").connect(), await Player(rules_service.url, f"cat{round_}").connect()
        assert (await cat.call("join_queue", {"pool": "hard"}))["ok"]
        assert (await ann.call("join_queue", {"pool": "easy"}))["ok"]
        acks = await asyncio.gather(ben.call("join_queue", {"pool": "easy"}), ann_tab.call("join_queue", {"pool": "hard"}))
        assert acks[0]["ok"]
        await asyncio.sleep(0.5)  # a pairing round or two
        matches = ann.pending("match_found")
        assert matches == 1, f"round {round_}: ann is in {matches} battles ({acks[1]})"
        assert acks[1]["ok"] is False and acks[1]["error"]["code"] in ("in_battle", "already_queued")
        for p in (ann, ann_tab, ben, cat):
            await p.close()


async def test_both_gone_aborts(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    await judged(p2, m1["battle_id"], "def nothing(): pass\n")
    await p1.close()
    await p2.close()
    await asyncio.sleep(GRACE_S + 1.5)
    [record] = history(rules_service, p1.name)
    assert record["result"] == "aborted" and record["rating_after"] == record["rating_before"]
    assert get_json(f"{rules_service.url}/api/users/{p2.name}")[1]["games"] == 0


async def test_forfeit_loses(rules_service):
    p1, p2, m1, _ = await battle(rules_service.url)
    await judged(p1, m1["battle_id"], "def nothing(): pass\n")  # somebody submitted: the forfeit is rated
    assert (await p2.call("forfeit", {"battle_id": m1["battle_id"]}))["ok"]
    done = await p1.expect("battle_complete")
    assert done["winner"] == p1.name and done["reason"] == "forfeit" and done["ranked"] is True
    assert all(r["before"] != r["after"] for r in done["ratings"])
    for p in (p1, p2):
        await p.close()


@pytest.mark.parametrize("passed_ann,passed_ben,winner", [(3, 1, "ann"), (2, 2, None)])
async def test_time_limit_most_tests_passed_wins(rules_service, passed_ann, passed_ben, winner):
    p1, p2, m1, _ = await battle(rules_service.url)
    bid, cid = m1["battle_id"], m1["challenge"]["id"]
    assert (await judged(p1, bid, partial(cid, passed_ann)))["passed"] == passed_ann
    assert (await judged(p2, bid, partial(cid, passed_ben)))["passed"] == passed_ben
    done = await p1.expect("battle_complete", timeout=TIME_LIMIT_S + 10)
    assert done["reason"] == "time_limit" and done["winner"] == (winner and p1.name)
    ratings = {r["name"]: r for r in done["ratings"]}
    if winner is None:
        assert ratings[p1.name]["after"] == ratings[p1.name]["before"]  # equal players draw: no change
    else:
        assert ratings[p1.name]["after"] > ratings[p1.name]["before"]
    for p in (p1, p2):
        await p.close()


async def test_countdown_refuses_early_submissions(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=30").start()
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
    _, info = get_json(f"{rules_service.url}/api/queue-info?name={lonely.name}")
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


async def play(x: Player, y: Player, *, submit: bool) -> dict:
    """x and y queue (ranked) and are matched; x submits (when ``submit``), then y forfeits."""
    for p in (x, y):
        assert (await p.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
    match = await x.expect("match_found")
    await y.expect("match_found")
    if submit:
        await judged(x, match["battle_id"], "def nothing(): pass\n")
    assert (await y.call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
    await y.expect("battle_complete")
    return await x.expect("battle_complete")


async def test_one_pair_gives_rating_points_at_most_k_times_a_day(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", "--DuelService.submit_cooldown_s=0",
                         "--DuelService.pair_rated_per_day=1", "--DuelService.match_interval_s=0.2").start()
    async with players_on(svc) as make:
        a, b, c, d = [await make(name) for name in ("pa", "pb", "pc", "pd")]
        assert (await play(a, b, submit=True))["ranked"] is True
        await play(a, c, submit=True)  # (no immediate rematch: both play somebody else first)
        await play(b, d, submit=True)
        again = await play(a, b, submit=True)
        assert again["winner"] == a.name and again["reason"] == "forfeit" and again["ranked"] is False
        assert all(r["before"] == r["after"] for r in again["ratings"])
        [latest, *_] = history(svc, b.name)
        assert latest["result"] == "loss" and latest["rating_after"] == latest["rating_before"]


async def test_repeated_early_exits_get_a_growing_queue_cooldown(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         "--DuelService.dodge_cooldown_s=600", "--DuelService.match_interval_s=0.2").start()
    async with players_on(svc) as make:
        dodger, foe1, foe2 = [await make(name) for name in ("dodger", "foe1", "foe2")]
        await play(foe1, dodger, submit=False)  # the first early exit of the day is free...
        await play(foe2, dodger, submit=False)  # ...the second closes the queue for a while
        error = await dodger.refused("join_queue", {"pool": "easy"}, "queue_cooldown")
        assert 590 < error["retry_after_s"] <= 600 and "2 battles" in error["message"]
        assert (await foe1.call("join_queue", {"pool": "easy"}))["ok"]  # the winners queue as before
