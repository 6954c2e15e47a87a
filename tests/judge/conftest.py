"""Fixtures for judge tests: real child processes, small in-memory challenges with short time limits."""

from pathlib import Path

import pytest

from jupyter_duel_server.challenges import Challenge, Comparator, Limits, TestCase
from jupyter_duel_server.judge import Judge


def build_challenge(function="add", samples=None, hidden=None, comparator="exact", time_s=1.0, **kw) -> Challenge:
    samples = [TestCase((1, 2), 3), TestCase((-1, 1), 0)] if samples is None else samples
    hidden = [TestCase((10, 20), 30), TestCase((2**70, 1), 2**70 + 1)] if hidden is None else hidden
    return Challenge(
        id=kw.get("id", "t"),
        title="T",
        difficulty="easy",
        tags=[],
        statement="s",
        function=function,
        signature=f"def {function}(a, b):",
        starter_code=f"def {function}(a, b):\n    pass\n",
        samples=samples,
        hidden=hidden,
        comparator=Comparator.from_config(comparator),
        limits=Limits(time_s),
        reference="",
        path=Path("."),
    )


@pytest.fixture
def make_challenge():
    """Factory: ``make_challenge(function="f", samples=[...], hidden=[...], comparator=..., time_s=...)``."""
    return build_challenge


@pytest.fixture
def challenge():
    return build_challenge()


@pytest.fixture
async def judge():
    # These tests aim hostile code at the runner itself, past the import policy (a teaching layer only).
    j = Judge(enforce_import_policy=False)
    j.runner.startup_timeout_s = 5.0
    yield j
    await j.close()
