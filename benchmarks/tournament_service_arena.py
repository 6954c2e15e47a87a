#!/usr/bin/env python3
"""Arena pairing wait on a real service: how long a player who has just finished a game waits for the next one.

Starts ``python -m jupyter_duel serve`` on a fresh SQLite database, creates an arena through the REST API (as an
instructor: an identity token signed with the service's secret), connects N python-socketio clients as guests,
joins them all and starts the arena. Each client plays every game it gets: after a random delay
(``--think-min-s`` .. ``--think-max-s``) it submits the challenge's reference solution (share ``--solve-share``)
or forfeits; the opponent's own action may end the game first. The service pairs free players when a game ends
(no tick), so the figure of interest is, for every game end a client saw, the time from that client's
``battle_complete`` to its next ``match_found`` (both stamped on arrival, one clock). A player may legitimately
wait longer when nobody else is free (they wait for the next game to end): the "alone" column counts waits
during which no other game of the arena ended, which the service cannot shorten.

    python benchmarks/tournament_service_arena.py --clients 60 --duration 60

Prints the games played and the wait's median, p99 and max (ms), overall and for the waits that had a partner
available; exit status 1 when no game was played.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

import socketio  # noqa: E402

from jupyter_duel_server.auth import Identity, IdentitySigner  # noqa: E402
from jupyter_duel_server.challenges import ChallengeLibrary  # noqa: E402

SECRET = "bench-secret"


def start_service(args, tmp: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, JUPYTER_DUEL_SECRET=SECRET, PYTHONUNBUFFERED="1", JUPYTER_CONFIG_DIR=str(tmp / "config"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "server"), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "jupyter_duel", "serve", "--ip=127.0.0.1", "--port=0", "--allow-guests",
           f"--db=sqlite:///{tmp / 'duel.sqlite'}", "--DuelService.countdown_s=0",
           "--DuelService.submit_cooldown_s=0", *args.service_arg]
    if args.no_sandbox:
        cmd.append("--DuelService.sandbox=False")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in proc.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, match.group(1).rstrip("/")
    raise RuntimeError("the service did not start")


def rest(url: str, method: str, path: str, body=None) -> dict:
    token = IdentitySigner(SECRET).issue(Identity("bench-teacher", False, instructor=True))
    request = urllib.request.Request(url + "/api/" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


class Bot:
    def __init__(self, url: str, index: int, args, library: ChallengeLibrary, ends: list[float]):
        self.url, self.index, self.args, self.library, self.ends = url, index, args, library, ends
        self.client = socketio.AsyncClient(reconnection=False)
        self.rng = random.Random(args.seed * 1000 + index)
        self.waits: list[tuple[float, bool]] = []  # (seconds, another game ended meanwhile)
        self.games = 0
        self.free_since: float | None = None
        self.found: asyncio.Queue = asyncio.Queue()
        self.client.on("match_found", self._found)
        self.client.on("battle_complete", self._complete)
        self.current: str | None = None

    async def _found(self, data):
        now = time.monotonic()
        if self.free_since is not None:
            others = any(self.free_since < t < now for t in self.ends)
            self.waits.append((now - self.free_since, others))
            self.free_since = None
        self.current = data["battle_id"]
        await self.found.put(data)

    async def _complete(self, data):
        if data["battle_id"] == self.current:
            now = time.monotonic()
            self.free_since = now
            self.ends.append(now)
            self.current = None
            self.games += 1

    async def connect(self) -> None:
        await self.client.connect(self.url, transports=["websocket"])
        ack = await self.client.call("register_user", {"display_name": f"bench{self.index}"}, timeout=30)
        assert ack["ok"], ack

    async def play(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                found = await asyncio.wait_for(self.found.get(), 0.5)
            except asyncio.TimeoutError:
                continue
            bid = found["battle_id"]
            await asyncio.sleep(self.rng.uniform(self.args.think_min_s, self.args.think_max_s))
            if self.current != bid:
                continue  # the opponent ended it first
            if self.rng.random() < self.args.solve_share:
                code = self.library.get(found["challenge"]["id"]).reference
                await self.client.call("sync_code", {"battle_id": bid, "seq": 1, "text": code}, timeout=30)
                await self.client.call("submit_code", {"battle_id": bid, "code": code}, timeout=30)
            else:
                await self.client.call("forfeit", {"battle_id": bid}, timeout=30)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, waits: list[float]) -> str:
    if not waits:
        return f"{label:<26} n=0"
    ms = [w * 1000 for w in waits]
    return (f"{label:<26} n={len(ms):<5} median {statistics.median(ms):8.1f} ms   p99 {quantile(ms, 0.99):8.1f} ms   "
            f"max {max(ms):8.1f} ms")


async def run(args) -> int:
    library = ChallengeLibrary(ChallengeLibrary.default_dirs())
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_service(args, Path(tmp))
        try:
            arena = rest(url, "POST", "tournaments", {"name": "bench arena", "format": "arena",
                                                      "duration_s": args.duration, "difficulty": args.difficulty})
            ends: list[float] = []
            bots = [Bot(url, i, args, library, ends) for i in range(args.clients)]
            for bot in bots:
                await bot.connect()
                ack = await bot.client.call("join_tournament", {"tournament_id": arena["id"]}, timeout=30)
                assert ack["ok"], ack
            stop = asyncio.Event()
            tasks = [asyncio.create_task(bot.play(stop)) for bot in bots]
            began = time.monotonic()
            rest(url, "POST", f"tournaments/{arena['id']}/start")
            await asyncio.sleep(args.duration)
            stop.set()
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - began
            view = rest(url, "GET", f"tournaments/{arena['id']}")
            for bot in bots:
                await bot.client.disconnect()
        finally:
            proc.terminate()
            proc.wait(20)
    waits = [w for bot in bots for w, _ in bot.waits]
    with_partner = [w for bot in bots for w, others in bot.waits if others]
    alone = len(waits) - len(with_partner)
    print(f"arena: {args.clients} clients, {elapsed:.0f} s, think {args.think_min_s}-{args.think_max_s} s, "
          f"solve share {args.solve_share}, {'no sandbox' if args.no_sandbox else 'sandboxed judge'}")
    print(f"games recorded: {len(view['games'])}  (games seen ended by clients: {sum(b.games for b in bots) // 2})")
    print("wait from battle_complete to the next match_found, per free player:")
    print(line("all waits", waits))
    print(line("another game ended meanwhile", with_partner))
    print(f"{'alone (nobody else freed)':<26} n={alone}")
    print(f"waits over 2 s: {sum(w > 2 for w in waits)}")
    return 0 if view["games"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--duration", type=int, default=60, help="the arena's length in seconds")
    parser.add_argument("--think-min-s", type=float, default=0.5)
    parser.add_argument("--think-max-s", type=float, default=4.0)
    parser.add_argument("--solve-share", type=float, default=0.3, help="share of games a client solves rather than "
                        "forfeits")
    parser.add_argument("--difficulty", default="easy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-sandbox", action="store_true", help="judge in a plain subprocess (a host without "
                        "the sandbox)")
    parser.add_argument("--service-arg", action="append", default=[], help="an option for the service, repeatable")
    args = parser.parse_args()
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
