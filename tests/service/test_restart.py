"""Users, ratings and finished battles survive a restart of the service; running ones are carried on."""

from __future__ import annotations

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json as get, judged


async def test_restart_keeps_users_ratings_and_battles(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    try:
        alice, bob = await Player(svc.url, "alice").connect(), await Player(svc.url, "bob").connect()
        for p in (alice, bob):
            assert (await p.call("join_queue", {}))["ok"]
        finished = (await alice.expect("match_found"))["battle_id"]
        await bob.expect("match_found")
        await judged(bob, finished)  # somebody submitted: the forfeit is rated
        assert (await alice.call("forfeit", {"battle_id": finished}))["ok"]
        done = await bob.expect("battle_complete")
        # A second battle is still running when the service stops (bob against a newcomer: the same two
        # players are never paired twice in a row).
        carol = await Player(svc.url, "carol").connect()
        for p in (bob, carol):
            assert (await p.call("join_queue", {}))["ok"]
        running = (await bob.expect("match_found"))["battle_id"]
        await carol.expect("match_found")
        _, board_before = get(svc.url + "/api/leaderboard")
        for p in (alice, bob, carol):
            await p.close()
    finally:
        svc.stop()

    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    try:
        _, board_after = get(svc.url + "/api/leaderboard")
        assert board_after == board_before
        ratings = {r["name"]: r["after"] for r in done["ratings"]}  # carol has no rated battle yet
        assert {p["name"]: p["rating"] for p in board_after["players"]} == ratings
        _, history = get(svc.url + f"/api/users/{bob.name}/battles")
        by_id = {b["battle_id"]: b for b in history["battles"]}
        assert by_id[finished]["result"] == "win"
        # Carried on by the new process (tests/service/test_crash.py follows such battles to their end).
        assert by_id[running]["result"] == "running"
        assert by_id[running]["rating_after"] is None
        # The same name, from the same browser (its guest key), logs back in to the same record.
        alice = await Player(svc.url, "alice", guest_key=alice.guest_key).connect()
        _, profile = get(svc.url + f"/api/users/{alice.name}")
        assert profile["losses"] == 1 and profile["games"] == 1
        await alice.close()
    finally:
        svc.stop()


def test_a_stop_right_after_listening_is_a_clean_stop(tmp_path):
    """A script may stop the service as soon as it prints that it listens (a supervisor, a restart): the stop
    is the clean one (exit 0, the battles flushed), never an interrupt's traceback."""
    import signal

    for _ in range(3):
        svc = ServiceProcess(tmp_path, "--allow-guests").start()
        svc.proc.send_signal(signal.SIGINT)
        assert svc.proc.wait(30) == 0, "".join(svc.log_lines)
        svc.reader.join(10)  # all it printed
        assert not any("Traceback" in line for line in svc.log_lines), "".join(svc.log_lines)
