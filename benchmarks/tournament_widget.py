"""The notebook's tournament panel against a real service: how fast a change reaches it, how often it asks.

    python benchmarks/tournament_widget.py [--players 8] [--idle 60]

Starts a standalone service and a real kernel; the kernel creates an arena as an instructor and displays
``t.widget()``. Then:

- **Update latency**: players join one at a time (real Socket.IO clients); for each, the time from the service's
  ``join_tournament`` ack to the panel's standings model carrying the player's name on IOPub (what a browser
  would render). Median and max.
- **Requests while nothing happens**: the panel's long-poll requests (``Tournament.wait`` calls, counted in the
  kernel) during ``--idle`` seconds with the tournament open (no clock), then as many with it running (the status
  line shows the time left, so the panel also asks when that would change), with every player in a game where
  nobody types.

Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "kernel"))

from helpers import RATED_GUESTS, Player, ServiceProcess  # noqa: E402
from jupyter_duel_server.auth import Identity, IdentitySigner  # noqa: E402
from widget_frontend import kernel  # noqa: E402


async def run(players: int, idle_s: float) -> None:
    service = ServiceProcess(Path(tempfile.mkdtemp()), *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    clients: list[Player] = []
    try:
        teacher = IdentitySigner("test-secret").issue(Identity("teach", False, instructor=True))
        async with kernel() as k:
            tid = (await k.run(
                "from jupyter_duel.tournament import Tournament, connect\n"
                "from IPython.display import display\n"
                f"connect({service.url!r}, {teacher!r})\n"
                "t = Tournament.create('Bench arena', 'arena', duration_s=3600)\n"
                "calls = []\n"
                "_wait = t.wait\n"
                "def counted(*args, **kwargs):\n"
                "    calls.append(time.monotonic())\n"
                "    return _wait(*args, **kwargs)\n"
                "import time\n"
                "t.wait = counted\n"
                "panel = t.widget()\n"
                "display(panel)\n"
                "print(t.id)\n")).strip()
            latencies = []
            for i in range(players):
                player = await Player(service.url, f"bench{i}").connect()
                clients.append(player)
                assert (await player.call("join_tournament", {"tournament_id": tid}))["ok"]
                acked = time.perf_counter()
                await k.until(lambda: f"bench{i}<" in k.state("jd-tournament-standings")["value"], 30)
                latencies.append((time.perf_counter() - acked) * 1000)
            print(f"players joined: {players}")
            print(f"join ack -> panel standings updated: median {statistics.median(latencies):.1f} ms, "
                  f"max {max(latencies):.1f} ms")

            async def requests_during(seconds: float) -> int:
                before = int(await k.run("print(len(calls))"))
                await asyncio.sleep(seconds)
                return int(await k.run("print(len(calls))")) - before

            print(f"long-poll requests in {idle_s:.0f} s, open, nothing happening: {await requests_during(idle_s)}")
            await k.run("t.start()")
            await asyncio.sleep(3)  # the arena pairs everyone; those changes are not idle time
            print(f"long-poll requests in {idle_s:.0f} s, running (time left shown), nobody typing: "
                  f"{await requests_during(idle_s)}")
    finally:
        for player in clients:
            await player.close()
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=8)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(run(args.players, args.idle))


if __name__ == "__main__":
    main()
