"""Validating challenges: the schema, and the reference and brute-force solutions run through the real judge.

Why: loading (``challenges.py``) checks what can be checked without running anything. Before a challenge is
served it must also be proven solvable (its reference passes every test through the judge the service uses,
with the challenge's own time limit) and, for hard challenges, proven to need the intended algorithm (the
carried ``brute_force.py`` exceeds the time limit on some hidden test). ``jupyter duel challenges validate``
and the test suite (``tests/challenges/test_bundled_pack.py``) both go through :func:`validate_paths`.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .challenges import Challenge, ChallengeError, find_challenge_dirs, load_challenge, load_pack
from .codec import EncodingError, canonical, decode, encode
from .judge import Judge, JudgeReport

__all__ = ["MIN_HIDDEN", "MIN_SAMPLES", "ValidationResult", "validate_challenge", "validate_paths"]

MIN_SAMPLES = 3
MIN_HIDDEN = 10
#: The reference should stay under this fraction of the time limit (a warning, not a failure).
REFERENCE_HEADROOM = 1 / 3
MAX_SHOWN_FAILURES = 5


@dataclass
class ValidationResult:
    """The verdict on one challenge directory: ``ok`` when ``problems`` is empty."""

    path: Path
    id: str
    pack: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    samples: int = 0
    hidden: int = 0
    reference_max_ms: float | None = None
    #: None when there is no brute_force.py, else the brute force's verdict (``TLE`` is the expected one).
    brute_force: str | None = None
    #: Whether the directory loaded (only then is ``id`` the challenge's own id).
    loaded: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def tests(self) -> int:
        return self.samples + self.hidden

    def summary(self) -> str:
        """``OK id (n tests, reference 12 ms max, brute force TLE)`` or ``FAIL id`` and indented problems."""
        if self.ok:
            details = [f"{self.tests} tests"]
            if self.reference_max_ms is not None:
                details.append(f"reference {self.reference_max_ms:.0f} ms max")
            if self.brute_force is not None:
                details.append(f"brute force {self.brute_force}")
            lines = [f"OK {self.id} ({', '.join(details)})"]
        else:
            lines = [f"FAIL {self.id}"] + [f"  - {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "path": str(self.path),
            "pack": self.pack,
            "ok": self.ok,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "samples": self.samples,
            "hidden": self.hidden,
            "reference_max_ms": None if self.reference_max_ms is None else round(self.reference_max_ms, 1),
            "brute_force": self.brute_force,
        }


def _short(text: str | None, limit: int = 120) -> str:
    text = "" if text is None else " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _test_name(challenge: Challenge, index: int) -> str:
    n = len(challenge.samples)
    return f"sample test {index + 1}" if index < n else f"hidden test {index - n + 1} (tests.json hidden[{index - n}])"


def _check_values(challenge: Challenge) -> list[str]:
    """Every test value survives the encoding losslessly (a tuple stays a tuple...)."""
    problems = []
    file = challenge.path / "tests.json"
    for key, tests in (("samples", challenge.samples), ("hidden", challenge.hidden)):
        for i, test in enumerate(tests):
            for where, value in ((f"{key}[{i}].args", test.args), (f"{key}[{i}].expected", test.expected)):
                try:
                    same = canonical(decode(encode(value))) == canonical(value)
                except (EncodingError, RecursionError) as e:
                    problems.append(f"{file}: {where}: cannot be encoded: {e}")
                    continue
                if not same:
                    problems.append(f"{file}: {where}: does not survive encoding and decoding unchanged")
    return problems


def _failures(challenge: Challenge, report: JudgeReport, file: Path, *, stop_at_tle: bool = False) -> list[str]:
    """One line per failing test (the first few), naming the test, the verdict and what went wrong."""
    lines = []
    failing = [o for o in report.outcomes if not o.passed]
    if stop_at_tle:
        first_tle = next((o.index for o in failing if o.verdict == "TLE"), None)
        failing = [o for o in failing if first_tle is None or o.index < first_tle]
    for o in failing[:MAX_SHOWN_FAILURES]:
        what = f"{o.verdict} on {_test_name(challenge, o.index)}, {_short(o.call, 80)}"
        if o.verdict == "WA":
            what += f": expected {_short(o.expected, 80)}, got {_short(o.got, 80)}"
        elif o.error:
            what += f": {_short(o.error.strip().splitlines()[-1] if o.error.strip() else o.error, 160)}"
        lines.append(f"{file}: {what}")
    if len(failing) > MAX_SHOWN_FAILURES:
        lines.append(f"{file}: ... and {len(failing) - MAX_SHOWN_FAILURES} more failing tests")
    return lines


def _checker_errors(challenge: Challenge) -> list[str]:
    errors = list(dict.fromkeys(challenge.comparator.errors))  # unique, in order
    challenge.comparator.errors.clear()
    file = challenge.path / "checker.py"
    shown = [f"{file}: check: {_short(e, 240)} (counted as a wrong answer)" for e in errors[:MAX_SHOWN_FAILURES]]
    if len(errors) > MAX_SHOWN_FAILURES:
        shown.append(f"{file}: check: ... and {len(errors) - MAX_SHOWN_FAILURES} more errors")
    return shown


async def validate_challenge(path: str | Path, judge: Judge | None = None, pack: str | None = None) -> ValidationResult:
    """Validate one challenge directory: every problem is collected, none raised."""
    path = Path(path)
    judge = judge or Judge()
    result = ValidationResult(path=path, id=path.name)
    try:
        challenge = load_challenge(path, pack=pack)
    except ChallengeError as e:
        result.problems.extend(e.problems)
        return result
    result.id, result.pack, result.loaded = challenge.id, challenge.pack, True
    result.samples, result.hidden = len(challenge.samples), len(challenge.hidden)
    tests_file = path / "tests.json"
    toml_file = path / "challenge.toml"

    result.problems += _check_values(challenge)
    if len(challenge.samples) < MIN_SAMPLES:
        result.problems.append(f"{tests_file}: samples: {len(challenge.samples)} sample tests, at least {MIN_SAMPLES} needed")
    if len(challenge.hidden) < MIN_HIDDEN:
        result.problems.append(f"{tests_file}: hidden: {len(challenge.hidden)} hidden tests, at least {MIN_HIDDEN} needed")
    if challenge.limits.time_s > judge.max_time_s:
        result.problems.append(
            f"{toml_file}: limits.time_s: {challenge.limits.time_s:g} s is above the service's cap "
            f"Judge.max_time_s = {judge.max_time_s:g} s"
        )
    if challenge.difficulty == "hard" and challenge.brute_force is None:
        result.problems.append(
            f"{path / 'brute_force.py'}: missing file: a hard challenge must carry a correct but slow solution "
            "that exceeds the time limit on a large hidden test"
        )
    limit_ms = min(challenge.limits.time_s, judge.max_time_s) * 1000

    # The reference passes every test, with the challenge's own time limit.
    challenge.comparator.errors.clear()
    report = await judge.judge(challenge, challenge.reference, hidden_details=True)
    result.problems += _checker_errors(challenge)
    if report.verdict != "AC":
        result.problems += _failures(challenge, report, path / "reference.py")
    elif report.outcomes:
        result.reference_max_ms = max(o.time_ms for o in report.outcomes)
        if result.reference_max_ms > limit_ms * REFERENCE_HEADROOM:
            slowest = max(report.outcomes, key=lambda o: o.time_ms)
            result.warnings.append(
                f"{path / 'reference.py'}: took {slowest.time_ms:.0f} ms on {_test_name(challenge, slowest.index)}, "
                f"more than a third of limits.time_s ({limit_ms:.0f} ms): a slower grading machine may refuse "
                "correct solutions"
            )

    # The brute force is correct on every test it finishes, and exceeds the limit on a hidden one.
    if challenge.brute_force is not None:
        file = path / "brute_force.py"
        bf = await judge.judge(challenge, challenge.brute_force, hidden_details=True)
        result.brute_force = bf.verdict
        result.problems += _checker_errors(challenge)
        first_tle = next((o for o in bf.outcomes if o.verdict == "TLE"), None)
        if first_tle is None:
            if bf.verdict == "AC":
                slowest = max(bf.outcomes, key=lambda o: o.time_ms)
                result.problems.append(
                    f"{file}: passed every test within limits.time_s ({limit_ms:.0f} ms; slowest "
                    f"{slowest.time_ms:.0f} ms on {_test_name(challenge, slowest.index)}): add a larger hidden test "
                    "on which it exceeds the time limit"
                )
            else:
                result.problems += _failures(challenge, bf, file)
                result.problems.append(f"{file}: never exceeded the time limit (verdict {bf.verdict}, expected TLE)")
        else:
            wrong = _failures(challenge, bf, file, stop_at_tle=True)
            if wrong:
                result.problems += wrong
                result.problems.append(f"{file}: must be correct on every test it finishes in time")
            if first_tle.kind != "hidden":
                result.problems.append(
                    f"{file}: TLE on {_test_name(challenge, first_tle.index)}: samples must be small enough for "
                    "any correct solution; the large inputs belong in the hidden tests"
                )
    return result


def _targets(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str | None]], list[ValidationResult]]:
    """The challenge directories to validate (with their pack name), and results for unusable paths."""
    targets: list[tuple[Path, str | None]] = []
    bad: list[ValidationResult] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        found = find_challenge_dirs(p)
        if not found:
            why = "does not exist" if not p.exists() else "is neither a challenge directory (with challenge.toml) " \
                "nor a pack directory holding challenge directories"
            bad.append(ValidationResult(path=p, id=p.name or str(p), problems=[f"{p}: {why}"]))
            continue
        packs: dict[Path, str | None] = {}
        for challenge_dir, pack_dir in found:
            if challenge_dir.resolve() in seen:
                continue
            seen.add(challenge_dir.resolve())
            if pack_dir not in packs:
                try:
                    packs[pack_dir] = load_pack(pack_dir).name
                except ChallengeError as e:
                    bad.append(ValidationResult(path=pack_dir, id=pack_dir.name, problems=e.problems))
                    packs[pack_dir] = pack_dir.resolve().name
            targets.append((challenge_dir, packs[pack_dir]))
    return targets, bad


async def validate_paths(
    paths: Iterable[str | Path], judge: Judge | None = None, jobs: int | None = None
) -> list[ValidationResult]:
    """Validate every challenge under ``paths`` (challenge or pack directories), ``jobs`` at a time.

    Results come in the order of the paths (challenges sorted within a pack). Duplicate ids are reported on
    every challenge that shares one. ``jobs`` defaults to the number of CPUs: every challenge's solutions run in
    processes of their own, and time limits are wall-clock, so more jobs than cores would make them flaky.
    """
    own_judge = judge is None
    judge = judge or Judge()
    jobs = max(1, jobs or os.cpu_count() or 1)
    targets, bad = _targets(paths)
    semaphore = asyncio.Semaphore(jobs)

    async def one(challenge_dir: Path, pack: str | None) -> ValidationResult:
        async with semaphore:
            return await validate_challenge(challenge_dir, judge, pack)

    try:
        results = list(await asyncio.gather(*(one(d, pack) for d, pack in targets)))
    finally:
        if own_judge:
            await judge.close()
    by_id: dict[str, list[ValidationResult]] = {}
    for r in results:
        if r.loaded:
            by_id.setdefault(r.id, []).append(r)
    for same in by_id.values():
        if len(same) > 1:
            for r in same:
                others = ", ".join(str(o.path) for o in same if o is not r)
                r.problems.append(f"{r.path / 'challenge.toml'}: id: duplicate id {r.id!r}, also used by {others}")
    return bad + results


def validate(paths: Iterable[str | Path], judge: Judge | None = None, jobs: int | None = None) -> list[ValidationResult]:
    """:func:`validate_paths` for synchronous callers (starts its own event loop)."""
    return asyncio.run(validate_paths(paths, judge, jobs))


def format_results(results: list[ValidationResult], as_json: bool = False) -> str:
    """The CLI's output: one summary (or one JSON object) per challenge, one per line."""
    if as_json:
        return "\n".join(json.dumps(r.to_json(), ensure_ascii=False) for r in results)
    return "\n".join(r.summary() for r in results)
