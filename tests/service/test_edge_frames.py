"""Hostile frames against a real service process: every one gets a clear reply where the protocol can carry one
(an ``error`` event, a WebSocket close code, an HTTP status), changes nothing, and never logs a traceback."""

from __future__ import annotations

import pytest

from edge_clients import RawPolling, RawWebSocket, settled, tracebacks
from helpers import Player, start_battle

# Socket.IO packets (after Engine.IO's message type "4") that are not events this service takes.
REFUSED_PACKETS = {
    '2{"not": "an array"}': "invalid_frame",
    '2["sync_code", {"battle_id": ': "invalid_frame",  # JSON cut short
    "2[]": "invalid_frame",
    "2[7, {}]": "invalid_frame",  # the event name is not a string
    "2" + "[" * 5_000: "invalid_frame",  # nested deeper than the JSON parsers go
    '4{"message": "x"}': "invalid_frame",  # CONNECT_ERROR: only servers send it
    "9": "invalid_frame",  # no such packet type
    '51-["join_queue",{"_placeholder":true,"num":0}]': "invalid_frame",  # a binary attachment announced
    '2/admin,["join_queue",{}]': "invalid_frame",  # a namespace this service does not have
    '2["disconnect","spoofed"]': "unknown_event",  # would otherwise run the disconnect handler
    '2["connect",{}]': "unknown_event",
}


async def test_malformed_socketio_packets_get_an_error_event(service):
    raw = await RawWebSocket(service.url).open()
    await raw.emit("register_user", {"display_name": "raw"}, ack_id=1)
    assert (await raw.ack(1))["ok"] is True
    for packet, code in REFUSED_PACKETS.items():
        await raw.send("4" + packet)
        error = await raw.event("error")
        assert error["code"] == code, (packet[:40], error)
        assert error["message"] and len(error["message"]) <= 300
    # A binary frame (an attachment nobody announced).
    await raw.send(b"\x00\x01binary")
    assert (await raw.event("error"))["code"] == "invalid_frame"
    # The ack id of a refused packet is kept: the client's callback gets the refusal.
    await raw.send('4218["join_queue", {')
    ack = await raw.ack(18)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_frame"
    # Connecting to a namespace that does not exist: Socket.IO's own CONNECT_ERROR.
    await raw.send("40/admin,")
    assert (await raw.message()).startswith("4/admin,")

    # The connection is still registered (the spoofed "disconnect" ran nothing) and works.
    await raw.emit("join_queue", {"pool": "easy"}, ack_id=2)
    assert (await raw.ack(2))["ok"] is True
    assert (await raw.event("queue_update"))["status"] == "waiting"
    await raw.close()
    assert tracebacks(await settled(service.log_lines)) == []
    assert service.alive()


@pytest.mark.parametrize(
    "frame",
    ["", "x", "4", "0{}", "3" + "[" * 5_000, "2" + '{"a": 1}', "b" + "!!!"],
    ids=["empty", "garbage", "empty-message", "open", "deep-json", "ping-json", "bad-base64"],
)
async def test_frames_that_are_not_engineio_close_the_connection(service, frame):
    raw = await RawWebSocket(service.url).open()
    await raw.send(frame)
    code, reason = await raw.close_code()
    assert code == 1002 and reason, (code, reason)
    await raw.close()
    # Nothing else was affected: a new connection works.
    player = await Player(service.url, "after").connect()
    assert (await player.call("join_queue", {}))["ok"]
    await player.close()
    assert tracebacks(await settled(service.log_lines)) == []


async def test_polling_payloads_are_checked_before_engineio_reads_them(service):
    poll = await RawPolling(service.url).open()
    refused = [
        b"\xff\xfe not utf-8",
        "9",
        "b!!!",  # base64 binary: this service takes no binary
        "\x1e".join(["3"] * 17),  # more packets than Engine.IO decodes in one payload
        "6",  # a NOOP, which Engine.IO would answer by closing the session and waiting on it
        "4",  # an empty message
        "3" + "[" * 5_000,
        "d=42%5B%5D",  # JSONP
    ]
    for body in refused:
        status, text = await poll.post(body)
        assert status == 400 and text, (body[:20], status, text)
    # A well-framed payload whose Socket.IO packet is malformed: accepted, answered with an error event.
    assert (await poll.post('42["register_user", {'))[0] == 200
    assert (await poll.event("error"))["code"] == "invalid_frame"
    # The session still works.
    assert (await poll.post('42["register_user", {"display_name": "poller"}]'))[0] == 200
    assert (await poll.event("registered"))["user"]["name"] == "guest:poller"
    await poll.close()
    assert tracebacks(await settled(service.log_lines)) == []


async def test_lone_surrogates_are_invalid_payloads(players, service):
    p1, p2, m1, _ = await start_battle(players, ranked=False)
    battle_id = m1["battle_id"]
    before = service.counts()
    bad = "def f():\n    return '\ud800'\n"
    await p1.refused("submit_code", {"battle_id": battle_id, "code": bad}, "invalid_payload")
    await p1.refused("run_samples", {"battle_id": battle_id, "code": bad}, "invalid_payload")
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 1, "text": bad}, "invalid_payload")
    delta = [{"insert": "\udfff"}]
    await p1.refused("sync_code", {"battle_id": battle_id, "seq": 1, "delta": delta}, "invalid_payload")
    anon = await players(None)
    await anon.refused("register_user", {"display_name": "x\udc80"}, "invalid_payload")
    await anon.refused("register_user", {"token": "\ud83d"}, "invalid_payload")
    assert service.counts() == before
    assert p2.pending("opponent_code") == 0
    # Valid non-ASCII text is fine.
    assert (await p1.call("sync_code", {"battle_id": battle_id, "seq": 1, "text": "# déjà vu 🎉\n"}))["ok"]
    assert (await p2.expect("opponent_code"))["text"] == "# déjà vu 🎉\n"
    assert tracebacks(await settled(service.log_lines)) == []


async def test_messages_over_the_limit_end_the_connection_with_a_reason(service):
    over = '42["sync_code",{"battle_id":"x","seq":1,"text":"' + "a" * 1_000_001 + '"}]'
    raw = await RawWebSocket(service.url).open()
    await raw.emit("register_user", {"display_name": "big"}, ack_id=1)
    assert (await raw.ack(1))["ok"]
    await raw.send(over)
    assert await raw.close_code() == (1009, "message too big")
    await raw.close()

    poll = await RawPolling(service.url).open()
    status, text = await poll.post(over)
    assert status == 413 and "limit" in text
    status, _ = await poll.get()  # the session is closed
    assert status == 400
    await poll.close()

    player = await Player(service.url, "after").connect()
    assert (await player.call("join_queue", {}))["ok"]
    await player.close()
    assert tracebacks(await settled(service.log_lines)) == []


async def test_refusals_echo_only_a_clipped_form_of_what_was_sent(players, service):
    alice = await players("alice")
    name = "e" * 10_000
    ack = await alice.call(name, {})
    error = await alice.expect("error")
    assert ack["error"] == error and error["code"] == "unknown_event"
    assert len(error["message"]) <= 300 and name not in error["message"]
    assert error["event"] is not None and len(error["event"]) <= 65 and name.startswith(error["event"][:64])

    key = "k" * 5_000
    ack = await alice.call("join_queue", {key: 1})
    error = await alice.expect("error")
    assert error["code"] == "invalid_payload" and len(error["message"]) <= 300 and key not in error["message"]

    ack = await alice.call("register_user", {"display_name": "y" * 100_000})
    error = await alice.expect("error")
    assert error["code"] == "invalid_payload" and len(error["message"]) <= 300
