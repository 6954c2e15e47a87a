"""Limits at the real-time edge: how often a client may act, how much may wait for it, what a frame must be.

Everything a client can make the service do or hold passes one of the bounds defined here:

- ``RateLimiter``: token buckets per connection and per player, one per event class (``EVENT_CLASSES``), taken
  before an event is looked at further; a refusal says when to retry.
- ``Cooldowns``: the pause a player keeps between two judged runs of one kind (``submit_code``, ``run_samples``).
- ``EdgePacket``: the Socket.IO packet class of the service's server. A frame that is not a packet this protocol
  takes (malformed JSON, binary attachments, a packet type only servers send, an unknown namespace, a name
  Socket.IO reserves) decodes into a ``Refusal`` event, which the namespace answers with an ``error``.
- ``EdgeServer`` / ``BoundedEngineIO``: the Engine.IO queue of every connection, bounded in messages and bytes;
  a connection over the bound is closed instead of being buffered for without limit.
- ``edge_handler``: the Tornado handler of the endpoint: Engine.IO framing checked before Engine.IO parses it,
  the largest message a client may send, a bounded receive queue (beyond it Tornado stops reading the socket),
  and Tornado's write buffer bounded like the Engine.IO queue.

The relay's hot path also lives at this edge (docs/decisions/0019): on a websocket whose Engine.IO reader is
idle, a frame of a hot event (``EdgeServer.hot_events``: ``sync_code``) is handled as Tornado reads it, and
``BoundedEngineIO.send_now`` writes a frame straight to Tornado when the connection's writer is idle. Either
way a connection's frames keep their order; anything else takes Engine.IO's queues, which cost a task, a timer
and a queue hand-over per frame in each direction.

``EdgePacket``, ``BoundedEngineIO`` and ``EdgeServer`` extend python-socketio/python-engineio at the points those
libraries leave for it (a packet class given as ``serializer``, ``create_queue``, ``send_packet``, the Engine.IO
server class); ``pyproject.toml`` pins their major versions.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time

import engineio
import orjson
import socketio
import tornado.websocket
from engineio import packet as eio_packet
from engineio.async_drivers import tornado as tornado_driver
from socketio import packet as sio_packet

from .origins import tornado_environ
from .protocol import clip

#: Which events share a token bucket. Events not listed (unknown names, refused frames) are "other".
EVENT_CLASSES: dict[str, tuple[str, ...]] = {
    "sync": ("sync_code",),
    "judge": ("run_samples", "submit_code", "run_custom"),
    "lobby": ("join_queue", "leave_queue", "play_bot", "forfeit", "challenge_player", "answer_challenge", "react",
              "list_tournaments", "join_tournament", "leave_tournament", "pause_tournament"),
    "session": ("register_user", "resume", "watch_room", "spectate"),
    "class": ("class_settings", "pair_players", "abort_battle"),
    "other": (),
}

#: [events per second, burst] per class. The front end sends at most one ``sync_code`` per 80 ms.
DEFAULT_RATE_LIMITS: dict[str, list[float]] = {
    "sync": [20.0, 60.0],
    "judge": [2.0, 10.0],
    "lobby": [5.0, 20.0],
    "session": [5.0, 20.0],
    "class": [5.0, 20.0],
    "other": [5.0, 20.0],
}

#: Messages read from one websocket and not yet handled; beyond it Tornado stops reading that socket.
RECEIVE_QUEUE = 16

#: Names Socket.IO reserves: a client event by one of these names would reach the connection handlers.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "disconnecting"})


# ---------------------------------------------------------------- rate limits and cooldowns


class RateLimiter:
    """Token buckets (a level and a time stamp: two floats) per connection and per player and event class.

    An event goes ahead when both its connection's and its player's bucket hold a token; it then takes one from
    each. A class whose rate is 0 is not limited. Buckets of players are dropped once they are full again."""

    def __init__(self, limits: dict[str, list[float]] | None = None):
        merged = {**DEFAULT_RATE_LIMITS, **(limits or {})}
        self._class_of = {event: cls for cls, events in EVENT_CLASSES.items() for event in events}
        self._limits: dict[str, tuple[float, float] | None] = {}
        for cls, (rate, burst) in merged.items():
            self._limits[cls] = (float(rate), max(1.0, float(burst))) if rate > 0 else None
        self._connections: dict[str, dict[str, list[float]]] = {}
        self._players: dict[str, dict[str, list[float]]] = {}
        self._swept = time.monotonic()

    def event_class(self, event) -> str:
        return self._class_of.get(event, "other") if type(event) is str else "other"

    def take(self, sid: str, player: str | None, event) -> float:
        """0.0 when ``event`` may go ahead (its tokens are taken), else the seconds until it may."""
        cls = self._class_of.get(event, "other") if type(event) is str else "other"
        limit = self._limits[cls]
        if limit is None:
            return 0.0
        rate, burst = limit
        now = time.monotonic()
        conn = _bucket(self._connections, sid, cls, burst, now)
        level = min(burst, conn[0] + (now - conn[1]) * rate)
        conn[0], conn[1] = level, now
        low = level
        mine = None
        if player is not None:
            mine = _bucket(self._players, player, cls, burst, now)
            mine[0], mine[1] = min(burst, mine[0] + (now - mine[1]) * rate), now
            low = min(level, mine[0])
        if low < 1.0:
            return (1.0 - low) / rate
        conn[0] -= 1.0
        if mine is not None:
            mine[0] -= 1.0
        return 0.0

    def forget_connection(self, sid: str) -> None:
        self._connections.pop(sid, None)
        now = time.monotonic()
        if now - self._swept > 60.0:
            self._swept = now
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Drop the buckets of players that are full again: a new bucket is full, so nothing is lost."""
        for player, buckets in list(self._players.items()):
            for cls, (level, stamp) in list(buckets.items()):
                rate, burst = self._limits[cls] or (1.0, 0.0)
                if level + (now - stamp) * rate >= burst:
                    del buckets[cls]
            if not buckets:
                del self._players[player]


def _bucket(table: dict, key: str, cls: str, burst: float, now: float) -> list[float]:
    buckets = table.get(key)
    if buckets is None:
        buckets = table[key] = {}
    bucket = buckets.get(cls)
    if bucket is None:
        bucket = buckets[cls] = [burst, now]
    return bucket


class Cooldowns:
    """When each player may next start a judged run of each kind."""

    def __init__(self):
        self._until: dict[tuple[str, str], float] = {}

    def remaining(self, player: str, kind: str) -> float:
        until = self._until.get((player, kind))
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._until[(player, kind)]
            return 0.0
        return left

    def start(self, player: str, kind: str, seconds: float) -> None:
        if seconds <= 0:
            return
        now = time.monotonic()
        self._until[(player, kind)] = now + seconds
        if len(self._until) > 4096:
            for key, until in list(self._until.items()):
                if until <= now:
                    del self._until[key]


# ---------------------------------------------------------------- frames


class Refusal:
    """What a refused frame decodes to: an event the namespace answers with an ``error`` of this code."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message

    def __repr__(self) -> str:
        return f"Refusal({self.code!r})"


class EdgePacket(sio_packet.Packet):
    """A Socket.IO packet that decodes without raising: what the service does not accept becomes a ``Refusal``
    event on the default namespace, keeping the packet's ack id when it had one.

    It never sends binary attachments either, which also spares the scan of every outgoing payload for bytes."""

    uses_binary_events = False
    namespaces = frozenset({"/"})

    def decode(self, encoded_packet):
        problem = None
        try:
            if type(encoded_packet) is not str:
                problem = ("invalid_frame", "binary messages are not accepted")
            else:
                attachments = super().decode(encoded_packet)
                problem = self._problem(attachments)
                if problem is None:
                    return attachments
        except Exception:  # malformed JSON, framing or ids; nesting deeper than the parser goes
            problem = ("invalid_frame", "the message is not a Socket.IO packet (malformed framing or JSON)")
        self.packet_type, self.namespace = sio_packet.EVENT, "/"
        self.data = [Refusal(*problem)]
        if type(self.id) is not int:
            self.id = None
        return 0

    def _problem(self, attachments: int) -> tuple[str, str] | None:
        kind = self.packet_type
        if attachments or kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            return "invalid_frame", "binary attachments are not accepted"
        if kind == sio_packet.EVENT:
            if self.namespace is not None and self.namespace not in self.namespaces:
                return "invalid_frame", f"there is no namespace {clip(self.namespace)!r} on this service"
            data = self.data
            if type(data) is not list or not data or type(data[0]) is not str:
                return "invalid_frame", "an event is a JSON array that starts with the event's name"
            if data[0] in RESERVED_EVENTS:
                return "unknown_event", f"{data[0]!r} is reserved by Socket.IO, not an event of this protocol"
            return None
        if kind in (sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.ACK):
            return None  # python-socketio answers these itself (CONNECT_ERROR for an unknown namespace)
        return "invalid_frame", "this packet type is not sent by clients"


def websocket_frame_problem(message: str) -> str | None:
    """Why a websocket text frame is not an Engine.IO packet the service takes, or None.

    Engine.IO parses what follows a packet's type as JSON unless it starts with a digit, and Socket.IO packets
    always do: a message (type 4) must carry one; control packets carry nothing or ``probe``."""
    if len(message) > 1 and message[0] == "4":
        return None if "0" <= message[1] <= "9" else "an Engine.IO message must carry a Socket.IO packet"
    if not message:
        return "empty frame"
    if message[0] in "12356" and message[1:] in ("", "probe"):
        return None
    return "not an Engine.IO packet"


def polling_payload_problem(body: bytes) -> str | None:
    """Why the body of a polling POST is not a payload the service takes, or None: UTF-8 text of at most 16
    Engine.IO packets (separated by 0x1E), each a Socket.IO message, a pong or a close."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the payload is not UTF-8 text"
    if not text:
        return None
    packets = text.split("\x1e")
    if len(packets) > 16:
        return "more than 16 packets in one payload"
    for item in packets:
        if item in ("1", "3") or (len(item) > 1 and item[0] == "4" and "0" <= item[1] <= "9"):
            continue
        return "the payload holds a packet that is not an Engine.IO message, pong or close"
    return None


# ---------------------------------------------------------------- outgoing buffers


class _SizedQueue(asyncio.Queue):
    """An Engine.IO connection's queue that also counts the characters of what it holds, and how many wait to
    take from it (the writer, idle: everything it took is written)."""

    nbytes = 0
    waiting = 0

    async def get(self):
        # A woken getter counts as waiting until it runs and takes its item, which keeps the queue non-empty
        # meanwhile: "empty and waited on" is exactly "every packet put is written".
        self.waiting += 1
        try:
            return await super().get()
        finally:
            self.waiting -= 1

    def _put(self, item):
        self.nbytes += _size(item)
        super()._put(item)

    def _get(self):
        item = super()._get()
        self.nbytes -= _size(item)
        return item


def _size(pkt) -> int:
    data = getattr(pkt, "data", None)
    return len(data) if isinstance(data, (str, bytes)) else 0


class BoundedEngineIO(engineio.AsyncServer):
    """Engine.IO whose per-connection queue is bounded: a connection whose queue is over ``send_buffer_messages``
    or ``send_buffer_bytes`` when something more is sent to it is closed, and what waited for it is dropped.

    With the websocket transport the queue is emptied into Tornado at once (the handler bounds that side); with
    long-polling it is what waits for the client's next request."""

    send_buffer_bytes = 1 << 20
    send_buffer_messages = 1000
    log = logging.getLogger("jupyter_duel_server")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._async = dict(self._async, websocket=EdgeWebSocket)
        self._dropping: set[asyncio.Task] = set()

    def create_queue(self, *args, **kwargs):
        return _SizedQueue(*args, **kwargs)

    def send_now(self, sid: str, data: str) -> bool:
        """Send the message ``data`` to connection ``sid`` without awaiting. Written to its websocket at once
        (True) when its writer has written everything queued before, so the order of its frames holds; else
        queued like ``send`` (False), or the connection closed when its queue is over the bounds."""
        socket = self.sockets.get(sid)
        if socket is None or socket.closing or socket.closed:
            return False
        queue = socket.queue
        handler = getattr(socket, "edge_handler", None)
        if handler is not None and socket.upgraded and not socket.upgrading and queue.waiting and not queue.qsize():
            try:
                handler.write_message("4" + data)
            except tornado.websocket.WebSocketClosedError:
                pass  # closing (or closed for a full buffer): what the queue would have held is dropped as well
            return True
        full = self._full(queue)
        if full:
            task = asyncio.ensure_future(self.drop(sid, full))
            self._dropping.add(task)
            task.add_done_callback(self._dropping.discard)
            return False
        queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, data=data))
        return False

    async def send_packet(self, sid, pkt):
        socket = self.sockets.get(sid)
        if socket is not None:
            if socket.closing:
                return
            full = self._full(socket.queue)
            if full:
                await self.drop(sid, full)
                return
        await super().send_packet(sid, pkt)

    def _full(self, queue: _SizedQueue) -> str | None:
        """Why nothing more may be queued for a connection (its queue is over the bounds), or None."""
        if queue.qsize() >= self.send_buffer_messages or queue.nbytes > self.send_buffer_bytes:
            return f"{queue.qsize()} messages ({queue.nbytes} characters) not taken by the client"
        return None

    async def drop(self, sid: str, why: str) -> None:
        """Close the connection ``sid`` at once (disconnect handlers run), dropping what waits for it."""
        socket = self.sockets.get(sid)
        if socket is None or socket.closing or socket.closed:
            return
        self.log.warning("jupyter-duel: connection closed by the service: %s", why)
        _discard(socket.queue)
        await socket.close(wait=False, abort=True, reason=self.reason.SERVER_DISCONNECT)
        _discard(socket.queue)
        socket.queue.put_nowait(None)  # wakes a waiting poll or the websocket writer, which end the transport
        self.sockets.pop(sid, None)


class EdgeWebSocket(tornado_driver.WebSocket):
    """Engine.IO's Tornado websocket wrapper, which also links the Engine.IO session and the Tornado handler
    that carries it, both ways, for the hot path."""

    async def __call__(self, environ):
        handler = environ["tornado.handler"]
        socket = self.handler.__self__  # self.handler is the session's bound _websocket_handler
        handler.eio_socket, socket.edge_handler = socket, handler
        try:
            await super().__call__(environ)
        finally:
            handler.eio_socket = socket.edge_handler = None


def _discard(queue: asyncio.Queue) -> None:
    while True:
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        queue.task_done()


class EdgeServer(socketio.AsyncServer):
    """python-socketio's server with the service's packet class and the bounded Engine.IO server."""

    def __init__(self, *, send_buffer_bytes: int, send_buffer_messages: int, log: logging.Logger, **kwargs):
        super().__init__(serializer=EdgePacket, **kwargs)
        self.eio.send_buffer_bytes = send_buffer_bytes
        self.eio.send_buffer_messages = send_buffer_messages
        self.eio.log = log
        #: Event name -> ``handler(sid, payload)``, which handles a frame of that event on the hot path: it
        #: returns True (handled), False (not taken, nothing done: the frame goes the usual way), or an awaitable
        #: that finishes handling it (awaited before the connection's next frame is read).
        self.hot_events: dict[str, object] = {}

    def hot_frame(self, eio_sid: str, message: str):
        """Handle the websocket message ``message`` (``42["name",payload]``: an event without ack on the default
        namespace) on the hot path: what its ``hot_events`` handler returns, or False."""
        end = message.find('"', 4)
        handler = self.hot_events.get(message[4:end])
        if handler is None:
            return False
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is None:
            return False
        try:
            data = orjson.loads(message[2:])
        except ValueError:  # malformed, too deep, integers over 64 bits: the usual path says which
            return False
        if type(data) is not list or len(data) != 2:
            return False
        return handler(sid, data[1])

    def _engineio_server_class(self):
        return BoundedEngineIO


def edge_handler(handler_cls, sio: EdgeServer, *, max_message_bytes: int, log: logging.Logger):
    """The Tornado handler of the Socket.IO endpoint (``handler_cls``, from ``socketio.get_tornado_handler``)
    with the edge's bounds; see the module's docstring."""
    eio = sio.eio

    class EdgeSocketIOHandler(handler_cls):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.receive_queue = asyncio.Queue(RECEIVE_QUEUE)
            self.eio_socket = None  # the Engine.IO session it carries (EdgeWebSocket)
            self._reader_waiting = False
            self._closing_put = None
            self._unsent_bytes = 0
            self._unsent_messages = 0

        def check_origin(self, origin: str) -> bool:
            # The websocket upgrade: the same rule as Engine.IO's polling requests (origins.py).
            return sio.eio.cors_allowed_origins(origin, tornado_environ(self.request))

        @property
        def max_message_size(self) -> int:
            # A larger websocket message closes the connection with code 1009 before it is read into memory.
            return max_message_bytes

        async def post(self, *args, **kwargs):
            body = self.request.body
            if len(body) > max_message_bytes:
                sid = self.get_query_argument("sid", None)
                if sid is not None:
                    await eio.drop(sid, f"a polling request of {len(body)} bytes")
                return self._refuse(413, f"the payload is over the {max_message_bytes}-byte limit; session closed")
            problem = polling_payload_problem(body)
            if problem is not None:
                return self._refuse(400, problem)
            await super().post(*args, **kwargs)

        def _refuse(self, status: int, message: str) -> None:
            self.set_status(status)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(json.dumps(message))

        def on_message(self, message):
            # Not a coroutine: Tornado would run each in a task of its own. What has to wait is returned, and
            # Tornado awaits it before reading the connection's next frame.
            if self.ws_connection is None:
                return None  # closing: nothing after a refused frame is handled
            if type(message) is str and not (len(message) > 1 and message[0] == "4" and "0" <= message[1] <= "9"):
                problem = websocket_frame_problem(message)
                if problem is not None:
                    self.close(1002, problem)  # protocol error: the one reply Engine.IO framing allows
                    return None
            elif message[:4] == '42["' and self._reader_waiting and not self.receive_queue.qsize():
                # Engine.IO's reader has handled every earlier frame: handling this one now keeps their order.
                # Not before the upgrade is complete, where Engine.IO takes a frame as part of the upgrade.
                socket = self.eio_socket
                if socket is not None and socket.upgraded and not socket.upgrading and not socket.closing:
                    taken = sio.hot_frame(socket.sid, message)
                    if taken is not False:
                        return None if taken is True else taken
            try:
                self.receive_queue.put_nowait(message)
            except asyncio.QueueFull:
                return self.receive_queue.put(message)  # beyond RECEIVE_QUEUE, the socket is not read meanwhile
            return None

        async def get_next_message(self):
            self._reader_waiting = True
            try:
                return await self.receive_queue.get()
            finally:
                self._reader_waiting = False

        def on_close(self):
            try:
                self.receive_queue.put_nowait(None)
            except asyncio.QueueFull:
                self._closing_put = asyncio.ensure_future(self.receive_queue.put(None))

        def write_message(self, message, binary=False):
            if self._unsent_bytes > eio.send_buffer_bytes or self._unsent_messages >= eio.send_buffer_messages:
                self._overflow()
                raise tornado.websocket.WebSocketClosedError()
            future = super().write_message(message, binary=binary)
            size = len(message)
            self._unsent_bytes += size
            self._unsent_messages += 1
            future.add_done_callback(functools.partial(self._written, size))
            return future

        def _written(self, size: int, future) -> None:
            self._unsent_bytes -= size
            self._unsent_messages -= 1
            if not future.cancelled():
                future.exception()  # a write cut short by a close is expected: retrieved, so never logged

        def _overflow(self) -> None:
            if self.ws_connection is None:
                return
            log.warning(
                "jupyter-duel: connection closed by the service: %d messages (%d characters) not read by the client",
                self._unsent_messages,
                self._unsent_bytes,
            )
            # Tornado's own abort: the socket is closed at once and its write buffer dropped; on_close follows,
            # which ends the Engine.IO session (disconnect handlers run).
            self.on_connection_close()

    return EdgeSocketIOHandler
