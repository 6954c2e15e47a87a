"""A submission learns nothing of hidden tests but their verdicts (the plain child-process runner; the same
checks run in the sandbox in ``tests/sandbox/test_hidden_channels.py``)."""

from __future__ import annotations

from hidden_channel_checks import (
    check_hidden_failures_show_verdict_number_and_time_only,
    check_inputs_arrive_one_test_at_a_time,
    check_sample_messages_are_capped,
)

from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server.judge import Judge

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


async def test_hidden_failures_show_verdict_number_and_time_only(judge):
    await check_hidden_failures_show_verdict_number_and_time_only(judge)


async def test_inputs_arrive_one_test_at_a_time(judge):
    await check_inputs_arrive_one_test_at_a_time(judge)


async def test_sample_messages_are_capped(judge):
    await check_sample_messages_are_capped(judge)


async def test_samples_keep_their_traceback_for_their_author():
    challenge = LIBRARY.get("add-two")
    report = await Judge().judge(challenge, "def add(a, b):\n    raise ValueError(f'SHOWN<{a},{b}>')\n")
    assert report.outcomes[0].kind == "sample" and "SHOWN<1,2>" in report.message
    assert 'File "<solution>", line 2, in add' in report.outcomes[0].error


async def test_import_policy_refuses_kindly_before_anything_runs():
    challenge = LIBRARY.get("add-two")
    report = await Judge().judge(challenge, "import subprocess\ndef add(a, b):\n    return a + b\n")
    assert report.verdict == "REFUSED" and report.passed == 0
    assert "importing 'subprocess' is not allowed" in report.message
    assert all(o.verdict == "REFUSED" for o in report.outcomes)
    # The policy is a teaching aid: it can be switched off, and then only the sandbox stands in the way.
    report = await Judge(enforce_import_policy=False).judge(challenge, "import math\ndef add(a, b):\n    return a + b\n")
    assert report.verdict == "AC"


async def test_hostile_results_in_a_child_process():
    from hostile_results import check_hostile_results

    judge = Judge()
    try:
        lags = await check_hostile_results(judge)
    finally:
        await judge.close()
    print("worst event-loop lag per kind (ms):", {k: round(v, 1) for k, v in lags.items()})
