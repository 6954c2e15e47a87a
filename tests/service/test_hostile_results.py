"""A real service judges results built to stall it while other clients use it: every hostile result gets its
verdict, nobody is dropped, and the service keeps answering (today's failure mode: one hash-flooded result held
the event loop ~9 s per test and every player was dropped by ping timeout)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from helpers import start_battle
from hostile_results import VERDICTS, hostile_code

# (An oversized result ends the run like a crash: it is checked in the sandbox tests, not here.)
FIRST = ["huge_string", "deep_nesting", "huge_int", "self_referential", "small_hash_flood", "hash_flood"]
SECOND = ["dict_key_flood"]


async def results_of(player, battle_id: str) -> tuple[list[dict], dict]:
    result = await player.expect("submission_result", timeout=180)
    assert result["battle_id"] == battle_id
    tests = []
    while player.pending("test_result"):
        tests.append(await player.expect("test_result"))
    return [t for t in tests if t["submission_id"] == result["submission_id"]], result


async def test_hostile_results_never_stall_the_service(service, players):
    watcher = await players("carol")  # registered and idle: must never be dropped
    p1, p2, m1, _ = await start_battle(players)
    battle_id, function = m1["battle_id"], m1["challenge"]["function"]
    latencies: list[float] = []
    failures: list[str] = []
    stop = asyncio.Event()

    async def ping() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    async with session.get(f"{service.url}/api/health", timeout=aiohttp.ClientTimeout(30)) as r:
                        if r.status != 200:
                            failures.append(f"status {r.status}")
                        await r.read()
                except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                    failures.append(repr(exc))
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.02)

    pinger = asyncio.ensure_future(ping())
    try:
        ack = await p1.call("submit_code", {"battle_id": battle_id, "code": hostile_code(function, FIRST)})
        assert ack["ok"], ack
        tests1, result1 = await results_of(p1, battle_id)
        ack = await p2.call("submit_code", {"battle_id": battle_id, "code": hostile_code(function, SECOND)})
        assert ack["ok"], ack
        tests2, result2 = await results_of(p2, battle_id)
    finally:
        stop.set()
        await pinger

    verdicts1 = [t["verdict"] for t in sorted(tests1, key=lambda t: t["index"])]
    assert all(v in VERDICTS[k] for v, k in zip(verdicts1, FIRST)) and len(verdicts1) > len(FIRST), verdicts1
    # The flood ends the run: what follows is not judged, and nothing is ever accepted.
    assert set(verdicts1[len(FIRST):]) <= {"RE"} and result1["verdict"] == "WA" and result1["passed"] == 0
    assert tests2 and "AC" not in [t["verdict"] for t in tests2] and result2["verdict"] in ("RE", "WA")
    assert "AC" not in verdicts1
    # The service stayed responsive all along: every health request answered, the idle client still here.
    assert not failures, failures
    assert len(latencies) > 10 and max(latencies) < 1.0, (len(latencies), max(latencies))
    assert watcher.client.connected and p1.client.connected and p2.client.connected
    assert service.alive()
    assert not any("Traceback" in line for line in service.log_lines), "".join(service.log_lines)
