"""ResultChecker with its real worker process: where each result is judged, and the budget."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jupyter_duel_server.challenges import Challenge, Comparator, Limits, TestCase
from jupyter_duel_server.codec import dumps
from jupyter_duel_server.result_check import OverBudget, ResultChecker, ResultRejected

P = 2**61 - 1


def challenge(comparator=Comparator("exact"), checker_source=None) -> Challenge:
    return Challenge(id="c", title="T", difficulty="easy", tags=[], statement="s", function="f", signature="",
                     starter_code="", samples=[TestCase((1,), None)], hidden=[], comparator=comparator,
                     limits=Limits(1.0), reference="", path=Path("."), checker_source=checker_source)


@pytest.fixture
async def checker():
    c = ResultChecker(budget_s=1.0)
    yield c
    await c.close()


async def test_small_plain_values_are_judged_on_the_loop(checker):
    c = challenge()
    assert (await checker.check(c, 0, [1, (2, 3)], ((1,),), dumps([1, (2, 3)]))).passed
    assert not (await checker.check(c, 0, [1, 2], ((1,),), dumps([1, 3]))).passed
    assert checker._worker is None  # nothing needed the worker


async def test_sets_and_large_values_go_to_the_worker(checker):
    c = challenge()
    assert (await checker.check(c, 0, {1, 2}, ((1,),), dumps({2, 1}))).passed
    assert checker._worker is not None and checker._worker.alive()
    big = list(range(5000))
    result = await checker.check(c, 1, big, ((1,),), dumps(big))
    assert result.passed and result.got.startswith("[0, 1, 2")
    assert not (await checker.check(c, 1, big, ((1,),), dumps(big[::-1]))).passed


async def test_a_hash_flood_is_cut_at_the_budget_and_the_worker_replaced(checker):
    c = challenge()
    flood = json.dumps({"$frozenset": [P * k for k in range(1, 40001)]})
    started = time.monotonic()
    with pytest.raises(OverBudget, match="took more than 1 s to judge"):
        await checker.check(c, 0, frozenset(), ((1,),), flood)
    assert time.monotonic() - started < 10
    # A new worker takes the next result.
    assert (await checker.check(c, 1, {3}, ((1,),), dumps({3}))).passed


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "9" * 100000, "{", '{"$set": 3}', '{"$float": "x"}'])
async def test_malformed_results_are_rejected_not_raised(checker, text):
    with pytest.raises(ResultRejected):
        await checker.check(challenge(), 0, 1, ((1,),), text)


async def test_custom_checkers_run_in_the_worker_from_their_source(checker):
    source = "def check(args, expected, got):\n    return (sorted(got) == sorted(expected), 'order free')\n"
    c = challenge(Comparator("custom", checker=lambda a, e, g: False), checker_source=source)
    big = list(range(3000))
    assert (await checker.check(c, 0, big, ((1,),), dumps(big[::-1]))).passed  # the source decided, not the lambda
