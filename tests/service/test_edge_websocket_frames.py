"""The service's websocket, frame by frame (``edge_clients.FrameSocket``): a message in fragments with a ping
between them is handled as one; a close is answered; frames no client may send end that connection only, with
nothing logged as a traceback and every other connection served as before."""

from __future__ import annotations

import json

import pytest

from edge_clients import FrameSocket, settled, tracebacks
from helpers import start_battle

F = FrameSocket
REGISTER = ('421["register_user",' + json.dumps({"display_name": "frames"}) + "]").encode()


async def test_a_message_in_fragments_with_a_ping_between_is_one_message(service):
    sock = await FrameSocket(service.url).open()
    await sock.send_frame(F.TEXT, REGISTER[:5], fin=False)
    await sock.send_frame(F.PING, b"still there?")  # control frames may come between fragments
    await sock.send_frame(F.CONTINUATION, REGISTER[5:20], fin=False)
    await sock.send_frame(F.CONTINUATION, REGISTER[20:])
    assert await sock.pong() == b"still there?"
    reply = await sock.ack(1)
    assert reply["ok"] is True, reply
    # An event in a single frame right after is read as usual.
    await sock.send_frame(F.TEXT, b'422["join_queue",{}]')
    assert (await sock.ack(2))["ok"] is True
    await sock.close()


async def test_a_close_is_answered_with_its_code(service):
    sock = await FrameSocket(service.url).open()
    await sock.send_frame(F.CLOSE, (1000).to_bytes(2, "big") + b"bye")
    assert await sock.end() == 1000
    await sock.close()
    assert tracebacks(await settled(service.log_lines)) == []


# What Tornado's websocket does with each: cut the connection (None), or close it with a code.
HOSTILE = {
    "invalid-utf8": ([F.frame(F.TEXT, b'42["join_queue",{"x":"\xff\xfe"}]')], None),
    "overlong-utf8": ([F.frame(F.TEXT, b"42\xc0\xaf")], None),
    "reserved-bit": ([F.frame(F.TEXT, b'42["join_queue",{}]', rsv=0b100)], None),
    "unknown-opcode": ([F.frame(0x3, b"?")], None),
    "continuation-first": ([F.frame(F.CONTINUATION, b'42["join_queue",{}]')], None),
    "text-inside-fragments": ([F.frame(F.TEXT, b"42[", fin=False), F.frame(F.TEXT, b'"join_queue",{}]')], None),
    "fragmented-ping": ([F.frame(F.PING, b"x", fin=False)], None),
    "ping-over-125": ([F.frame(F.PING, b"p" * 126)], None),
    "utf8-split-wrongly": ([F.frame(F.TEXT, b"42\xe2\x82", fin=False), F.frame(F.CONTINUATION, b"x")], None),
    "huge-length-announced": ([F.frame(F.TEXT, b"", length=1 << 62)], 1009),  # over max_message_bytes
}


@pytest.mark.parametrize("frames, close_code", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_frames_no_client_may_send_end_only_that_connection(players, service, frames, close_code):
    a, b, found, _ = await start_battle(players, ranked=False)  # casual: the mirror is live
    sock = await FrameSocket(service.url).open()
    await sock.send_frame(F.TEXT, REGISTER)
    assert (await sock.ack(1))["ok"] is True
    for frame in frames:
        sock.writer.write(frame)
    await sock.writer.drain()
    assert await sock.end() == close_code
    await sock.close()
    # The running battle goes on, and a new connection is served.
    assert (await a.call("sync_code", {"battle_id": found["battle_id"], "seq": 1, "text": "x = 1"}))["ok"]
    mirrored = await b.expect("opponent_code")
    assert (mirrored["seq"], mirrored["text"]) == (1, "x = 1"), mirrored
    late = await players("late")
    assert (await late.call("join_queue", {}))["ok"]
    assert tracebacks(await settled(service.log_lines)) == []
