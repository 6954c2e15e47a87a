"""The service on PostgreSQL (a real server of the test's own, tests/postgres_server.py): a rated battle with a
judged submission, the history, the leaderboard, the review, a restart; and a database write held up by a lock
does not hold up the mirror."""

from __future__ import annotations

import asyncio

import psycopg

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json as get, judged, players_on, start_battle

SOLUTION = "def add_two(a, b):\n    return a + b\n"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def test_battle_history_leaderboard_review_and_restart_on_postgres(tmp_path, postgres_url):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", db_url=postgres_url).start()
    async with players_on(svc) as make:
        alice, bob, found, _ = await start_battle(make)
        battle_id = found["battle_id"]
        await judged(bob, battle_id)  # somebody submitted: the forfeit is rated
        assert (await alice.call("forfeit", {"battle_id": battle_id}))["ok"]
        done = await bob.expect("battle_complete")
        assert done["winner"] == bob.name and done["ranked"]
        ratings = {r["name"]: r["after"] for r in done["ratings"]}
        assert ratings[bob.name] > ratings[alice.name]
        # A second battle is still running when the service stops.
        carol = await make("carol")
        for p in (bob, carol):
            assert (await p.call("join_queue", {"pool": "easy"}))["ok"]
        running = (await bob.expect("match_found"))["battle_id"]
        await carol.expect("match_found")
        _, board_before = get(svc.url + "/api/leaderboard")
        assert {p["name"]: p["rating"] for p in board_before["players"]} == ratings
        status, review = get(svc.url + f"/api/battles/{battle_id}")
        assert status == 200 and review["winner"] == bob.name and review["players"] == [alice.name, bob.name]
        assert [s["player"] for s in review["submissions"]] == [bob.name]
        assert review["submissions"][0]["verdict"] is not None  # its result was stored after it
    assert svc.counts() == {"users": 3, "battles": 2, "submissions": 1}

    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", db_url=postgres_url).start()
    async with players_on(svc) as make:
        _, board_after = get(svc.url + "/api/leaderboard")
        assert board_after == board_before
        _, history = get(svc.url + f"/api/users/{bob.name}/battles")
        by_id = {b["battle_id"]: b for b in history["battles"]}
        assert by_id[battle_id]["result"] == "win"
        assert by_id[running]["result"] == "running"  # carried on after the restart (docs/protocol.md)
        assert by_id[running]["rating_after"] is None
        status, profile = get(svc.url + f"/api/users/{alice.name}")
        assert status == 200 and profile["losses"] == 1 and profile["games"] == 1
        # The same guest, from the same browser (its key), back on the same record; another browser is refused.
        again = await Player(svc.url, "alice", guest_key=alice.guest_key).connect()
        assert again.name == alice.name
        await again.close()
        stranger = await Player(svc.url).connect()
        ack = await stranger.call("register_user", {"display_name": "alice"})
        assert ack["ok"] is False and ack["error"]["code"] == "name_taken"
        await stranger.close()


async def test_a_database_write_held_by_a_lock_does_not_stop_the_mirror(tmp_path, postgres_url):
    """While a submission's INSERT waits on a lock another session holds, the opponent's edits still reach the
    submitter and the REST API still answers; the submission is stored once the lock goes."""
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", db_url=postgres_url).start()
    async with players_on(svc) as make:
        alice, bob, found, _ = await start_battle(make, ranked=False)  # casual: the live mirror
        battle_id = found["battle_id"]
        with psycopg.connect(_libpq(postgres_url)) as locker:
            locker.execute("LOCK TABLE submissions IN EXCLUSIVE MODE")  # no INSERT passes until rollback
            submit = asyncio.ensure_future(alice.call("submit_code", {"battle_id": battle_id, "code": SOLUTION}))
            with psycopg.connect(_libpq(postgres_url), autocommit=True) as watcher:
                while not watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'INSERT INTO submissions%'"
                ).fetchone()[0]:
                    await asyncio.sleep(0.05)  # until the service's INSERT is waiting on the lock
            for seq in (1, 2, 3):
                assert (await bob.call("sync_code", {"battle_id": battle_id, "seq": seq, "text": "x" * seq}))["ok"]
                relayed = await alice.expect("opponent_code")
                assert (relayed["seq"], relayed["text"]) == (seq, "x" * seq)
            status, health = get(svc.url + "/api/health")
            assert status == 200 and health["battles_running"] == 1
            assert not submit.done()  # the write is still held
            locker.rollback()
        ack = await submit
        assert ack["ok"], ack
        result = await alice.expect("submission_result", timeout=60)
        assert result["submission_id"] == ack["submission_id"]
    assert svc.counts()["submissions"] == 1
