"""The relay's hot path (docs/decisions/0019): a ``sync_code`` frame without ack is handled as Tornado reads it
when Engine.IO's reader is idle, and a relayed edit is written straight to the opponent's websocket when its
writer is idle. Both must keep each connection's order exactly as the usual path does, refuse what it refuses,
and change nothing when they refuse."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import pytest
import socketio
import tornado.web

from edge_clients import RawWebSocket, settled, tracebacks
from helpers import RATED_GUESTS, ServiceProcess, players_on, start_battle
from jupyter_duel_server.limits import EdgeServer, edge_handler


@pytest.fixture
def service(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         "--DuelService.react_cooldown_s=0").start()
    yield svc
    svc.stop()


def edit(battle_id: str, seq: int) -> dict:
    """Edit ``seq`` of a text that grows by one letter per edit (the first is the full text)."""
    if seq == 1:
        return {"battle_id": battle_id, "seq": 1, "text": "a"}
    return {"battle_id": battle_id, "seq": seq, "delta": [{"retain": seq - 1}, {"insert": chr(97 + seq % 26)}]}


def text_after(seq: int) -> str:
    return "a" + "".join(chr(97 + i % 26) for i in range(2, seq + 1))


async def until(condition, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_edits_with_and_without_ack_keep_their_order(service):
    """Edits sent back to back, every fifth asking for an ack (the usual path) and the rest not (the hot path
    once the reader is idle): the service applies them in the order sent (any other order is out_of_sync), and
    the opponent gets every one in that order with the text they add up to."""
    async with players_on(service) as make:
        p1, p2, m1, m2 = await start_battle(make, "hot", "path", ranked=False)  # casual: the mirror is live
        bid = m1["battle_id"]
        acks = []
        for round_ in range(3):
            first = round_ * 40 + 1
            for seq in range(first, first + 40):
                if seq % 5 == 0:
                    await p1.client.emit("sync_code", edit(bid, seq), callback=lambda *a: acks.append(a[0]))
                else:
                    await p1.client.emit("sync_code", edit(bid, seq))
            await until(lambda: sum(1 for e, _ in p2.received if e == "opponent_code") == first + 39)
            await asyncio.sleep(2.5)  # each round within the sync burst (60): the bucket refills before the next
        relayed = [data for event, data in p2.received if event == "opponent_code"]
        assert [d["seq"] for d in relayed] == list(range(1, 121))
        assert all(d["battle_id"] == bid for d in relayed)
        assert [e for e, _ in p1.received if e == "error"] == []
        assert len(acks) == 24 and all(a == {"ok": True} for a in acks)
        # The service's copy, as each player gets it back on resuming, is the text the edits add up to.
        assert relayed[0]["text"] == "a"
        assert (await p2.call("resume", {"resume_token": m2["resume_token"]}))["ok"]
        state = await p2.expect("battle_state")
        assert state["opponent_code"] == text_after(120) and state["opponent_seq"] == 120


async def test_a_relayed_edit_never_overtakes_what_was_sent_before_it(service):
    """The opponent's connection gets reactions through Engine.IO's queue and edits straight to its websocket:
    sent back to back, they arrive in the order they were sent."""
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "ann", "ben", ranked=False)
        bid = m1["battle_id"]
        sent = []
        for seq in range(1, 41):
            await p1.client.emit("sync_code", edit(bid, seq))
            sent.append(("opponent_code", seq))
            if seq % 3 == 0:
                await p1.client.emit("react", {"battle_id": bid, "reaction": "nice_one"})
                sent.append(("reaction", None))
        await until(lambda: sum(1 for e, _ in p2.received if e in ("opponent_code", "reaction")) == len(sent))
        got = [(e, d["seq"] if e == "opponent_code" else None) for e, d in p2.received
               if e in ("opponent_code", "reaction")]
        assert got == sent
        assert [e for e, _ in p1.received if e == "error"] == []


async def test_the_hot_path_refuses_what_the_usual_path_refuses(service):
    """Edits without ack that the service must refuse get the same ``error`` event as with an ack, and change
    nothing: someone else's battle, an unknown battle, a gap in seq, a malformed edit, an unregistered
    connection."""
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "cat", "dan", ranked=False)
        bid = m1["battle_id"]
        outsider = await make("eve")
        await p1.client.emit("sync_code", edit(bid, 1))
        await until(lambda: any(e == "opponent_code" for e, _ in p2.received))
        cases = [
            (outsider, edit(bid, 2), "not_in_battle"),
            (p1, edit("nope", 2), "unknown_battle"),
            (p1, edit(bid, 5), "out_of_sync"),
            (p1, {"battle_id": bid, "seq": 2, "delta": [{"retain": -1}]}, "invalid_payload"),
            (p1, {"battle_id": bid, "seq": 2, "text": "x", "extra": 1}, "invalid_payload"),
        ]
        for player, payload, code in cases:
            await player.client.emit("sync_code", payload)
            error = await player.expect("error")
            assert error["code"] == code and error["event"] == "sync_code", (payload, error)
        stranger = await make(None)  # connected, never registered
        await stranger.client.emit("sync_code", edit(bid, 2))
        assert (await stranger.expect("error"))["code"] == "not_registered"
        # Nothing reached the opponent, and the battle carries on from seq 1.
        await p1.client.emit("sync_code", edit(bid, 2))
        await until(lambda: sum(1 for e, _ in p2.received if e == "opponent_code") == 2)
        assert [d["seq"] for e, d in p2.received if e == "opponent_code"] == [1, 2]
        assert [e for e, _ in p2.received if e == "error"] == []


#: ``sync_code`` frames that start like the hot path's and are not well-formed edits: each gets the usual path's
#: refusal.
HOSTILE_FRAMES = {
    '42["sync_code",{"battle_id":': "invalid_frame",  # JSON cut short
    '42["sync_code",' + "[" * 5_000: "invalid_frame",  # nested deeper than the parsers go
    '42["sync_code"]': "invalid_payload",
    '42["sync_code",{},{}]': "invalid_payload",
    '42["sync_code",[1,2]]': "invalid_payload",
    '42["sync_code",{"battle_id":"B","seq":18446744073709551617,"text":"a"}]': "invalid_payload",
    '42["sync_code",{"battle_id":"B","seq":2,"text":"a","delta":[]}]': "invalid_payload",
    '42["sync_code\\"",{"battle_id":"B","seq":2,"text":"a"}]': "unknown_event",
}


async def test_hostile_frames_on_the_hot_path_get_the_usual_refusal(service):
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "fay", "gil", ranked=False)
        bid = m1["battle_id"]
        raw = await RawWebSocket(service.url).open()
        await raw.emit("register_user", {"display_name": "raw"}, ack_id=1)
        assert (await raw.ack(1))["ok"] is True
        for frame, code in HOSTILE_FRAMES.items():
            await raw.send(frame.replace('"B"', json.dumps(bid)))
            error = await raw.event("error")
            assert error["code"] == code, (frame[:60], error)
        # The raw connection is not in the battle; the players' is untouched and carries on from the start.
        await p1.client.emit("sync_code", edit(bid, 1))
        await until(lambda: any(e == "opponent_code" for e, _ in p2.received))
        assert [d["seq"] for e, d in p2.received if e == "opponent_code"] == [1]
        assert tracebacks(await settled(service.log_lines)) == []


@contextlib.asynccontextmanager
async def edge_server(port: int):
    """A real edge server (EdgeServer behind its Tornado handler) on ``port`` with one real client connected:
    yields (server, the client's sid, the client, the events it got in order)."""
    log = logging.getLogger("test")
    sio = EdgeServer(send_buffer_bytes=1 << 20, send_buffer_messages=1000, log=log, async_mode="tornado",
                     async_handlers=False)
    sio.eio.async_handlers = False
    connected = asyncio.get_running_loop().create_future()
    sio.on("connect", lambda sid, environ: connected.set_result(sid))
    handler = edge_handler(socketio.get_tornado_handler(sio), sio, max_message_bytes=1 << 16, log=log)
    server = tornado.web.Application([("/socket.io/", handler)]).listen(port, "127.0.0.1")
    client = socketio.AsyncClient(reconnection=False)
    got = []
    client.on("*", lambda event, data: got.append((event, data["n"])))
    try:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        sid = await connected
        await asyncio.sleep(0.2)  # the session's reader and writer wait
        yield sio, sid, client, got
    finally:
        await client.disconnect()
        server.stop()


async def test_a_frame_sent_at_once_never_overtakes_the_queue(unused_tcp_port):
    """``send_now``: while the connection's Engine.IO queue holds an event, a frame is queued behind it, not
    written ahead of it; once the writer is idle, it is written at once."""
    async with edge_server(unused_tcp_port) as (sio, sid, _, got):
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")

        def frame(n: int) -> str:
            return sio.packet_class(socketio.packet.EVENT, namespace="/", data=["at_once", {"n": n}]).encode()

        assert sio.eio.send_now(eio_sid, frame(1))  # idle: written at once
        for n in range(2, 12, 3):
            await sio.emit("queued", {"n": n}, to=sid)  # onto the queue; its writer has not run yet
            assert not sio.eio.send_now(eio_sid, frame(n + 1))  # so this is queued behind it
            await asyncio.sleep(0.05)
            assert sio.eio.send_now(eio_sid, frame(n + 2))  # idle again: at once
        await until(lambda: len(got) >= 13, 10)
        assert [n for _, n in got] == list(range(1, 14))
        assert [event for event, _ in got][:4] == ["at_once", "queued", "at_once", "at_once"]
        assert not sio.eio.send_now("no-such-session", frame(0))


async def test_a_hot_event_is_handled_as_it_is_read(unused_tcp_port):
    """A frame of a hot event without ack goes to its hot handler, which may decline it; one with an ack, or
    declined, is dispatched the usual way. Either way each is handled once, in the order sent."""
    async with edge_server(unused_tcp_port) as (sio, sid, client, _):
        handled = []

        def hot(sid_, payload):
            if payload.get("decline"):
                return False
            if payload["n"] % 3 == 0:  # one that has to wait: finished before the next frame is read
                async def later():
                    await asyncio.sleep(0.01)
                    handled.append(("hot, awaited", payload["n"]))
                return later()
            handled.append(("hot", payload["n"]))
            return True

        sio.hot_events["edit"] = hot
        sio.on("edit", lambda sid_, payload: handled.append(("usual", payload["n"])))
        for n in range(1, 31):
            if n % 4 == 0:
                await client.emit("edit", {"n": n}, callback=lambda *a: None)
            else:
                await client.emit("edit", {"n": n, "decline": n % 5 == 0})
        await until(lambda: len(handled) >= 30, 10)
        assert [n for _, n in handled] == list(range(1, 31))
        assert {n for way, n in handled if way == "usual"} >= {n for n in range(1, 31) if n % 4 == 0 or n % 5 == 0}
        assert {"hot", "hot, awaited"} <= {way for way, _ in handled}
