"""Battles survive a crash of the service (SIGKILL): real service processes on one database, real Socket.IO
clients. Running battles are carried on as last flushed, the clock does not count the downtime, a run in flight
is lost and not counted, and a battle's result and ratings are stored exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server.rating import PlayerRating
from jupyter_duel_server.store import LOST_VERDICT, Store

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, judged, start_battle

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())

FLUSH_S = 0.3  # the service's state_flush_interval_s in these tests


def db_rows(svc: ServiceProcess, sql: str, *args) -> list[tuple]:
    """Rows of ``sql`` on the service's SQLite database (read from another process, as an operator would)."""
    with sqlite3.connect(svc.db_path) as db:
        return db.execute(sql, args).fetchall()


def flushed_seq(svc: ServiceProcess, name: str) -> int | None:
    rows = db_rows(svc, "SELECT live_seats.seq FROM live_seats JOIN users ON users.id = live_seats.user_id "
                        "WHERE users.name = ?", name)
    return rows[0][0] if rows else None


async def until(condition, what: str, timeout: float = 30.0):
    """Wait until ``condition()`` is true (polled); fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.1)


async def back(svc: ServiceProcess, old: Player) -> tuple[Player, dict]:
    """``old``'s browser reconnects to the restarted service and registers again: (player, ``registered``)."""
    player = Player(svc.url, old.display_name, guest_key=old.guest_key)
    await player.client.connect(svc.url, transports=["websocket"])
    registered = await player.register({"display_name": old.display_name})
    return player, registered


async def own_result(player: Player, submission_id: int) -> dict:
    while True:
        result = await player.expect("submission_result", timeout=60)
        if result["submission_id"] == submission_id:
            return result


def ratings_on_board(svc: ServiceProcess) -> dict[str, float]:
    _, board = get_json(svc.url + "/api/leaderboard")
    return {p["name"]: p["rating"] for p in board["players"]}


def battles_of(svc: ServiceProcess, name: str, battle_id: str) -> list[dict]:
    _, history = get_json(svc.url + f"/api/users/{name}/battles")
    return [b for b in history["battles"] if b["battle_id"] == battle_id]


async def test_a_killed_service_carries_the_battle_on(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         f"--DuelService.state_flush_interval_s={FLUSH_S}").start()
    made: list[Player] = []

    async def make(name: str) -> Player:
        made.append(await Player(svc.url, name).connect())
        return made[-1]

    try:
        alice, bob, m1, _ = await start_battle(make, "alice", "bob", ranked=True)
        bid = m1["battle_id"]
        challenge = LIBRARY.get(m1["challenge"]["id"])
        first = f"def {challenge.function}(*args):\n"
        alice_code = first + "    return None\n"
        edits = [{"text": first}, {"delta": [{"retain": len(first)}, {"insert": "    return None\n"}]}]
        for seq, body in enumerate(edits, start=1):
            assert (await alice.call("sync_code", {"battle_id": bid, "seq": seq, **body}))["ok"]
        ack = await alice.call("run_samples", {"battle_id": bid, "code": alice_code})
        assert ack["ok"]
        samples = await own_result(alice, ack["submission_id"])
        failing = await judged(bob, bid)  # a submission that counts, and fails
        assert failing["passed"] < failing["total"]
        bob_code = "def nothing():\n    pass\n"
        for seq, text in enumerate(["def nothing():\n", bob_code], start=1):
            assert (await bob.call("sync_code", {"battle_id": bid, "seq": seq, "text": text}))["ok"]
        # Bob's last edit reaches the store through the background flusher, without any judged run.
        await until(lambda: flushed_seq(svc, bob.name) == 2, "bob's edit flushed")
        # Alice's third edit is flushed by her submit_code (before it is accepted), whose run never ends.
        alice_code += "# spinning\n"
        assert (await alice.call("sync_code", {"battle_id": bid, "seq": 3, "text": alice_code}))["ok"]
        spinning = f"def {challenge.function}(*args):\n    while True:\n        pass\n"
        in_flight = await alice.call("submit_code", {"battle_id": bid, "code": spinning})
        assert in_flight["ok"]
        remaining_at_kill = m1["deadline"] - time.time()
        svc.kill()
        for p in made:
            await p.close()
        await asyncio.sleep(6)  # downtime the clock must not count

        svc.restart()
        listening = time.monotonic()
        alice, registered = await back(svc, alice)
        # The token registered issues verifies, and so does the one from match_found (same secret).
        assert registered["battle_id"] == bid and registered["resume_token"]
        assert (await alice.call("resume", {"resume_token": m1["resume_token"]}))["ok"]
        state = await alice.expect("battle_state")
        elapsed = time.monotonic() - listening
        assert state["your_code"] == alice_code and state["your_seq"] == 3
        remaining = state["deadline"] - state["server_time"]
        # As at the kill: given back everything after the last heartbeat (at most one flush interval before the
        # kill), minus the time the battle has run since the restart.
        assert remaining_at_kill - elapsed - 1.0 <= remaining <= remaining_at_kill + FLUSH_S + 0.5
        ours = {r["submission_id"]: r for r in state["your_submissions"]}
        assert ours[ack["submission_id"]] == samples  # the sample run, as its author saw it (message included)
        lost = ours[in_flight["submission_id"]]
        assert lost["verdict"] == LOST_VERDICT and "not counted" in lost["message"] and lost["passed"] == 0
        assert state["opponent_submissions"] == 1 and state["opponent_best_passed"] == failing["passed"]
        assert state["opponent_connected"] is False  # both are away until they resume
        status = await alice.expect("opponent_status")
        assert status["connected"] is False and 0 < status["grace_s"] <= 60
        assert state["opponent_shape"]["chars"] == len(bob_code)  # the ranked mirror: outlines, as before

        bob, registered = await back(svc, bob)
        assert (await bob.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
        state = await bob.expect("battle_state")
        assert state["your_code"] == bob_code and state["your_seq"] == 2
        assert [r["submission_id"] for r in state["your_submissions"]] == [failing["submission_id"]]
        assert state["your_submissions"][0]["verdict"] == failing["verdict"]
        # His latest run's tests, as he saw them: flushed with his edits after the run (made once per result).
        assert {t["submission_id"] for t in state["your_tests"]} == {failing["submission_id"]}
        assert sum(t["passed"] for t in state["your_tests"]) == failing["passed"]
        assert state["opponent_submissions"] == 0  # alice's lost run does not count
        assert state["opponent_connected"] is True
        assert (await alice.expect("opponent_status"))["connected"] is True

        # An edit from before the restart, replayed (a hostile or confused client), changes nothing.
        await alice.refused("sync_code", {"battle_id": bid, "seq": 3, "text": "stolen"}, "out_of_sync")
        # They carry on: an edit follows the restored seq, and the reference solution wins.
        assert (await bob.call("sync_code", {"battle_id": bid, "seq": 3, "text": bob_code + "\n"}))["ok"]
        await judged(alice, bid, challenge.reference)
        done = await alice.expect("battle_complete")
        assert done == await bob.expect("battle_complete")
        assert done["winner"] == alice.name and done["reason"] == "solved" and done["ranked"] is True
        after = {r["name"]: r["after"] for r in done["ratings"]}
        assert ratings_on_board(svc) == after
        for p in (alice, bob):
            [row] = battles_of(svc, p.name, bid)  # one battle, stored once
            assert row["result"] == ("win" if p is alice else "loss")
            _, profile = get_json(svc.url + f"/api/users/{p.name}")
            assert profile["games"] == 1
        _, review = get_json(svc.url + f"/api/battles/{bid}")
        verdicts = [s["verdict"] for s in review["submissions"]]
        assert verdicts.count(LOST_VERDICT) == 1 and verdicts[-1] == "AC"
        # The replay has the typing from before the crash (flushed) and after.
        assert [e[1] for e in review["timelines"][review["players"].index(bob.name)]] == [1, 2, 3]
        assert db_rows(svc, "SELECT COUNT(*) FROM live_battles") == [(0,)]
        assert db_rows(svc, "SELECT COUNT(*) FROM live_seats") == [(0,)]
        for p in (alice, bob):
            await p.close()
    finally:
        svc.stop()


async def test_killed_right_after_battle_complete_the_result_counts_once(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    made: list[Player] = []

    async def make(name: str) -> Player:
        made.append(await Player(svc.url, name).connect())
        return made[-1]

    try:
        alice, bob, m1, m2 = await start_battle(make, "alice", "bob", ranked=True)
        bid = m1["battle_id"]
        await judged(bob, bid)  # somebody submitted: the forfeit is rated
        assert (await alice.call("forfeit", {"battle_id": bid}))["ok"]
        done = await alice.expect("battle_complete")
        svc.kill()  # finish_battle committed before battle_complete was sent
        for p in made:
            await p.close()

        svc.restart()
        after = {r["name"]: r["after"] for r in done["ratings"]}
        assert after[bob.name] > after[alice.name]
        assert ratings_on_board(svc) == after
        for p, match in ((alice, m1), (bob, m2)):
            again, registered = await back(svc, p)
            assert registered["battle_id"] is None  # nothing carried on
            await again.refused("resume", {"resume_token": match["resume_token"]}, "battle_over")
            [row] = battles_of(svc, p.name, bid)
            assert row["result"] == ("loss" if p is alice else "win") and row["reason"] == "forfeit"
            _, profile = get_json(svc.url + f"/api/users/{p.name}")
            assert profile["games"] == 1
            await again.close()
        assert db_rows(svc, "SELECT COUNT(*) FROM live_battles") == [(0,)]
    finally:
        svc.stop()


def test_finish_battle_is_one_transaction(tmp_path):
    """A failure inside finish_battle (as a crash midway) leaves the battle running, its live rows and both
    ratings as they were; the finish that commits applies everything at once, and only once."""
    store = Store(f"sqlite:///{tmp_path / 'duel.sqlite'}", PlayerRating(1500.0, 350.0, 0.06, 0, None))
    try:
        a, b = store.get_or_create_user("ann"), store.get_or_create_user("ben")
        store.create_battle("b1", "c", a, b, True, time.time(), "live", time_limit_s=600)

        def crash(*ratings):
            raise RuntimeError("the process died here")

        with pytest.raises(RuntimeError):
            store.finish_battle("b1", status="finished", winner_id=a.id, reason="solved", ended_at=time.time(),
                                rate=crash, timelines=[(a.id, "x", [])])
        assert store.user_battles("ann")[0]["result"] == "running"
        assert store.get_user("ann").rating == 1500.0 and store.get_user("ann").games == 0
        [live] = store.take_over_live_battles(time.time())  # still there for a restart to carry on
        assert live["battle_id"] == "b1"

        def win(x: PlayerRating, y: PlayerRating):
            return (PlayerRating(x.rating + 10, x.rd, x.volatility, x.games + 1, 1.0),
                    PlayerRating(y.rating - 10, y.rd, y.volatility, y.games + 1, 1.0))

        store.finish_battle("b1", status="finished", winner_id=a.id, reason="solved", ended_at=time.time(), rate=win)
        assert store.get_user("ann").rating == 1510.0 and store.get_user("ann").wins == 1
        assert store.take_over_live_battles(time.time()) == []  # ended: nothing to carry on
        with pytest.raises(ValueError):
            store.finish_battle("b1", status="finished", winner_id=a.id, reason="solved", ended_at=time.time(),
                                rate=win)
        assert store.get_user("ann").rating == 1510.0 and store.get_user("ben").losses == 1
    finally:
        store.close()


async def test_downtime_past_the_deadline_and_players_who_never_come_back(tmp_path):
    limit_s = 12
    options = [*RATED_GUESTS, "--DuelService.countdown_s=0", f"--DuelService.state_flush_interval_s={FLUSH_S}",
               *(f"--DuelService.time_limits={d}={limit_s}" for d in ("easy", "medium", "hard"))]
    svc = ServiceProcess(tmp_path, *options).start()
    made: list[Player] = []

    async def make(name: str) -> Player:
        made.append(await Player(svc.url, name).connect())
        return made[-1]

    try:
        alice, bob, m1, _ = await start_battle(make, "alice", "bob", pool="any", ranked=False)
        carol, dave, m3, _ = await start_battle(make, "carol", "dave", pool="any", ranked=False)
        await until(lambda: db_rows(svc, "SELECT MIN(alive_at) FROM live_battles")[0][0] > time.time() - 1,
                    "a heartbeat for both battles")
        svc.kill()
        killed_at = time.time()
        for p in made:
            await p.close()
        await asyncio.sleep(max(m1["deadline"], m3["deadline"]) - time.time() + 2)  # both deadlines pass meanwhile
        assert time.time() > m1["deadline"] and time.time() > m3["deadline"]

        svc.args = (*options, "--DuelService.disconnect_grace_s=8")
        svc.restart()
        players = []
        for old in (alice, bob):
            p, registered = await back(svc, old)
            assert registered["battle_id"] == m1["battle_id"]  # still running
            assert (await p.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
            state = await p.expect("battle_state")
            assert 0 < state["deadline"] - state["server_time"] <= m1["deadline"] - killed_at + FLUSH_S + 0.5
            players.append(p)
        # Carol and dave never come back: both away for the grace period, their battle is aborted unrated.
        await until(lambda: battles_of(svc, carol.name, m3["battle_id"])[0]["result"] == "aborted",
                    "carol and dave's battle aborted by the grace rule")
        [row] = battles_of(svc, dave.name, m3["battle_id"])
        assert row["reason"] == "aborted" and row["rating_after"] == row["rating_before"]
        # Alice and bob's clock, re-armed by the restart, runs out: nobody solved it, a draw.
        for p in players:
            done = await p.expect("battle_complete", timeout=limit_s + 10)
            assert done["battle_id"] == m1["battle_id"] and done["reason"] == "time_limit" and done["winner"] is None
        assert db_rows(svc, "SELECT COUNT(*) FROM live_battles") == [(0,)]
        for p in players:
            await p.close()
    finally:
        svc.stop()


async def test_what_a_judged_run_guarantees_and_the_client_resends_the_rest(tmp_path):
    """With the background flusher out of the way (an hour's interval), precisely what is guaranteed: the code
    synced before a judged run is accepted is durable; an edit after it is not, until the next flush, and the
    client sends it again after the restart as the full text with ``seq = your_seq + 1``."""
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         "--DuelService.state_flush_interval_s=3600").start()
    made: list[Player] = []

    async def make(name: str) -> Player:
        made.append(await Player(svc.url, name).connect())
        return made[-1]

    try:
        alice, bob, m1, _ = await start_battle(make, "alice", "bob", ranked=False)
        bid = m1["battle_id"]
        for seq, text in enumerate(["def f(", "def f():\n"], start=1):
            assert (await alice.call("sync_code", {"battle_id": bid, "seq": seq, "text": text}))["ok"]
        assert flushed_seq(svc, alice.name) == 0  # typing alone writes nothing yet
        result = await judged(alice, bid)
        assert flushed_seq(svc, alice.name) == 2  # written before the run was accepted
        typed_later = "def f():\n    return 42\n"
        assert (await alice.call("sync_code", {"battle_id": bid, "seq": 3, "text": typed_later}))["ok"]
        assert flushed_seq(svc, alice.name) == 2
        svc.kill()
        for p in made:
            await p.close()

        svc.restart()
        alice, registered = await back(svc, alice)
        assert (await alice.call("resume", {"resume_token": registered["resume_token"]}))["ok"]
        state = await alice.expect("battle_state")
        assert state["your_code"] == "def f():\n" and state["your_seq"] == 2
        assert state["your_submissions"] == [result]  # the finished run is kept, as its author saw it
        # The client's editor is ahead: it sends its text, which the service takes as the new state.
        resent = {"battle_id": bid, "seq": state["your_seq"] + 1, "text": typed_later}
        assert (await alice.call("sync_code", resent))["ok"]
        assert (await alice.call("forfeit", {"battle_id": bid}))["ok"]
        done = await alice.expect("battle_complete")
        assert [c["code"] for c in done["codes"] if c["name"] == alice.name] == [typed_later]
        await alice.close()
    finally:
        svc.stop()
