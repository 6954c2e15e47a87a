"""``jupyter duel judge``: the service's judge from the shell, through the real sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def judge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_duel", "judge", *args], capture_output=True, text=True, timeout=120
    )


def test_right_solution_by_id_streams_each_test_then_ac(tmp_path):
    solution = tmp_path / "add.py"
    solution.write_text("def add(a, b):\n    return a + b\n")
    run = judge("add-two", str(solution), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    tests, verdict = lines[:-1], lines[-1]
    assert verdict == {**verdict, "event": "verdict", "challenge": "add-two", "verdict": "AC"}
    assert [t["index"] for t in tests] == list(range(verdict["total"])) and all(t["passed"] for t in tests)


def test_wrong_solution_by_directory_exits_one_with_text_output(tmp_path):
    solution = tmp_path / "sub.py"
    solution.write_text("def add(a, b):\n    return a - b\n")
    run = judge(str(REPO / "challenges" / "add-two"), str(solution))
    assert run.returncode == 1
    assert "add-two: WA" in run.stdout and "FAIL" in run.stdout


def test_unjudgeable_input_exits_two(tmp_path):
    solution = tmp_path / "add.py"
    solution.write_text("def add(a, b):\n    return a + b\n")
    run = judge("no-such-challenge", str(solution))
    assert run.returncode == 2 and "no challenge 'no-such-challenge'" in run.stderr
    run = judge("add-two", str(tmp_path / "missing.py"))
    assert run.returncode == 2
