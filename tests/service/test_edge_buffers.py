"""A client that stops reading is disconnected, not buffered for: the service's memory stays bounded while its
opponent floods edits. Measured on a real service process (its resident memory), with the default buffer bounds;
only the rate limit of edits is lifted so that one flooder can send fast enough to matter."""

from __future__ import annotations

import asyncio
import contextlib

import psutil
import pytest

from edge_clients import RawPolling, RawWebSocket, settled, tracebacks
from helpers import RATED_GUESTS, Player, ServiceProcess

TEXT = "x" * 50_000  # a full-text edit just under the code-size limit
FLOOD = 4_000  # edits of TEXT: 200 MB, far more than any bound lets wait
GROWTH_MB = 64  # what the flood may add to the service's resident memory


@pytest.fixture
def flood_service(tmp_path):
    config = tmp_path / "jupyter_duel_config.py"
    config.write_text('c.DuelService.rate_limits = {"sync": [0, 1]}\n')
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", f"--config={config}").start()
    yield svc
    svc.stop()


async def blind_pongs(send) -> None:
    """Answer heartbeats without reading them, as a hostile client would, so only the buffer bound can act."""
    while True:
        await asyncio.sleep(1)
        await send()


async def flood_until_dropped(service: ServiceProcess, flooder: Player, battle_id: str) -> int:
    """Send TEXT edits until the opponent is reported gone; returns the peak growth of the service's RSS."""
    process = psutil.Process(service.proc.pid)
    base = peak = process.memory_info().rss
    for seq in range(1, FLOOD + 1):
        payload = {"battle_id": battle_id, "seq": seq, "text": TEXT[:-1] + str(seq % 10)}
        if seq % 20:
            await flooder.client.emit("sync_code", payload)
            continue
        assert (await flooder.call("sync_code", payload))["ok"]
        peak = max(peak, process.memory_info().rss)
        if flooder.pending("opponent_status"):
            break
    return (peak - base) // (1 << 20)


async def test_websocket_client_that_stops_reading_is_disconnected(flood_service):
    flooder = await Player(flood_service.url, "flood").connect()
    sleepy = await RawWebSocket(flood_service.url).open()
    await sleepy.emit("register_user", {"display_name": "sleepy"}, ack_id=1)
    assert (await sleepy.ack(1))["ok"]
    await sleepy.emit("join_queue", {"pool": "easy", "ranked": False}, ack_id=2)
    assert (await sleepy.ack(2))["ok"]
    assert (await flooder.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
    battle_id = (await flooder.expect("match_found"))["battle_id"]
    assert (await sleepy.event("match_found"))["battle_id"] == battle_id

    pongs = asyncio.ensure_future(blind_pongs(lambda: sleepy.send("3")))  # from now on sleepy never reads
    try:
        growth_mb = await flood_until_dropped(flood_service, flooder, battle_id)
    finally:
        pongs.cancel()
    assert growth_mb < GROWTH_MB, f"the service grew by {growth_mb} MB"
    status = await flooder.expect("opponent_status")
    assert status["name"] == "guest:sleepy" and status["connected"] is False
    # What sleepy finds when it reads again: whatever was already in flight, then the end of the connection.
    with contextlib.suppress(ConnectionError):
        while True:
            await sleepy.message(timeout=30)
    await sleepy.close()
    assert (await flooder.call("sync_code", {"battle_id": battle_id, "seq": FLOOD + 1, "text": "ok"}))["ok"]
    await flooder.close()
    assert tracebacks(await settled(flood_service.log_lines)) == []
    assert any("not read by the client" in line for line in flood_service.log_lines)


async def test_polling_client_that_stops_polling_is_disconnected(flood_service):
    flooder = await Player(flood_service.url, "flood").connect()
    sleepy = await RawPolling(flood_service.url).open()
    assert (await sleepy.post('42["register_user",{"display_name":"sleepy"}]'))[0] == 200
    await sleepy.event("registered")
    assert (await sleepy.post('42["join_queue",{"pool":"easy","ranked":false}]'))[0] == 200
    await sleepy.event("queue_update")
    assert (await flooder.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
    battle_id = (await flooder.expect("match_found"))["battle_id"]
    assert (await sleepy.event("match_found"))["battle_id"] == battle_id

    pongs = asyncio.ensure_future(blind_pongs(lambda: sleepy.post("3")))  # from now on sleepy never polls
    try:
        growth_mb = await flood_until_dropped(flood_service, flooder, battle_id)
    finally:
        pongs.cancel()
    assert growth_mb < GROWTH_MB, f"the service grew by {growth_mb} MB"
    status = await flooder.expect("opponent_status")
    assert status["name"] == "guest:sleepy" and status["connected"] is False
    assert (await sleepy.get())[0] == 400  # the session is gone
    await sleepy.close()
    await flooder.close()
    assert tracebacks(await settled(flood_service.log_lines)) == []
    assert any("not taken by the client" in line for line in flood_service.log_lines)
