"""After the battle, with real clients: the review and replay record (both final codes, every submission with its
tests, each player's typing on a timeline), and the canned quick reactions between the two players."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from jupyter_duel_server.auth import Identity, IdentitySigner
from jupyter_duel_server.challenges import ChallengeLibrary

from helpers import get_json, judged, players_on, start_battle

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


def review_as(url: str, token: str | None):
    """GET a review with ``X-Duel-Identity: token``: (status, decoded JSON body)."""
    request = urllib.request.Request(url, headers={"X-Duel-Identity": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def identity_token(name: str, guest: bool, instructor: bool = False, secret: str = "test-secret") -> str:
    return IdentitySigner(secret).issue(Identity(name, guest, instructor=instructor))


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
    assert review["challenge_title"] == review["challenge"]["title"]
    assert review["duration_s"] == round(review["ended_at"] - review["started_at"], 1) and review["duration_s"] >= 0
    assert review["rating_deltas"] == [None if a is None else round(a - b, 1) for b, a in review["ratings"]]


async def test_a_tab_reads_a_review_as_its_own_player(service):
    """A tab sending its identity token is answered as that player: its players and instructors read the review,
    another guest is refused (403), a forged or garbled token is refused (401), and refusals change nothing."""
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "ana", "ben", ranked=False)
        bid = m1["battle_id"]
        url = f"{service.url}/api/battles/{bid}"
        # A player's token does not open a battle that is still running.
        assert review_as(url, identity_token("ana", guest=True))[0] == 404
        assert (await p2.call("forfeit", {"battle_id": bid}))["ok"]
        await p1.expect("battle_complete")
        before = service.counts()
        for name in ("ana", "ben"):
            status, review = review_as(url, identity_token(name, guest=True))
            assert status == 200 and review["battle_id"] == bid, review
        assert review_as(url, identity_token("teacher", guest=False, instructor=True))[0] == 200
        status, body = review_as(url, identity_token("cleo", guest=True))
        assert status == 403 and body["error"]["code"] == "not_in_battle"
        # The same display name outside the guest namespace is another account.
        assert review_as(url, identity_token("ana", guest=False))[0] == 403
        for token in (identity_token("ana", guest=True, secret="guessed"), "garbage", "a.b.c"):
            status, body = review_as(url, token)
            assert status == 401 and body["error"]["code"] == "auth_failed", body
        status, body = review_as(f"{service.url}/api/battles/nope", identity_token("ana", guest=True))
        assert status == 404 and body["error"]["code"] == "unknown_battle"
        assert service.counts() == before


async def test_the_review_holds_no_hidden_test(service):
    """Whatever was submitted (the reference solution, a wrong answer), the review of a battle never carries a
    hidden test's input or expected value: only the public view and each test's kind, verdict and time."""
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "hal", "ivy", ranked=False)
        bid = m1["battle_id"]
        challenge = LIBRARY.get(m1["challenge"]["id"])
        assert challenge.hidden
        wrong = await judged(p2, bid, f"def {challenge.function}(*args):\n    return None\n")
        right = await judged(p1, bid, challenge.reference)  # every test passes: the battle ends, p1 wins
        assert right["passed"] == right["total"] and wrong["passed"] < wrong["total"]
        assert (await p2.expect("battle_complete"))["winner"] == p1.name
        status, review = get_json(f"{service.url}/api/battles/{bid}")
    assert status == 200
    text = json.dumps(review)
    assert {t[0] for s in review["submissions"] for t in s["tests"]} == {"sample", "hidden"}
    # What the players may know anyway (the public view, the codes they wrote) cannot be told apart from a leak.
    public = json.dumps(challenge.public_view()) + challenge.reference + challenge.statement
    checked = 0
    for test in challenge.hidden:
        for value in (*test.args, test.expected):
            if value is None or isinstance(value, bool):
                continue  # true, false and null are in every review: they tell nothing apart
            forms = {repr(value), str(value), json.dumps(value, default=repr)}
            for form in forms:
                if len(form) >= 5 and form not in public:
                    checked += 1
                    # A whole token only: a hidden 10000 is not leaked by a timestamp 1796067921.9684284.
                    leaked = re.search(rf"(?<![\w.]){re.escape(form)}(?![\w.])", text)
                    assert not leaked, f"a hidden value ({form!r}) is in the review"
    assert checked >= 3, "the challenge's hidden values are too short to tell apart"


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
