"""After the battle, with real clients: the review and replay record (both final codes, every submission with its
tests, each player's typing on a timeline), and the canned quick reactions between the two players."""

from __future__ import annotations

from helpers import get_json, judged, players_on, start_battle


async def test_a_finished_battle_keeps_its_review_and_replay(service):
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "rey", "sol", ranked=False)
        bid = m1["battle_id"]
        assert get_json(f"{service.url}/api/battles/{bid}")[0] == 404  # not while it runs
        edits = [{"text": "def f():\n"}, {"delta": [{"retain": 9}, {"insert": "    return 1\n"}]}]
        for seq, body in enumerate(edits, start=1):
            assert (await p1.call("sync_code", {"battle_id": bid, "seq": seq, **body}))["ok"]
        await judged(p1, bid, "def f():\n    return 1\n")
        assert (await p2.call("forfeit", {"battle_id": bid}))["ok"]
        await p1.expect("battle_complete")
        status, review = get_json(f"{service.url}/api/battles/{bid}")
        assert get_json(f"{service.url}/api/battles/nope")[0] == 404
    assert status == 200
    assert review["players"] == [p1.name, p2.name] and review["display_names"] == ["rey", "sol"]
    assert review["winner"] == p1.name and review["reason"] == "forfeit"
    assert review["codes"] == ["def f():\n    return 1\n", ""]
    assert review["challenge"]["id"] == m1["challenge"]["id"] and "hidden" not in review["challenge"]
    timeline = review["timelines"][0]
    assert [e[1] for e in timeline] == [1, 2] and timeline[0][3] == "def f():\n" and timeline[1][2] == edits[1]["delta"]
    assert all(0 <= e[0] < 60 for e in timeline) and review["timelines"][1] == []
    [sub] = review["submissions"]
    assert sub["player"] == p1.name and sub["code"] == "def f():\n    return 1\n" and not sub["samples_only"]
    assert len(sub["tests"]) == sub["total"] and all(len(t) == 4 for t in sub["tests"])


async def test_quick_reactions_are_canned_and_paced(service):
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "kai", "lin", ranked=False)
        bid = m1["battle_id"]
        outsider = await make("eve")
        assert (await p1.call("react", {"battle_id": bid, "reaction": "good_luck"}))["ok"]
        for p in (p1, p2):
            assert await p.expect("reaction") == {"battle_id": bid, "player": p1.name, "reaction": "good_luck"}
        await p1.refused("react", {"battle_id": bid, "reaction": "good_luck"}, "cooldown")
        await p2.refused("react", {"battle_id": bid, "reaction": "you are bad"}, "invalid_payload")
        await outsider.refused("react", {"battle_id": bid, "reaction": "nice_one"}, "not_in_battle")
        await outsider.refused("react", {"battle_id": "nope", "reaction": "nice_one"}, "unknown_battle")
        assert (await p1.call("forfeit", {"battle_id": bid}))["ok"]
        await p2.expect("battle_complete")
        # After the end, for a while: "well played".
        assert (await p2.call("react", {"battle_id": bid, "reaction": "well_played"}))["ok"]
        assert (await p1.expect("reaction"))["reaction"] == "well_played"
        assert outsider.pending("reaction") == 0
