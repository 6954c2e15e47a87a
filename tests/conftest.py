"""Shared fixtures: a real central service in its own process, real Socket.IO players, and a headless Chromium."""

from __future__ import annotations

import pytest

from browsers import CHROMIUM, CHROMIUM_ARGS
from helpers import ARTIFACTS, RATED_GUESTS, Player, ServiceProcess


@pytest.fixture
def service(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    yield svc
    svc.stop()


@pytest.fixture
async def players(service):
    made: list[Player] = []

    async def make(name: str | None) -> Player:
        player = await Player(service.url, name).connect()
        made.append(player)
        return player

    yield make
    for player in made:
        await player.close()



@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server (tests/postgres_server.py), one for the session, started on first use."""
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped after the test."""
    url, janitor = postgres_server.database()
    yield url
    janitor.drop()


@pytest.fixture
def chromium():
    """Debian's Chromium, headless, driven by Playwright; one per test, closed afterwards."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
