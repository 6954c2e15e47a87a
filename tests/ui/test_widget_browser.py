"""DuelClient in a real browser: a notebook cell in JupyterLab and in Jupyter Notebook 7 shows the widget, which
plays a duel against a Socket.IO player on a standalone service and wins it."""

from __future__ import annotations

import asyncio
import json
import re
import threading

import pytest
from playwright.sync_api import expect

from browsers import LIBRARY, VIEWPORT
from helpers import ARTIFACTS, RATED_GUESTS, JupyterProcess, Player, ServiceProcess

PAGES = {"lab": "lab/tree/duel.ipynb", "notebook": "notebooks/duel.ipynb"}
#: The notebook's kernel is connected and idle: JupyterLab's status bar says so, Notebook 7's toolbar indicator.
IDLE = {
    "lab": "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some("
           "e => /\\| Idle$/.test(e.textContent.trim()))",
    "notebook": "() => document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]') !== null",
}


@pytest.fixture
def rival_loop():
    """An event loop in a thread of its own for the Socket.IO opponent (Playwright's sync API owns this one)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_the_widget_plays_in_the_browser(chromium, tmp_path, rival_loop, app):
    service = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    server = JupyterProcess(tmp_path, app)
    (tmp_path / "work").mkdir(exist_ok=True)
    cell = f"from jupyter_duel import DuelClient\nDuelClient({service.url!r}, name='Kim', ranked=False)"
    (tmp_path / "work" / "duel.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": "duel", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": cell}],
    }))
    server.start()
    rival = None
    try:
        page = chromium.new_context(viewport=VIEWPORT).new_page()
        page.goto(server.url(PAGES[app], token=server.token))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
        # Run the cell once the kernel is ready (the widget needs its kernel to be drawn at all); a run sent before
        # the front end has its kernel is dropped, so run it again until its prompt says it ran.
        page.wait_for_function(IDLE[app], timeout=90_000)
        prompt = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt")
        for _ in range(9):
            dialog = page.locator(".jp-Dialog")
            if dialog.count() and "Select Kernel" in dialog.first.inner_text():
                # Asked before its kernel was there (Notebook 7 may), it asks which: Python 3, as a user answers.
                dialog.first.locator("button.jp-mod-accept").click()
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.keyboard.press("Control+Enter")
            try:
                expect(prompt).to_have_text(re.compile(r"\[(\*|1)\]"), timeout=10_000)
                break
            except AssertionError:
                continue
        expect(page.locator(".jd-status")).to_contain_text("Connected", timeout=60_000)
        page.locator("button.jd-queue").click()
        expect(page.locator(".jd-status")).to_contain_text("Waiting for an opponent", timeout=30_000)

        async def join():
            player = await Player(service.url, "Bob").connect()
            assert (await player.call("join_queue", {"pool": "any", "ranked": False}))["ok"]
            match = await player.expect("match_found")
            ok = await player.call("sync_code", {"battle_id": match["battle_id"], "seq": 1, "text": "# Bob's\n"})
            assert ok["ok"]
            return player, match

        rival, match = rival_loop(join())
        challenge = LIBRARY.get(match["challenge"]["id"])
        expect(page.locator(".jd-challenge")).to_contain_text(challenge.title, timeout=30_000)
        expect(page.locator(".jd-opponent-code textarea")).to_have_value("# Bob's\n", timeout=30_000)
        code = page.locator(".jd-code textarea")
        expect(code).to_have_value(match["challenge"]["starter_code"])
        code.fill(challenge.reference)
        page.locator("button.jd-submit").click()
        expect(page.locator(".jd-outcome")).to_contain_text("You won!", timeout=120_000)
        expect(page.locator(".jd-outcome")).to_contain_text("# Bob's")  # both codes at the end
        page.screenshot(path=ARTIFACTS / f"widget-{app}.png", full_page=True)
        complete = rival_loop(rival.expect("battle_complete", timeout=30))
        assert complete["winner"] == "guest:Kim" and complete["reason"] == "solved"
    finally:
        if rival is not None:
            rival_loop(rival.close())
        server.stop()
        service.stop()
