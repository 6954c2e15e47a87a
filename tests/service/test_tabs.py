"""One tab plays a battle (docs/protocol.md § One tab plays): closing it starts the grace period, any other tab or
browser of the same identity resumes it with the code the service kept, and a second tab takes it over only by
asking. Real Socket.IO clients against a real service process."""

from __future__ import annotations

import asyncio

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess

GRACE_S = 30


@pytest.fixture
def tab_service(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         f"--DuelService.disconnect_grace_s={GRACE_S}", "--DuelService.match_interval_s=0.2").start()
    yield svc
    svc.stop()


async def casual_battle(url):
    """ann and ben are matched in a casual battle (live mirror); ann has typed a draft. Both sides' first
    connection asked for the battle, so each plays it."""
    ann, ben = await Player(url, "ann").connect(), await Player(url, "ben").connect()
    for p in (ann, ben):
        assert (await p.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
    m_ann, _ = await ann.expect("match_found"), await ben.expect("match_found")
    bid = m_ann["battle_id"]
    assert (await ann.call("sync_code", {"battle_id": bid, "seq": 1, "text": "def draft():\n    return 41\n"}))["ok"]
    assert (await ben.expect("opponent_code"))["seq"] == 1
    return ann, ben, m_ann


async def quiet(player: Player, event: str, wait: float = 0.5) -> bool:
    """Whether ``player`` receives no ``event`` in ``wait`` seconds."""
    await asyncio.sleep(wait)
    return player.pending(event) == 0


async def test_closing_the_tab_then_opening_another_resumes_with_the_draft(tab_service):
    ann, ben, m_ann = await casual_battle(tab_service.url)
    bid = m_ann["battle_id"]
    await ann.close()  # the tab is closed
    away = await ben.expect("opponent_status")
    assert away["connected"] is False and 0 < away["grace_s"] <= GRACE_S

    # A new tab (no token of its own): registered names the battle, which no tab plays, with a token.
    again = Player(tab_service.url, guest_key=ann.guest_key)
    await again.client.connect(tab_service.url, transports=["websocket"])
    registered = await again.register({"display_name": "ann"})
    assert registered["battle_id"] == bid and registered["resume_token"] and registered["battle_elsewhere"] is False
    assert await quiet(ben, "opponent_status"), "registering alone must not count as being back in the battle"
    assert (await again.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
    state = await again.expect("battle_state")
    assert state["your_code"] == "def draft():\n    return 41\n" and state["your_seq"] == 1
    assert (await ben.expect("opponent_status"))["connected"] is True
    # It plays on from where the service's copy stands.
    assert (await again.call("sync_code", {"battle_id": bid, "seq": 2, "text": "def draft():\n    return 42\n"}))["ok"]
    assert (await ben.expect("opponent_code"))["seq"] == 2
    for p in (again, ben):
        await p.close()


async def test_one_tab_plays_and_another_takes_over_only_by_resuming(tab_service):
    ann, ben, m_ann = await casual_battle(tab_service.url)
    bid = m_ann["battle_id"]
    second = await ann.another_tab()
    third = Player(tab_service.url, guest_key=ann.guest_key)
    await third.client.connect(tab_service.url, transports=["websocket"])
    assert (await third.register({"display_name": "ann"}))["battle_elsewhere"] is True

    # The tab that does not play: its edits and runs are refused and change nothing.
    err = await second.refused("sync_code", {"battle_id": bid, "seq": 2, "text": "stolen"}, "tab_inactive")
    assert "another tab" in err["message"]
    await second.refused("run_samples", {"battle_id": bid, "code": "x = 1\n"}, "tab_inactive")
    await second.refused("submit_code", {"battle_id": bid, "code": "x = 1\n"}, "tab_inactive")
    assert await quiet(ben, "opponent_code")

    # Taking it over: the playing tab is told, and its own edits are refused from then on.
    assert (await second.call("resume", {"resume_token": m_ann["resume_token"]}))["ok"]
    assert (await second.expect("battle_state"))["your_code"] == "def draft():\n    return 41\n"
    moved = await ann.expect("battle_elsewhere")
    assert moved == {"battle_id": bid, "open_elsewhere": True}
    await ann.refused("sync_code", {"battle_id": bid, "seq": 2, "text": "late"}, "tab_inactive")
    assert (await second.call("sync_code", {"battle_id": bid, "seq": 2, "text": "def s(): pass\n"}))["ok"]
    assert (await ben.expect("opponent_code"))["text"] == "def s(): pass\n"
    # The opponent never saw the player leave: one tab played at every moment.
    assert ben.pending("opponent_status") == 0

    # Closing a tab that does not play changes nothing; closing the one that does starts the grace period,
    # and the tabs left hear that nobody plays the battle now.
    await third.close()
    assert await quiet(ben, "opponent_status")
    await second.close()
    assert (await ben.expect("opponent_status"))["connected"] is False
    assert await ann.expect("battle_elsewhere") == {"battle_id": bid, "open_elsewhere": False}
    assert (await ann.call("resume", {"resume_token": m_ann["resume_token"]}))["ok"]
    assert (await ben.expect("opponent_status"))["connected"] is True
    # Forfeiting is accepted from any tab.
    fourth = await ann.another_tab()
    assert (await fourth.call("forfeit", {"battle_id": bid}))["ok"]
    assert (await ben.expect("battle_complete"))["reason"] == "forfeit"
    for p in (ann, ben, fourth):
        await p.close()


async def test_match_found_goes_to_the_tab_that_queued(tab_service):
    ann = await Player(tab_service.url, "ann").connect()
    idle = await ann.another_tab()
    ben = await Player(tab_service.url, "ben").connect()
    for p in (ann, ben):
        assert (await p.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
    found = await ann.expect("match_found")
    elsewhere = await idle.expect("battle_elsewhere")
    assert elsewhere == {"battle_id": found["battle_id"], "open_elsewhere": True}
    assert idle.pending("match_found") == 0
    assert found["max_code_bytes"] == 51_200
    for p in (ann, idle, ben):
        await p.close()


async def test_another_player_cannot_take_a_battle_over(tab_service):
    ann, ben, m_ann = await casual_battle(tab_service.url)
    eve = await Player(tab_service.url, "eve").connect()
    await eve.refused("resume", {"resume_token": m_ann["resume_token"]}, "bad_resume_token")
    await eve.refused("sync_code", {"battle_id": m_ann["battle_id"], "seq": 2, "text": "x"}, "not_in_battle")
    assert ann.pending("battle_elsewhere") == 0 and ben.pending("opponent_status") == 0
    for p in (ann, ben, eve):
        await p.close()
