"""CI validates the whole bundled pack through the real judge, with the same code as
``jupyter duel challenges validate challenges/``: every reference solution is accepted with its challenge's own
time limit, every carried brute-force solution exceeds it on a hidden test, and every hard challenge carries one.

The pack is read when the tests are collected, so challenges added later are covered without editing this file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jupyter_duel_server.challenges import ChallengeLibrary, find_challenge_dirs, load_pack
from jupyter_duel_server.judge import Judge
from jupyter_duel_server.sandbox.runner import KernelSandboxRunner
from jupyter_duel_server.validate import validate_paths

PACK = Path(__file__).resolve().parents[2] / "challenges"
CHALLENGE_DIRS = [d for d, _ in find_challenge_dirs(PACK)]


@pytest.fixture(scope="module")
def results():
    """One validation of the whole pack through the service's judge (locked-down kernels), two challenges at a
    time (the CI machines have 2 cores)."""

    async def run():
        judge = Judge(runner=KernelSandboxRunner())
        try:
            return await validate_paths([PACK], judge, jobs=2)
        finally:
            await judge.close()

    return {r.path.name: r for r in asyncio.run(run())}


def test_the_pack_is_named_bundled_and_loads_strictly():
    assert load_pack(PACK).name == "bundled"
    library = ChallengeLibrary([PACK])
    assert len(library) == len(CHALLENGE_DIRS) >= 8
    assert {c.pack for c in library.all()} == {"bundled"}
    assert set(library.packs) == {"bundled"}


@pytest.mark.parametrize("directory", CHALLENGE_DIRS, ids=lambda d: d.name)
def test_bundled_challenge_is_valid(results, directory):
    result = results[directory.name]
    assert result.ok, result.summary()
    assert result.id == directory.name, "by convention the id is the directory name"
    assert result.reference_max_ms is not None
    if result.brute_force is not None or (directory / "brute_force.py").exists():
        assert result.brute_force == "TLE", result.summary()


def test_every_hard_challenge_carries_a_brute_force_that_times_out(results):
    library = ChallengeLibrary([PACK])
    hard = [c for c in library.all() if c.difficulty == "hard"]
    assert hard
    for c in hard:
        assert c.brute_force is not None and results[c.path.name].brute_force == "TLE", c.id
