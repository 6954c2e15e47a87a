"""Raw clients for the edge tests: Engine.IO and Socket.IO spoken frame by frame over a websocket or long-polling
(aiohttp), so a test sends exactly what it means to (malformed frames included), or stops reading."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import aiohttp
import wsproto
import wsproto.events
import wsproto.frame_protocol


def tracebacks(log_lines: list[str]) -> list[str]:
    return [line for line in log_lines if "Traceback" in line or "exception was never retrieved" in line]


async def settled(log_lines: list[str], quiet_s: float = 0.3, at_most_s: float = 10.0) -> list[str]:
    """The service's log once nothing new has arrived for ``quiet_s`` (its lines are read by another thread)."""
    deadline = time.monotonic() + at_most_s
    seen = -1
    while len(log_lines) != seen and time.monotonic() < deadline:
        seen = len(log_lines)
        await asyncio.sleep(quiet_s)
    return list(log_lines)


class RawWebSocket:
    """One Engine.IO session over a websocket. Engine.IO pings are answered while the test reads."""

    def __init__(self, url: str, path: str = "/socket.io/", headers: dict | None = None):
        self.url = url.replace("http://", "ws://", 1) + path + "?EIO=4&transport=websocket"
        self.headers = headers or {}
        self.events: list[tuple[str, object]] = []

    async def open(self, namespace: bool = True) -> "RawWebSocket":
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url, headers=self.headers, max_msg_size=0)
        handshake = await self.ws.receive_str(timeout=10)
        assert handshake.startswith("0{"), handshake
        if namespace:
            await self.send("40")
            reply = await self.message()
            assert reply.startswith("0{") and '"sid"' in reply, reply
        return self

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def emit(self, event: str, data, ack_id: int | None = None) -> None:
        await self.send("42" + ("" if ack_id is None else str(ack_id)) + json.dumps([event, data]))

    async def message(self, timeout: float = 10.0) -> str:
        """The next Socket.IO packet (an Engine.IO message without its leading ``4``)."""
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"the connection ended: {msg.type!r} {msg.data!r} {msg.extra!r}")
            if msg.data == "2":
                await self.send("3")
                continue
            if msg.data.startswith("4"):
                return msg.data[1:]

    async def event(self, name: str, timeout: float = 10.0):
        """The data of the next ``name`` event; other events are kept in ``self.events``."""
        while True:
            packet = await self.message(timeout)
            if packet.startswith("2["):
                event, *args = json.loads(packet[1:])
                if event == name:
                    return args[0] if args else None
                self.events.append((event, args[0] if args else None))

    async def ack(self, ack_id: int, timeout: float = 10.0):
        prefix = f"3{ack_id}["
        while True:
            packet = await self.message(timeout)
            if packet.startswith(prefix):
                return json.loads(packet[len(prefix) - 1 :])[0]
            if packet.startswith("2["):
                event, *args = json.loads(packet[1:])
                self.events.append((event, args[0] if args else None))

    async def close_code(self, timeout: float = 10.0) -> tuple[int | None, str | None]:
        """Read until the service ends the connection: (close code, reason), or (None, None) when it was cut."""
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type == aiohttp.WSMsgType.CLOSE:
                return msg.data, msg.extra
            if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return None, None

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


class RawPolling:
    """One Engine.IO session over long-polling: each ``get`` is one poll, each ``post`` one payload."""

    def __init__(self, url: str, path: str = "/socket.io/", headers: dict | None = None):
        self.base = url + path + "?EIO=4&transport=polling"
        self.headers = headers or {}

    async def open(self, namespace: bool = True) -> "RawPolling":
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        status, text = await self._request("GET", self.base)
        assert status == 200 and text.startswith("0{"), (status, text)
        self.sid = json.loads(text[1:])["sid"]
        self.url = f"{self.base}&sid={self.sid}"
        if namespace:
            assert (await self.post("40"))[0] == 200
            packets = await self.packets()
            assert any(p.startswith("40{") for p in packets), packets
        return self

    async def _request(self, method: str, url: str, body: bytes | str | None = None) -> tuple[int, str]:
        async with self.session.request(method, url, data=body, headers=self.headers) as response:
            return response.status, await response.text(errors="replace")

    async def post(self, body: bytes | str) -> tuple[int, str]:
        return await self._request("POST", self.url, body)

    async def get(self) -> tuple[int, str]:
        return await self._request("GET", self.url)

    async def packets(self) -> list[str]:
        """One poll's Engine.IO packets; pings are answered."""
        status, text = await self.get()
        assert status == 200, (status, text)
        packets = text.split("\x1e") if text else []
        if "2" in packets:
            await self.post("3")
        return packets

    async def event(self, name: str, polls: int = 20):
        for _ in range(polls):
            for packet in await self.packets():
                if packet.startswith("42["):
                    event, *args = json.loads(packet[2:])
                    if event == name:
                        return args[0] if args else None
        raise AssertionError(f"no {name!r} event")

    async def close(self) -> None:
        await self.session.close()


class FrameSocket:
    """One Engine.IO session over a websocket written frame by frame on a plain TCP connection: the handshake
    and the service's frames go through wsproto, the client's frames are built here byte by byte, so that a test
    can send what no client library sends (fragments with a control frame between them, invalid UTF-8, unmasked
    frames, reserved bits, lengths it never sends)."""

    TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0

    def __init__(self, url: str, path: str = "/socket.io/"):
        self.host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
        self.port = int(port)
        self.target = path + "?EIO=4&transport=websocket"
        self.protocol = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.received: list = []  # wsproto events not yet read; text messages whole
        self._text: list[str] = []
        self.ended = False

    async def open(self) -> "FrameSocket":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.protocol.send(wsproto.events.Request(host=f"{self.host}:{self.port}",
                                                                    target=self.target)))
        accepted = await self._next(lambda e: isinstance(e, (wsproto.events.AcceptConnection,
                                                              wsproto.events.RejectConnection)))
        assert isinstance(accepted, wsproto.events.AcceptConnection), accepted
        assert (await self.text()).startswith("0{")  # Engine.IO's open packet
        await self.send_frame(self.TEXT, b"40")
        assert (await self.text()).startswith("40{")
        return self

    @staticmethod
    def frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True, rsv: int = 0,
              length: int | None = None) -> bytes:
        """One frame as RFC 6455 lays it out; ``length``: the length to announce, if not the payload's."""
        length = len(payload) if length is None else length
        head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
        mask_bit = 0x80 if masked else 0
        if length < 126:
            head.append(mask_bit | length)
        elif length < 1 << 16:
            head += bytes([mask_bit | 126]) + length.to_bytes(2, "big")
        else:
            head += bytes([mask_bit | 127]) + length.to_bytes(8, "big")
        if not masked:
            return bytes(head) + payload
        key = os.urandom(4)
        return bytes(head) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    async def send_frame(self, opcode: int, payload: bytes, **options) -> None:
        self.writer.write(self.frame(opcode, payload, **options))
        await self.writer.drain()

    async def _next(self, wanted, timeout: float = 10.0):
        """The next event ``wanted`` accepts, reading more as needed (Engine.IO pings are answered)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.received:
                if wanted(event):
                    self.received.remove(event)
                    return event
            if self.ended:
                raise ConnectionError("the connection ended")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"nothing of the kind within {timeout} s; received {self.received!r}")
            try:
                data = await asyncio.wait_for(self.reader.read(65536), left)
            except (ConnectionError, asyncio.IncompleteReadError):
                data = b""
            self.protocol.receive_data(data or None)
            if not data:
                self.ended = True
            for event in self.protocol.events():
                if isinstance(event, wsproto.events.TextMessage):
                    self._text.append(event.data)
                    if not event.message_finished:
                        continue
                    event = wsproto.events.TextMessage(data="".join(self._text))
                    self._text.clear()
                    if event.data == "2":  # an Engine.IO ping
                        await self.send_frame(self.TEXT, b"3")
                        continue
                self.received.append(event)

    async def text(self, timeout: float = 10.0) -> str:
        return (await self._next(lambda e: isinstance(e, wsproto.events.TextMessage), timeout)).data

    async def ack(self, ack_id: int, timeout: float = 10.0):
        prefix = f"43{ack_id}["
        event = await self._next(lambda e: isinstance(e, wsproto.events.TextMessage) and e.data.startswith(prefix),
                                 timeout)
        return json.loads(event.data[len(prefix) - 1:])[0]

    async def pong(self, timeout: float = 10.0) -> bytes:
        return bytes((await self._next(lambda e: isinstance(e, wsproto.events.Pong), timeout)).payload)

    async def end(self, timeout: float = 10.0) -> int | None:
        """Read until the service ends the connection: its close code, or None when it cut the connection."""
        try:
            event = await self._next(lambda e: isinstance(e, wsproto.events.CloseConnection), timeout)
        except ConnectionError:
            return None
        # wsproto reports a connection cut without a close frame as 1006, a code never sent on the wire
        return None if event.code == wsproto.frame_protocol.CloseReason.ABNORMAL_CLOSURE else int(event.code)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
