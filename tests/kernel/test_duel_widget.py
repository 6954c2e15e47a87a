"""DuelClient in a real kernel, played through its widget models against a real player on a real service.

The test is the widget front end: it reads the models the kernel publishes on IOPub and sends the messages a
front end sends (value updates, button clicks); the opponent is a real Socket.IO client (helpers.Player).
"""

from __future__ import annotations

import asyncio
import html
import json

import pytest

from helpers import RATED_GUESTS, JupyterProcess, Player, ServiceProcess
from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server.protocol import apply_delta
from kernels import ServerKernel, WidgetFrontend

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    server = JupyterProcess(tmp_path_factory.mktemp("server"), "server", "/",
                            extra=("--DuelService.countdown_s=0",)).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path, monkeypatch):
    """This process's Jupyter runtime directory (where connections keep login cookies): the test's own."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))


@pytest.fixture
def service(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    yield svc
    svc.stop()


@pytest.fixture
async def kernel(jupyter):
    async with ServerKernel(jupyter) as k:
        yield k


async def start_widget(kernel: ServerKernel, args: str) -> WidgetFrontend:
    out = await kernel.execute(f"from jupyter_duel import DuelClient\nw = DuelClient({args})\nw")
    assert not out["errors"], out
    ui = WidgetFrontend(kernel)
    await ui.until("jd-status", lambda v: "Connected" in (v or ""))
    return ui


def no_tracebacks(kernel: ServerKernel) -> None:
    """Nothing the kernel published was an error or a traceback."""
    for msg in kernel.messages:
        assert msg["msg_type"] != "error", msg["content"]
        if msg["msg_type"] == "stream":
            assert "Traceback" not in msg["content"]["text"], msg["content"]["text"]


async def opponent_sees(player: Player, text: str, seen: str = "") -> str:
    """Follow ``player``'s ``opponent_code`` events (full texts and deltas) until the mirror shows ``text``."""
    while seen != text:
        event = await player.expect("opponent_code", timeout=15)
        seen = event["text"] if event["text"] is not None else apply_delta(seen, event["delta"])
    return seen


async def kernel_json(kernel: ServerKernel, expr: str):
    out = await kernel.execute(f"import json as _j; print(_j.dumps({expr}))")
    assert not out["errors"], out
    return json.loads(out["stdout"])


async def test_ranked_duel_won_in_the_widget(kernel, service):
    """Queue, match, the statement, edit (the opponent sees the outline), the opponent's outline, submit the
    reference, win, the ratings and both codes."""
    ui = await start_widget(kernel, f"{service.url!r}, name='Kim'")
    assert "Kim" in ui.value("jd-who") and "guest" in ui.value("jd-who")
    # Bad state first: nothing to submit to. A clear message, no traceback.
    await ui.click("jd-submit")
    await ui.until("jd-status", lambda v: "No battle is running" in v)

    await ui.set("jd-pool", index=1)  # "easy"
    await ui.click("jd-queue")
    await ui.until("jd-status", lambda v: "Waiting for an opponent in the easy pool (ranked, mirror shape)" in v)
    bob = await Player(service.url, "Bob").connect()
    assert (await bob.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
    match = await bob.expect("match_found")
    challenge = LIBRARY.get(match["challenge"]["id"])
    assert match["mirror"]["mode"] == "shape" and match["opponent"]["display_name"] == "Kim"

    shown = await ui.until("jd-challenge", lambda v: challenge.title in (v or ""))
    assert html.escape(match["challenge"]["signature"]) in shown
    for sample in match["challenge"]["samples"]:
        assert html.escape(sample["call"]) in shown and html.escape(sample["expected"]) in shown
    assert ui.value("jd-code") == match["challenge"]["starter_code"]
    await ui.until("jd-submit", lambda v: v is False, key="disabled")
    # A ranked battle's mirror shows outlines: the opponent's code box is hidden, the outline shown.
    assert ui.layout("jd-opponent-code")["display"] == "none" and ui.layout("jd-opponent-shape")["display"] == ""

    # Our edit reaches the service: the opponent sees its outline (never its text).
    draft = "def draft():\n    return 12345\n"
    await ui.set("jd-code", value=draft)
    shape = await bob.expect("opponent_shape", timeout=15)
    assert shape["chars"] == len(draft) and shape["lines"][:2] == [[0, 12], [4, 12]]
    # The opponent's typing shows as an outline in the widget.
    bob_code = "def guess(x):\n    return x\n"
    assert (await bob.call("sync_code", {"battle_id": match["battle_id"], "seq": 1, "text": bob_code}))["ok"]
    outline = await ui.until("jd-opponent-shape", lambda v: "▇" in (v or ""), timeout=15)
    assert "guess" not in outline and f"{len(bob_code)} characters" in outline

    # Submit the reference solution: every test passes, the battle is won.
    await ui.set("jd-code", value=challenge.reference)
    await ui.click("jd-submit")
    outcome = await ui.until("jd-outcome", lambda v: "You won!" in (v or ""), timeout=90)
    complete = await bob.expect("battle_complete", timeout=30)
    assert complete["winner"] == "guest:Kim" and complete["reason"] == "solved"
    kim = next(r for r in complete["ratings"] if r["name"] == "guest:Kim")
    assert f"{kim['before']:.0f} → {kim['after']:.0f}" in outcome and kim["after"] > kim["before"]
    assert "guess(x)" in outcome  # both codes, once the battle is over
    results = ui.value("jd-results")
    assert "✓ hidden" in results and "✗" not in results
    assert "Submission: AC" in results
    assert ui.value("jd-submit", "disabled") is True

    # After the battle, a click reaching the kernel anyway (a stale front end): a message, not a traceback.
    await ui.click("jd-forfeit")
    await ui.until("jd-status", lambda v: "No battle is running" in v)
    assert await kernel_json(kernel, "[w.phase, w.result['winner']]") == ["over", "guest:Kim"]
    no_tracebacks(kernel)
    await bob.close()


async def test_casual_duel_live_mirror_samples_and_forfeit(kernel, service):
    ui = await start_widget(kernel, f"{service.url!r}, name='Noor'")
    await ui.set("jd-ranked", value=False)
    await ui.click("jd-queue")
    await ui.until("jd-status", lambda v: "casual, mirror live" in v)
    zed = await Player(service.url, "Zed").connect()
    assert (await zed.call("join_queue", {"pool": "any", "ranked": False}))["ok"]
    match = await zed.expect("match_found")
    await ui.until("jd-challenge", lambda v: match["challenge"]["title"] in (v or ""))
    bid = match["battle_id"]

    # Live mirror, both ways: the opponent's edits (full text, then a delta) appear as they type.
    assert (await zed.call("sync_code", {"battle_id": bid, "seq": 1, "text": "def a():\n    pass\n"}))["ok"]
    await ui.until("jd-opponent-code", lambda v: v == "def a():\n    pass\n")
    delta = [{"retain": 13}, {"delete": 4}, {"insert": "return 7"}]
    assert (await zed.call("sync_code", {"battle_id": bid, "seq": 2, "delta": delta}))["ok"]
    await ui.until("jd-opponent-code", lambda v: v == "def a():\n    return 7\n")
    await ui.set("jd-code", value="x = 1\n")
    await ui.set("jd-code", value="x = 1\ny = 2\n")
    await opponent_sees(zed, "x = 1\ny = 2\n")

    # Run the samples: the results are shown, with each sample's call.
    await ui.set("jd-code", value=LIBRARY.get(match["challenge"]["id"]).reference)
    await ui.click("jd-run")
    results = await ui.until("jd-results", lambda v: "Samples: AC" in (v or ""), timeout=90)
    assert "✓ sample 1/" in results and match["challenge"]["samples"][0]["call"].split("(")[0] in results

    # Forfeit: the opponent wins; a casual battle changes no rating.
    await ui.click("jd-forfeit")
    outcome = await ui.until("jd-outcome", lambda v: "Zed won" in (v or ""), timeout=30)
    assert "forfeit" in outcome and "ratings do not change" in outcome
    assert (await zed.expect("battle_complete"))["winner"] == "guest:Zed"
    no_tracebacks(kernel)
    await zed.close()


async def test_embedded_service_and_resume_after_a_dropped_connection(jupyter, kernel):
    """``DuelClient()`` with nothing given plays on its Jupyter server's embedded service as the Jupyter user; a
    dropped connection reconnects, registers again and resumes the battle with its resume token, and what was
    typed meanwhile reaches the service."""
    ui = await start_widget(kernel, "")
    assert "guest" not in ui.value("jd-who")
    await ui.set("jd-ranked", value=False)  # the opponent is a guest: guests play casual battles here
    await ui.click("jd-queue")
    await ui.until("jd-status", lambda v: "Waiting for an opponent" in v)

    from jupyter_duel.connection import connect

    conn = connect(jupyter.root, jupyter.token, name="Ola")
    ola = Player(jupyter.root)
    await ola.client.connect(**conn.socketio_connect_kwargs())
    await ola.register(conn.register_payload())
    assert (await ola.call("join_queue", {"pool": "any", "ranked": False}))["ok"]
    match = await ola.expect("match_found")
    assert match["opponent"]["guest"] is False and match["mirror"]["mode"] == "live"
    await ui.until("jd-challenge", lambda v: match["challenge"]["title"] in (v or ""))
    await ui.set("jd-code", value="before = 1\n")
    seen = await opponent_sees(ola, "before = 1\n")

    # The kernel's websocket drops (as on a network failure): python-socketio reconnects.
    out = await kernel.execute("await w._sio.eio.ws.close()")
    assert not out["errors"], out
    await ui.set("jd-code", value="before = 1\noffline = 3\n")  # typed while the connection is down
    gone = await ola.expect("opponent_status", timeout=20)
    assert gone["connected"] is False and gone["grace_s"]
    back = await ola.expect("opponent_status", timeout=30)
    assert back["connected"] is True
    await ui.until("jd-status", lambda v: "Back in your battle" in v)
    seen = await opponent_sees(ola, "before = 1\noffline = 3\n", seen)
    assert ui.value("jd-code") == "before = 1\noffline = 3\n"
    # The battle goes on from the resumed connection.
    await ui.set("jd-code", value="before = 1\noffline = 3\nafter = 2\n")
    await opponent_sees(ola, "before = 1\noffline = 3\nafter = 2\n", seen)
    assert await kernel_json(kernel, "w._seq") >= 3
    await ui.click("jd-forfeit")
    await ui.until("jd-outcome", lambda v: "Ola won" in (v or ""), timeout=30)
    assert (await ola.expect("battle_complete"))["reason"] == "forfeit"
    no_tracebacks(kernel)
    await ola.close()


async def test_no_service_is_a_message(kernel):
    """A service that is not there: the widget says so (no traceback), and its buttons stay off."""
    from helpers import free_port

    out = await kernel.execute(
        f"from jupyter_duel import DuelClient\nw = DuelClient('http://127.0.0.1:{free_port()}/', name='X')\nw")
    assert not out["errors"], out
    ui = WidgetFrontend(kernel)
    status = await ui.until("jd-status", lambda v: "Cannot reach the duel service" in (v or ""))
    assert "service_unreachable" in status
    assert ui.value("jd-queue", "disabled") is True
    await asyncio.sleep(0)
    no_tracebacks(kernel)


async def test_practice_bot_when_nobody_comes(kernel, tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", "--DuelService.bot_after_s=1").start()
    try:
        ui = await start_widget(kernel, f"{svc.url!r}, name='Solo'")
        assert ui.layout("jd-bot")["display"] == "none"
        await ui.click("jd-queue")
        await ui.until("jd-status", lambda v: "Waiting for an opponent" in v)
        # The queue offers the bot after a while (a later queue_update says so): the button appears.
        for _ in range(60):
            if ui.layout("jd-bot")["display"] == "":
                break
            await asyncio.sleep(0.5)
        assert ui.layout("jd-bot")["display"] == ""
        await ui.click("jd-bot")
        await ui.until("jd-opponent", lambda v: "(bot)" in (v or ""))
        await ui.until("jd-submit", lambda v: v is False, key="disabled")
        await ui.click("jd-forfeit")
        await ui.until("jd-outcome", lambda v: "won" in (v or "") and "forfeit" in v, timeout=30)
        no_tracebacks(kernel)
    finally:
        svc.stop()
