"""The README's standalone example: `jupyter duel serve --allow-guests` with the JupyterLab page's origin allowed,
and `jupyter lab --DuelExtension.service_url=...`: the panel connects to that service, and two browsers duel there
as guests."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from browsers import player
from helpers import ARTIFACTS, JupyterProcess, ServiceProcess


@pytest.fixture
def standalone(tmp_path):
    lab = JupyterProcess(tmp_path, "lab")
    origin = f"http://127.0.0.1:{lab.port}"
    service = ServiceProcess(tmp_path, "--allow-guests", "--DuelService.countdown_s=1",
                             f"--DuelService.cors_allowed_origins={json.dumps([origin])}").start()
    lab.extra = (f"--DuelExtension.service_url={service.url}/",)
    lab.start()
    yield lab, service
    lab.stop()
    service.stop()


def test_the_panel_plays_on_a_standalone_service(chromium, standalone):
    lab, service = standalone
    url = lab.url("lab", token=lab.token)
    alice, bob = player(chromium, url, "Alice"), player(chromium, url, "Bob")
    for page in (alice, bob):
        page.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=30_000)
    # The battle is the standalone service's, between two guests of that service.
    assert service.counts()["battles"] == 1
    alice.screenshot(path=ARTIFACTS / "standalone-duel.png")
