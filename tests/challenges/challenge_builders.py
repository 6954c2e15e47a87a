"""Builders of small challenge directories (valid by default, broken on demand) for the challenge tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]

TOML = """\
id = "{id}"
title = "Triangle Numbers"
difficulty = "{difficulty}"
tags = ["demo"]
function = "total"
signature = "def total(n: int) -> int:"
{extra}
[limits]
time_s = {time_s}
"""

#: total(n) = 0 + 1 + ... + (n - 1). The last hidden test is large: a Python loop needs seconds on it.
SAMPLES = [{"args": [0], "expected": 0}, {"args": [1], "expected": 0}, {"args": [5], "expected": 10}]
HIDDEN = [{"args": [n], "expected": n * (n - 1) // 2} for n in (2, 3, 4, 10, 17, 100, 1000, 12345, 10**5)]
HIDDEN.append({"args": [3 * 10**8], "expected": 3 * 10**8 * (3 * 10**8 - 1) // 2})

REFERENCE = "def total(n: int) -> int:\n    return n * (n - 1) // 2\n"
BRUTE_FORCE = "def total(n: int) -> int:\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"


def write_challenge(
    root: Path,
    cid: str = "triangle",
    *,
    difficulty: str = "hard",
    time_s: float = 0.5,
    extra: str = "",
    toml: str | None = None,
    samples=None,
    hidden=None,
    tests: str | None = None,
    statement: str | None = "Return `0 + 1 + ... + (n - 1)`.\n\n```python\ntotal(5)  # 10\n```\n",
    reference: str | None = REFERENCE,
    brute_force: str | None = BRUTE_FORCE,
    checker: str | None = None,
) -> Path:
    """A challenge directory under ``root``: valid (hard, with a brute force that TLEs) unless told otherwise."""
    d = root / cid
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    if toml is None:
        toml = TOML.format(id=cid, difficulty=difficulty, extra=extra, time_s=time_s)
    (d / "challenge.toml").write_text(toml)
    if statement is not None:
        (d / "statement.md").write_text(statement)
    if tests is None:
        tests = json.dumps({"samples": SAMPLES if samples is None else samples, "hidden": HIDDEN if hidden is None else hidden})
    (d / "tests.json").write_text(tests)
    for name, source in (("reference.py", reference), ("brute_force.py", brute_force), ("checker.py", checker)):
        if source is not None:
            (d / name).write_text(source)
    return d
