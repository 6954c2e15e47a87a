#!/usr/bin/env python3
"""The floor for the mirror-latency benchmark: a bare ``websockets`` relay with rooms of two.

No Socket.IO, no validation, no database, no battle rules: what relaying one small JSON message from a player to
the opponent costs on this machine with the same runtime tuning the service uses (uvloop, orjson, the garbage
collector frozen after start-up). ``benchmarks/mirror_latency.py --server floor`` drives it with the same Node.js
load generator (``loadgen/mirror.mjs --floor``), so the service's figures can be read against it.

Protocol (one JSON object per WebSocket text message):
  client -> {"t": "hello", "name": NAME}           join: the first waits, the next one makes a room of two
  server -> {"t": "waiting"}                        to the first of a room
  server -> {"t": "paired", "room": ID, "opponent": NAME}   to both
  client -> {"t": "sync", "seq": N, "delta": [...] | "text": "..."}
  server -> {"t": "code", "room": ID, "seq": N, "delta": ..., "text": ...}   to the opponent

    python benchmarks/floor_relay.py --port 0     # prints "floor relay listening on ws://127.0.0.1:PORT/"
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools

import orjson
import websockets


class Floor:
    """Pairs connections in arrival order and forwards each sync to the other side of its room."""

    def __init__(self) -> None:
        self.waiting = None  # (connection, name) of the player waiting for a partner
        self.rooms = itertools.count(1)

    async def handle(self, ws) -> None:
        link: list = [None]  # the other connection, once paired (set by whichever side pairs)
        try:
            async for raw in ws:
                msg = orjson.loads(raw)
                kind = msg.get("t")
                if kind == "sync":
                    other = link[0]
                    if other is not None:
                        msg["t"] = "code"
                        await other.send(orjson.dumps(msg).decode())
                elif kind == "hello":
                    if self.waiting is None:
                        self.waiting = (ws, msg.get("name"), link)
                        await ws.send('{"t":"waiting"}')
                    else:
                        first, first_name, first_link = self.waiting
                        self.waiting = None
                        room = str(next(self.rooms))
                        first_link[0], link[0] = ws, first
                        await first.send(orjson.dumps({"t": "paired", "room": room, "opponent": msg.get("name")}).decode())
                        await ws.send(orjson.dumps({"t": "paired", "room": room, "opponent": first_name}).decode())
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.waiting is not None and self.waiting[0] is ws:
                self.waiting = None


async def serve(host: str, port: int) -> None:
    floor = Floor()
    async with websockets.serve(floor.handle, host, port, max_size=1 << 20, compression=None) as server:
        bound = server.sockets[0].getsockname()[1]
        gc.collect()
        gc.freeze()  # as the service does after start-up: no full collections over long-lived objects
        print(f"floor relay listening on ws://{host}:{bound}/", flush=True)
        await asyncio.Future()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
