"""Running a class with real clients: an instructor watches the room, spectates at full fidelity, sets the
class's challenge, pairs two players, aborts with a reason and exports the results; students challenge each
other and rematch. Students cannot do any of the instructor's part."""

from __future__ import annotations

import csv
import io
import urllib.request

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess, judged, players_on
from jupyter_duel_server.auth import Identity, IdentitySigner
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
INSTRUCTOR_EVENTS = [
    ("watch_room", {}), ("spectate", {"battle_id": "x"}), ("class_settings", {"pack": None}),
    ("pair_players", {"first": "guest:a", "second": "guest:b"}), ("abort_battle", {"battle_id": "x", "reason": "r"}),
]


def token(name: str, instructor: bool = False) -> str:
    return IdentitySigner("test-secret").issue(Identity(name, False, instructor=instructor))


async def teacher(url: str) -> Player:
    player = Player(url)
    await player.client.connect(url, transports=["websocket"])
    registered = await player.register({"token": token("teach", instructor=True)})
    assert registered["instructor"] is True
    return player


async def next_room(player: Player, predicate, timeout: float = 10.0) -> dict:
    """The first ``room_state`` that satisfies ``predicate``."""
    while True:
        state = await player.expect("room_state", timeout)
        if predicate(state):
            return state


def csv_rows(url: str, auth: str | None) -> tuple[int, list[dict]]:
    request = urllib.request.Request(url + "/api/class/results.csv")
    if auth:
        request.add_header("Authorization", f"token {auth}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, list(csv.DictReader(io.StringIO(response.read().decode())))
    except urllib.error.HTTPError as err:
        return err.code, []


@pytest.fixture
def class_service(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         "--DuelService.match_interval_s=0.2").start()
    yield svc
    svc.stop()


async def test_students_cannot_run_the_class(class_service):
    async with players_on(class_service) as make:
        student = await make("stu")
        before = class_service.counts()
        for event, payload in INSTRUCTOR_EVENTS:
            await student.refused(event, payload, "not_instructor")
        # An identity token a student could get names no instructor: only the service's secret signs one.
        forged = IdentitySigner("guessed").issue(Identity("stu2", False, instructor=True))
        await student.refused("register_user", {"token": forged}, "auth_failed")
        assert class_service.counts() == before
        assert csv_rows(class_service.url, None)[0] == 403
        assert csv_rows(class_service.url, token("stu3"))[0] == 403


async def test_instructor_watches_spectates_pairs_aborts_and_exports(class_service):
    url = class_service.url
    async with players_on(class_service) as make:
        inst = await teacher(url)
        try:
            assert (await inst.call("watch_room", {}))["ok"]
            first = await inst.expect("room_state")
            assert first["battles"] == [] and first["packs"]
            ann, ben, cy, dee = [await make(n) for n in ("ann", "ben", "cy", "dee")]
            # The class on one challenge: every new battle plays it.
            chosen = LIBRARY.all()[3]
            assert (await inst.call("class_settings", {"challenge_id": chosen.id}))["ok"]
            await inst.refused("class_settings", {"challenge_id": "nope"}, "unknown_challenge")
            await inst.refused("class_settings", {"pack": "nope"}, "unknown_pack")
            for p in (ann, ben):
                assert (await p.call("join_queue", {"pool": "any"}))["ok"]
            match = await ann.expect("match_found")
            await ben.expect("match_found")
            assert match["challenge"]["id"] == chosen.id and match["mirror"]["mode"] == "shape"
            bid = match["battle_id"]
            state = await next_room(inst, lambda s: len(s["battles"]) == 1)
            [row] = state["battles"]
            assert {p["display_name"] for p in row["players"]} == {"ann", "ben"}
            assert row["challenge_id"] == chosen.id and row["total_tests"] == len(chosen.samples) + len(chosen.hidden)
            assert state["challenge_id"] == chosen.id

            # Spectating: both codes at full fidelity, though the players see outlines only.
            assert (await inst.call("spectate", {"battle_id": bid}))["ok"]
            view = await inst.expect("spectate_state")
            assert view["mirror"] == "shape" and [c["code"] for c in view["codes"]] == ["", ""]
            assert (await ann.call("sync_code", {"battle_id": bid, "seq": 1, "text": "def f():\n    return 1\n"}))["ok"]
            seen = await inst.expect("spectator_code")
            assert seen == {"battle_id": bid, "player": ann.name, "seq": 1, "delta": None,
                            "text": "def f():\n    return 1\n"}
            await judged(ben, bid)
            result = await inst.expect("submission_result", timeout=60)
            assert result["player"] == ben.name and result["message"] is None
            state = await next_room(inst, lambda s: any(p["submissions"] for b in s["battles"] for p in b["players"]))
            assert any(p["submissions"] == 1 and p["name"] == ben.name for p in state["battles"][0]["players"])

            # Pairing two named players, then aborting their battle with a reason.
            await inst.refused("pair_players", {"first": cy.name, "second": "guest:nobody"}, "unknown_player")
            await inst.refused("pair_players", {"first": cy.name, "second": ann.name}, "player_busy")
            assert (await inst.call("pair_players", {"first": cy.name, "second": dee.name}))["ok"]
            paired = await cy.expect("match_found")
            assert paired["opponent"]["name"] == dee.name and paired["challenge"]["id"] == chosen.id
            await dee.expect("match_found")
            assert (await inst.call("abort_battle", {"battle_id": paired["battle_id"], "reason": "wrong room"}))["ok"]
            for p in (cy, dee):
                done = await p.expect("battle_complete")
                assert done["reason"] == "aborted" and done["note"] == "wrong room" and done["ranked"] is False
            await inst.refused("abort_battle", {"battle_id": paired["battle_id"], "reason": "again"}, "battle_over")

            # The first battle ends; the spectator hears of it; the export has both battles.
            assert (await ann.call("forfeit", {"battle_id": bid}))["ok"]
            assert (await inst.expect("battle_complete"))["battle_id"] == bid
            status, rows = csv_rows(url, token("teach", instructor=True))
            assert status == 200 and [r["battle_id"] for r in rows] == [paired["battle_id"], bid]
            assert rows[0]["note"] == "wrong room" and rows[0]["status"] == "aborted"
            assert rows[1]["winner"] == ben.name and rows[1]["challenge_title"] == chosen.title
            await next_room(inst, lambda s: s["battles"] == [])
        finally:
            await inst.close()


async def test_challenges_and_rematches(class_service):
    async with players_on(class_service) as make:
        ann, ben, cy = [await make(n) for n in ("ann", "ben", "cy")]
        await ann.refused("challenge_player", {"name": "guest:nobody"}, "unknown_player")
        await ann.refused("challenge_player", {"name": ann.name}, "unknown_player")
        assert (await ann.call("challenge_player", {"name": ben.name, "pool": "easy"}))["ok"]
        offer = await ben.expect("challenge_offer")
        assert offer["status"] == "offered" and offer["challenger"]["name"] == ann.name
        assert (await ann.expect("challenge_offer"))["offer_id"] == offer["offer_id"]
        await ann.refused("challenge_player", {"name": ben.name}, "player_busy")  # one open offer per pair
        await ann.refused("answer_challenge", {"offer_id": offer["offer_id"], "accept": True}, "unknown_offer")
        assert (await ben.call("answer_challenge", {"offer_id": offer["offer_id"], "accept": True}))["ok"]
        assert (await ann.expect("challenge_offer"))["status"] == "accepted"
        match = await ann.expect("match_found")
        assert match["opponent"]["name"] == ben.name and match["challenge"]["difficulty"] == "easy"
        await ben.expect("match_found")
        await cy.refused("challenge_player", {"name": ann.name}, "player_busy")
        assert (await ann.call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
        await ben.expect("battle_complete")

        # A rematch: the same two, straight away (the queue alone would not pair them again yet).
        assert (await ben.call("challenge_player", {"name": ann.name}))["ok"]
        rematch = await ann.expect("challenge_offer")
        while rematch["status"] != "offered":
            rematch = await ann.expect("challenge_offer")
        assert (await ann.call("answer_challenge", {"offer_id": rematch["offer_id"], "accept": True}))["ok"]
        again = await ben.expect("match_found")
        assert again["opponent"]["name"] == ann.name and again["battle_id"] != match["battle_id"]
        assert (await ben.call("forfeit", {"battle_id": again["battle_id"]}))["ok"]

        # Declined, and cancelled when the challenger leaves.
        assert (await cy.call("challenge_player", {"name": ann.name}))["ok"]
        declined = [await ann.expect("challenge_offer") for _ in range(1)][-1]
        while declined["challenger"]["name"] != cy.name:
            declined = await ann.expect("challenge_offer")
        assert (await ann.call("answer_challenge", {"offer_id": declined["offer_id"], "accept": False}))["ok"]
        statuses = []
        while "declined" not in statuses:
            statuses.append((await cy.expect("challenge_offer"))["status"])
        assert (await cy.call("challenge_player", {"name": ben.name}))["ok"]
        pending = await ben.expect("challenge_offer")
        while pending["challenger"]["name"] != cy.name or pending["status"] != "offered":
            pending = await ben.expect("challenge_offer")
        await cy.close()
        cancelled = await ben.expect("challenge_offer")
        assert cancelled["offer_id"] == pending["offer_id"] and cancelled["status"] == "cancelled"


async def test_the_only_two_in_the_room_meet_again(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", "--DuelService.match_interval_s=0.2",
                         "--Matchmaker.rematch_after_s=1").start()
    async with players_on(svc) as make:
        ann, ben = await make("ann"), await make("ben")
        for _ in range(2):
            for p in (ann, ben):
                assert (await p.call("join_queue", {"pool": "easy"}))["ok"]
            match = await ann.expect("match_found", timeout=10)
            await ben.expect("match_found")
            assert (await ann.call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
            await ben.expect("battle_complete")
            await ann.expect("battle_complete")


async def test_malformed_class_and_challenge_events_change_nothing(class_service):
    url = class_service.url
    async with players_on(class_service) as make:
        inst = await teacher(url)
        try:
            student = await make("stu")
            before = class_service.counts()
            malformed = [
                ("react", {"battle_id": "x", "reaction": 3}), ("react", {"battle_id": "x"}),
                ("challenge_player", {"name": ""}), ("challenge_player", {"name": "a", "ranked": "yes"}),
                ("answer_challenge", {"offer_id": "o"}), ("answer_challenge", {"offer_id": "o", "accept": 1}),
                ("watch_room", {"watch": "no"}), ("spectate", {}), ("spectate", {"battle_id": "x", "extra": 1}),
                ("class_settings", {"pack": 5}), ("pair_players", {"first": "a"}),
                ("abort_battle", {"battle_id": "x", "reason": ""}), ("abort_battle", {"battle_id": "x", "reason": "r" * 201}),
            ]
            for player in (student, inst):
                for event, payload in malformed:
                    await player.refused(event, payload, "invalid_payload")
            await inst.refused("spectate", {"battle_id": "nope"}, "unknown_battle")
            await inst.refused("abort_battle", {"battle_id": "nope", "reason": "r"}, "unknown_battle")
            await inst.refused("pair_players", {"first": student.name, "second": student.name}, "unknown_player")
            assert class_service.counts() == before and class_service.alive()
        finally:
            await inst.close()
