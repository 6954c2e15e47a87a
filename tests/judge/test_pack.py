"""Every bundled challenge is solvable: its reference solution passes every test through the real judge."""

from pathlib import Path

import pytest

from jupyter_duel_server.challenges import load_challenge

PACK = Path(__file__).resolve().parents[2] / "challenges"
BUNDLED = sorted(p.name for p in PACK.iterdir() if (p / "challenge.toml").is_file())


@pytest.mark.parametrize("cid", BUNDLED)
async def test_reference_solution_is_accepted(judge, cid):
    challenge = load_challenge(PACK / cid)
    report = await judge.judge(challenge, challenge.reference)
    failures = [(o.index, o.verdict, o.error or o.got) for o in report.outcomes if not o.passed]
    assert report.verdict == "AC", failures
    assert report.passed == report.total == len(challenge.samples) + len(challenge.hidden)
    # Leave headroom under the limit so a slower grading machine still accepts the reference.
    assert max(o.time_ms for o in report.outcomes) < challenge.limits.time_s * 1000 / 3


@pytest.mark.parametrize("cid", BUNDLED)
async def test_starter_code_is_not_accepted(judge, cid):
    challenge = load_challenge(PACK / cid)
    report = await judge.judge(challenge, challenge.starter_code, samples_only=True)
    assert report.verdict == "WA" and report.passed < report.total
