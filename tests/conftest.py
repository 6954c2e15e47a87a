"""Shared fixtures: a real central service in its own process, and real Socket.IO players."""

from __future__ import annotations

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess


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


