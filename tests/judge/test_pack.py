"""Every bundled challenge's starter code is not a solution (references are proved by tests/challenges)."""

from pathlib import Path

import pytest

from jupyter_duel_server.challenges import load_challenge

PACK = Path(__file__).resolve().parents[2] / "challenges"
BUNDLED = sorted(p.name for p in PACK.iterdir() if (p / "challenge.toml").is_file())


@pytest.mark.parametrize("cid", BUNDLED)
async def test_starter_code_is_not_accepted(judge, cid):
    challenge = load_challenge(PACK / cid)
    report = await judge.judge(challenge, challenge.starter_code, samples_only=True)
    assert report.verdict == "WA" and report.passed < report.total
