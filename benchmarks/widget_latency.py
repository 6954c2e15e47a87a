#!/usr/bin/env python3
"""Notebook-client latency: how long an edit takes between a ``DuelClient`` in a real kernel and its opponent.

Starts ``jupyter duel serve`` (guests allowed, no countdown) and a Jupyter server, runs ``DuelClient`` in a kernel of
that server, and plays a casual battle (the live mirror) against a Socket.IO player. Then, ``--edits`` times each:

- **widget -> opponent**: from the front end's ``update`` of the code box (a comm message on the kernel's
  websocket) to the opponent's ``opponent_code`` carrying the text: the kernel, the client's debounce
  (``--sync-interval``, the widget's ``sync_interval_s``), the service's relay;
- **opponent -> widget**: from the opponent's ``sync_code`` to the kernel publishing the opponent box's new value
  on IOPub (what a front end renders).

Prints median, p95 and max of each, in milliseconds (``--json``: one JSON line). Only 127.0.0.1 traffic; both
processes are stopped at the end.

    python benchmarks/widget_latency.py --edits 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import RATED_GUESTS, JupyterProcess, Player, ServiceProcess  # noqa: E402
from kernels import ServerKernel, WidgetFrontend  # noqa: E402


def figures(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1), "max_ms": round(ordered[-1], 1)}


async def run(edits: int, sync_interval: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="widget-latency-"))
    service = ServiceProcess(tmp, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    jupyter = JupyterProcess(tmp, "server", "/").start()
    try:
        async with ServerKernel(jupyter) as kernel:
            out = await kernel.execute("from jupyter_duel import DuelClient\n"
                                       f"w = DuelClient({service.url!r}, name='Bench', ranked=False, "
                                       f"sync_interval_s={sync_interval})")
            assert not out["errors"], out
            ui = WidgetFrontend(kernel)
            await ui.until("jd-status", lambda v: "Connected" in (v or ""))
            await ui.click("jd-queue")
            await ui.until("jd-status", lambda v: "Waiting" in (v or ""))
            rival = await Player(service.url, "Rival").connect()
            assert (await rival.call("join_queue", {"pool": "any", "ranked": False}))["ok"]
            match = await rival.expect("match_found")
            await ui.until("jd-submit", lambda v: v is False, key="disabled")

            outgoing = []
            text = ""
            for i in range(edits):
                text += f"x{i} = {i}\n"
                start = time.perf_counter()
                await ui.set("jd-code", value=text)
                while True:
                    event = await rival.expect("opponent_code", timeout=30)
                    if event["text"] == text or (event["delta"] and f"x{i} = {i}" in json.dumps(event["delta"])):
                        break
                outgoing.append((time.perf_counter() - start) * 1000)

            incoming = []
            theirs = ""
            for i in range(edits):
                theirs += f"y{i} = {i}\n"
                mark = len(kernel.messages)
                start = time.perf_counter()
                assert (await rival.call("sync_code", {"battle_id": match["battle_id"], "seq": i + 1,
                                                       "text": theirs}))["ok"]
                target = ui.find("jd-opponent-code")
                await kernel.wait_for(lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == target
                                      and m["content"]["data"].get("state", {}).get("value") == theirs,
                                      timeout=30, start=mark)
                incoming.append((time.perf_counter() - start) * 1000)
            await rival.close()
            await kernel.execute("w.close()")
    finally:
        jupyter.stop()
        service.stop()
    return {"edits": edits, "sync_interval_s": sync_interval, "widget_to_opponent": figures(outgoing),
            "opponent_to_widget": figures(incoming)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=50, help="edits timed each way (default 50)")
    parser.add_argument("--sync-interval", type=float, default=0.25,
                        help="the widget's sync_interval_s, its debounce (default 0.25, the widget's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if args.edits < 1 or args.sync_interval < 0:
        parser.error("--edits must be at least 1 and --sync-interval not negative")
    result = asyncio.run(run(args.edits, args.sync_interval))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"DuelClient latency over {result['edits']} edits each way (sync_interval_s = "
              f"{result['sync_interval_s']} s)")
        for key, label in (("widget_to_opponent", "widget -> opponent"), ("opponent_to_widget",
                                                                           "opponent -> widget")):
            f = result[key]
            print(f"  {label:20} median {f['median_ms']:7.1f} ms   p95 {f['p95_ms']:7.1f} ms   "
                  f"max {f['max_ms']:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
