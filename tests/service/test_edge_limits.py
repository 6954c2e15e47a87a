"""Rate limits, the judge's cooldown and the one code-size limit, against a real service process."""

from __future__ import annotations

import pytest

from edge_clients import settled, tracebacks
from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, players_on, start_battle
from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server.service import DuelService

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
WRONG = "def {fn}(*args):\n    return None\n"


def serve(tmp_path, *args, config: str = "") -> ServiceProcess:
    options = [*RATED_GUESTS, "--DuelService.countdown_s=0", *args]
    if config:
        path = tmp_path / "jupyter_duel_config.py"
        path.write_text(config)
        options.append(f"--config={path}")
    return ServiceProcess(tmp_path, *options).start()


@pytest.fixture
def limited(tmp_path):
    # One event per 100 s after a burst: nothing refills while the test runs.
    config = 'c.DuelService.rate_limits = {"lobby": [0.01, 3], "other": [0.01, 3], "sync": [0.01, 2]}\n'
    svc = serve(tmp_path, config=config)
    yield svc
    svc.stop()


async def test_rate_limits_per_connection_and_per_player(limited):
    url = limited.url
    made = []

    async def make(name):
        made.append(await Player(url, name).connect())
        return made[-1]

    try:
        ann = await make("ann")
        for _ in range(3):
            await ann.refused("leave_queue", {}, "not_queued")
        error = await ann.refused("join_queue", {}, "rate_limited")
        assert 0 < error["retry_after_s"] <= 100 and "retry" in error["message"]
        # Refused by the limit means not done: ann is not waiting.
        assert get_json(f"{url}/api/queue-info")[1]["waiting"] == 0

        # The same player in another tab shares the player's bucket; another player does not.
        ann_tab = await ann.another_tab()
        made.append(ann_tab)
        await ann_tab.refused("leave_queue", {}, "rate_limited")
        bob = await make("bob")
        assert (await bob.call("join_queue", {}))["ok"]
        await bob.expect("queue_update")

        # Before registering, a connection has its own buckets; here for unknown events ("other").
        anon = await make(None)
        for _ in range(3):
            await anon.refused("no_such_event", {}, "unknown_event")
        error = await anon.refused("no_such_event", {}, "rate_limited")
        assert error["retry_after_s"] > 0
        # Other classes are counted apart.
        assert (await anon.call("register_user", {"display_name": "cy"}))["ok"]
    finally:
        for player in made:
            await player.close()


async def test_rate_limited_edits_are_not_relayed(limited):
    url = limited.url
    p1, p2 = await Player(url, "ed").connect(), await Player(url, "flo").connect()
    for p in (p1, p2):
        assert (await p.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
    battle_id = (await p1.expect("match_found"))["battle_id"]
    await p2.expect("match_found")
    assert (await p1.call("sync_code", {"battle_id": battle_id, "seq": 1, "text": "a"}))["ok"]
    assert (await p1.call("sync_code", {"battle_id": battle_id, "seq": 2, "text": "ab"}))["ok"]
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 3, "text": "abc"}, "rate_limited")
    assert [(await p2.expect("opponent_code"))["text"] for _ in range(2)] == ["a", "ab"]
    # The opponent's own edits are not limited by ed's bucket.
    assert (await p2.call("sync_code", {"battle_id": battle_id, "seq": 1, "text": "z"}))["ok"]
    assert (await p1.expect("opponent_code"))["text"] == "z"
    assert p2.pending("opponent_code") == 0
    await p1.close()
    await p2.close()
    assert tracebacks(await settled(limited.log_lines)) == []


async def test_submit_and_run_samples_cooldowns(tmp_path):
    svc = serve(tmp_path, "--DuelService.submit_cooldown_s=600", "--DuelService.run_samples_cooldown_s=300")
    async with players_on(svc) as make:
        p1, p2, m1, _ = await start_battle(make)
        battle_id, fn = m1["battle_id"], m1["challenge"]["function"]
        wrong = WRONG.format(fn=fn)
        assert (await p1.call("submit_code", {"battle_id": battle_id, "code": wrong}))["ok"]
        await p1.expect("submission_result", timeout=60)
        before = svc.counts()
        error = await p1.refused("submit_code", {"battle_id": battle_id, "code": wrong}, "cooldown")
        assert 0 < error["retry_after_s"] <= 600
        assert svc.counts() == before
        # run_samples has its own cooldown, so it still runs once.
        assert (await p1.call("run_samples", {"battle_id": battle_id, "code": wrong}))["ok"]
        while (await p1.expect("submission_result", timeout=60))["samples_only"] is not True:
            pass
        error = await p1.refused("run_samples", {"battle_id": battle_id, "code": wrong}, "cooldown")
        assert 0 < error["retry_after_s"] <= 300
        # The cooldown is the player's: the opponent submits.
        assert (await p2.call("submit_code", {"battle_id": battle_id, "code": wrong}))["ok"]


def padded(code: str, size: int) -> str:
    """``code`` with a comment of two-byte and one-byte characters, ``size`` bytes of UTF-8 in all."""
    head = code.rstrip("\n") + "\n# "
    room = size - len(head.encode()) - 1
    text = head + "é" * (room // 2) + "x" * (room % 2) + "\n"
    assert len(text.encode()) == size
    return text


@pytest.mark.parametrize("limit", [None, 80_000], ids=["default", "configured"])
async def test_one_code_size_limit_for_service_and_judge(tmp_path, limit):
    args = [] if limit is None else [f"--DuelService.max_code_bytes={limit}"]
    limit = limit or DuelService.class_traits()["max_code_bytes"].default_value
    svc = serve(tmp_path, *args)
    async with players_on(svc) as make:
        p1, p2, m1, _ = await start_battle(make)
        battle_id = m1["battle_id"]
        code = padded(LIBRARY.get(m1["challenge"]["id"]).reference, limit)
        before = svc.counts()
        await p1.refused("submit_code", {"battle_id": battle_id, "code": code + "x"}, "code_too_large")
        await p1.refused("run_samples", {"battle_id": battle_id, "code": code + "x"}, "code_too_large")
        assert svc.counts() == before
        # Exactly the limit is a submission like any other: the judge runs it (it passes every test).
        assert (await p1.call("submit_code", {"battle_id": battle_id, "code": code}))["ok"]
        result = await p1.expect("submission_result", timeout=60)
        assert result["verdict"] == "AC" and result["passed"] == result["total"], result
        assert (await p2.expect("battle_complete"))["winner"] == p1.name
