"""The validator, through its Python API and as a command (a real subprocess), on valid and broken challenges.

Every solution runs through the real judge (a child process per run); time limits are short (0.5 s) so that the
brute-force TLEs cost little.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from challenge_builders import HIDDEN, REFERENCE, SAMPLES, write_challenge
from jupyter_duel_server.judge import Judge
from jupyter_duel_server.validate import validate_challenge, validate_paths

PAIR_TOML = """\
id = "{id}"
title = "A Pair for the Target"
difficulty = "medium"
function = "pair"
signature = "def pair(nums: list[int], target: int) -> tuple[int, int] | None:"
comparator = {{ kind = "custom" }}
"""
PAIR_REFERENCE = """\
def pair(nums, target):
    seen = {}
    for j, x in enumerate(nums):
        if target - x in seen:
            return (seen[target - x], j)
        seen[x] = j
    return None
"""
PAIR_CHECKER = """\
# Any pair of indices i < j with nums[i] + nums[j] == target is right; the expected answer is just one of them.
def check(args, expected, got):
    nums, target = args
    if expected is None:
        return got is None, "there is no such pair"
    if type(got) is not tuple or len(got) != 2:
        return False, "return a tuple (i, j)"
    i, j = got
    if not (type(i) is int and type(j) is int and 0 <= i < j < len(nums)):
        return False, "indices out of range"
    return nums[i] + nums[j] == target, f"nums[{i}] + nums[{j}] is not {target}"
"""
PAIR_TESTS = {
    "samples": [
        {"args": [[2, 7, 11, 15], 9], "expected": {"$tuple": [0, 1]}},
        {"args": [[1, 2, 3, 4], 5], "expected": {"$tuple": [1, 2]}},  # (0, 3) is right too
        {"args": [[1, 2], 10], "expected": None},
    ],
    "hidden": [{"args": [list(range(n)), 2 * n - 3], "expected": {"$tuple": [n - 2, n - 1]}} for n in range(2, 12)]
    + [{"args": [[5, 5, 5, 5], 10], "expected": {"$tuple": [2, 3]}}],
}


def write_pair(root, cid="pair-up", checker=PAIR_CHECKER, **kw):
    return write_challenge(
        root, cid, toml=PAIR_TOML.format(id=cid), tests=json.dumps(PAIR_TESTS), reference=PAIR_REFERENCE,
        brute_force=None, checker=checker, **kw,
    )


# Each broken variant: (what is broken, builder kwargs, fragments every one of which the problems must contain).
BROKEN = {
    "bad schema": (
        {"toml": 'id = "bad-schema"\ntitle = "T"\ndifficulty = "expert"\nfunction = "total"\n'
                 'signature = "def total(n):"\ncolour = "red"\n'},
        ["challenge.toml: difficulty: must be one of easy, medium, hard, got 'expert'", "challenge.toml: colour: unknown field"],
    ),
    "missing field": (
        {"toml": 'id = "missing-field"\ndifficulty = "easy"\nfunction = "total"\nsignature = "def total(n):"\n'},
        ["challenge.toml: title: missing required field"],
    ),
    "failing reference": (
        {"reference": "def total(n):\n    return n * (n + 1) // 2 if n > 50 else n * (n - 1) // 2\n"},
        ["reference.py: WA on hidden test 6 (tests.json hidden[5]), total(100): expected 4950, got 5050"],
    ),
    "crashing reference": (
        {"reference": "def total(n):\n    return [][n]\n"},
        ["reference.py: RE on sample test 1, total(0): IndexError: list index out of range"],
    ),
    "non-encodable value": (
        {"hidden": HIDDEN[:-1] + [{"args": [{"$complex": [1, 2]}], "expected": 0}]},
        ["tests.json: hidden[9].args: value: an object with a '$' key must have exactly one key"],
    ),
    "non-finite float written as JSON": (
        {"tests": '{"samples": [{"args": [0], "expected": Infinity}], "hidden": []}'},
        ['tests.json: samples[0].expected: value: non-finite floats must be written as {"$float"'],
    ),
    "too few tests": (
        {"samples": SAMPLES[:2], "hidden": HIDDEN[-3:]},
        ["tests.json: samples: 2 sample tests, at least 3 needed", "tests.json: hidden: 3 hidden tests, at least 10 needed"],
    ),
    "hard without brute force": (
        {"brute_force": None},
        ["brute_force.py: missing file: a hard challenge must carry a correct but slow solution"],
    ),
    "brute force within the limit": (
        {"brute_force": REFERENCE},
        ["brute_force.py: passed every test within limits.time_s (500 ms", "add a larger hidden test"],
    ),
    "wrong brute force": (
        {"brute_force": "def total(n):\n    s = 1\n    for i in range(n):\n        s += i\n    return s\n"},
        ["brute_force.py: WA on sample test 1, total(0): expected 0, got 1",
         "brute_force.py: must be correct on every test it finishes in time"],
    ),
    "brute force slow on a sample": (
        {"samples": SAMPLES + [HIDDEN[-1]]},
        ["brute_force.py: TLE on sample test 4: samples must be small enough"],
    ),
    "time limit above the cap": (
        {"time_s": 60},
        ["challenge.toml: limits.time_s: 60 s is above the service's cap Judge.max_time_s = 10 s"],
    ),
    "unparsable reference": (
        {"reference": "def total(n:\n"},
        ["reference.py: is not valid Python"],
    ),
}


def pack_of_broken(root):
    for name, (kwargs, _) in BROKEN.items():
        cid = name.replace(" ", "-")
        write_challenge(root, cid, **kwargs)
    return root


@pytest.fixture(scope="module")
def broken_results(tmp_path_factory):
    import asyncio

    root = pack_of_broken(tmp_path_factory.mktemp("broken") / "pack")
    results = asyncio.run(validate_paths([root], Judge(), jobs=2))
    return root, {r.path.name: r for r in results}


async def test_a_valid_hard_challenge_passes(tmp_path):
    result = await validate_challenge(write_challenge(tmp_path), Judge())
    assert result.ok, result.problems
    assert (result.id, result.tests, result.brute_force, result.pack) == ("triangle", 13, "TLE", tmp_path.name)
    assert result.summary().startswith("OK triangle (13 tests, reference ") and result.summary().endswith(
        " ms max, brute force TLE)"
    )


@pytest.mark.parametrize("name", list(BROKEN))
def test_each_broken_challenge_gets_a_clear_problem(broken_results, name):
    root, results = broken_results
    result = results[name.replace(" ", "-")]
    assert not result.ok
    text = "\n".join(result.problems)
    for fragment in BROKEN[name][1]:
        assert fragment in text, text
    # Every problem names its file (with the full path), so an instructor knows where to look.
    assert all(p.startswith(str(root)) for p in result.problems), result.problems
    assert result.summary().startswith(f"FAIL {result.id}\n  - ")


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    d = write_challenge(
        tmp_path, "many", toml='id = "Many"\ntitle = ""\ndifficulty = "hard"\nfunction = "total"\nsignature = "def total(n):"\n',
        statement="", samples=[{"args": [1]}], reference=None, brute_force="def other(): pass\n",
    )
    import asyncio

    result = asyncio.run(validate_challenge(d, Judge()))
    text = "\n".join(result.problems)
    for fragment in ("challenge.toml: id: must be 1-64", "challenge.toml: title: must be a non-empty string",
                     "statement.md: is empty", "tests.json: samples[0]: must be an object",
                     "reference.py: missing file", "brute_force.py: does not define total"):
        assert fragment in text, text


async def test_custom_checker_accepts_any_right_answer(tmp_path):
    result = await validate_challenge(write_pair(tmp_path), Judge())
    assert result.ok, result.problems
    # Another correct solution returns other pairs than the expected ones: the checker accepts them.
    from jupyter_duel_server.challenges import load_challenge

    challenge = load_challenge(tmp_path / "pair-up")
    other = "def pair(nums, target):\n    n = len(nums)\n    for i in range(n):\n        for j in range(n - 1, i, -1):\n" \
            "            if nums[i] + nums[j] == target:\n                return (i, j)\n    return None\n"
    report = await Judge().judge(challenge, other)
    assert report.verdict == "AC", [(o.index, o.verdict, o.got) for o in report.outcomes if not o.passed]
    assert report.outcomes[1].got == "(0, 3)" and report.outcomes[1].expected == "(1, 2)"
    wrong = await Judge().judge(challenge, "def pair(nums, target):\n    return (0, 1)\n")
    assert wrong.verdict == "WA" and wrong.outcomes[0].passed and not wrong.outcomes[1].passed


async def test_a_raising_checker_is_a_wrong_answer_and_a_validator_error(tmp_path, caplog):
    raising = PAIR_CHECKER.replace("    nums, target = args\n", "    nums, target = args\n    1 / (len(nums) - 4)\n")
    d = write_pair(tmp_path, checker=raising)
    result = await validate_challenge(d, Judge())
    text = "\n".join(result.problems)
    assert f"{d / 'checker.py'}: check: check(([2, 7, 11, 15], 9), (0, 1), (0, 1)) raised ZeroDivisionError: " \
           "division by zero (counted as a wrong answer)" in text, text
    assert f"{d / 'reference.py'}: WA on sample test 1" in text
    assert "ZeroDivisionError" in caplog.text  # logged by the service process too


@pytest.mark.parametrize(
    "checker, fragment",
    [
        ("def verify(args, expected, got):\n    return True\n", "checker.py: check: missing"),
        ("def check(got):\n    return True\n", "checker.py: check: must accept three positional arguments"),
        ("import nonexistent_module_xyz\n", "checker.py: raised ModuleNotFoundError while loading"),
        ("def check(args, expected, got)\n", "checker.py: is not valid Python"),
        (None, "checker.py: missing file"),
    ],
)
async def test_broken_checker_files(tmp_path, checker, fragment):
    result = await validate_challenge(write_pair(tmp_path, checker=checker), Judge())
    assert any(fragment in p for p in result.problems), result.problems


async def test_a_checker_returning_garbage_is_reported(tmp_path):
    result = await validate_challenge(write_pair(tmp_path, checker="def check(args, expected, got):\n    return 'yes'\n"), Judge())
    assert any("returned 'yes': it must return True/False or (bool, message)" in p for p in result.problems)


async def test_checker_without_custom_comparator_is_an_error(tmp_path):
    d = write_challenge(tmp_path, checker="def check(args, expected, got):\n    return True\n")
    result = await validate_challenge(d, Judge())
    assert any('checker.py: is only used with comparator = "custom"' in p for p in result.problems)


async def test_duplicate_ids_and_bad_paths(tmp_path):
    write_challenge(tmp_path / "a", "same", difficulty="easy", brute_force=None)
    write_challenge(tmp_path / "b", "same", difficulty="easy", brute_force=None)
    (tmp_path / "empty").mkdir()
    results = await validate_paths([tmp_path / "a", tmp_path / "b", tmp_path / "empty", tmp_path / "nope"], Judge())
    problems = {str(r.path): r.problems for r in results}
    assert any("is neither a challenge directory" in p for p in problems[str(tmp_path / "empty")])
    assert any("does not exist" in p for p in problems[str(tmp_path / "nope")])
    for side in ("a", "b"):
        assert any("id: duplicate id 'same'" in p for p in problems[str(tmp_path / side / "same")])


async def test_nested_packs_are_found_and_named(tmp_path):
    outer = tmp_path / "course"
    write_challenge(outer, "loose", difficulty="easy", brute_force=None)
    inner = outer / "week-2"
    write_challenge(inner, "inner", difficulty="easy", brute_force=None)
    (inner / "pack.toml").write_text('name = "week2"\ntitle = "Week 2"\n')
    results = await validate_paths([outer], Judge())
    assert {(r.id, r.pack) for r in results} == {("loose", "course"), ("inner", "week2")}
    assert all(r.ok for r in results), [r.problems for r in results]


# ---------------------------------------------------------------- the command, as a real subprocess

CLI = [sys.executable, "-m", "jupyter_duel_server.challenges_app"]


def run_cli(*args, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_cli_validate_reports_every_broken_challenge_and_fails(tmp_path):
    root = pack_of_broken(tmp_path / "pack")
    write_challenge(root, "fine")
    done = run_cli("validate", "--jobs=2", str(root))
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "OK fine (13 tests, reference " in out and ", brute force TLE)" in out
    for name, (_, fragments) in BROKEN.items():
        block = out.split(f"FAIL {name.replace(' ', '-')}\n", 1)
        assert len(block) == 2, (name, out)
        problems = block[1].split("\nFAIL ")[0].split("\nOK ")[0]
        for fragment in fragments:
            assert fragment in problems, (name, problems)
    assert f"1 OK, {len(BROKEN)} FAIL" in done.stderr


def test_cli_validate_json_and_success(tmp_path):
    write_challenge(tmp_path, "fine")
    write_challenge(tmp_path, "easy-one", difficulty="easy", brute_force=None)
    done = run_cli("validate", "--json", str(tmp_path / "fine"), str(tmp_path / "easy-one"))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["ok"], r["brute_force"], r["samples"], r["hidden"]) for r in rows] == [
        ("fine", True, "TLE", 3, 10), ("easy-one", True, None, 3, 10)
    ]
    assert all(isinstance(r["reference_max_ms"], float) and r["problems"] == [] for r in rows)


def test_cli_validate_takes_the_judge_from_config(tmp_path):
    # The configured Judge is the one used: a cap below the challenge's limit is reported.
    write_challenge(tmp_path, "fine")
    done = run_cli("validate", "--Judge.max_time_s=0.25", str(tmp_path / "fine"))
    assert done.returncode == 1
    assert "limits.time_s: 0.5 s is above the service's cap Judge.max_time_s = 0.25 s" in done.stdout
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "jupyter_duel_config.py").write_text("c.Judge.max_time_s = 0.3\n")
    done = subprocess.run([*CLI, "validate", str(tmp_path / "fine")], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "JUPYTER_CONFIG_DIR": str(config)})
    assert done.returncode == 1 and "Judge.max_time_s = 0.3 s" in done.stdout, done.stdout + done.stderr


def test_cli_validate_usage_errors(tmp_path):
    assert run_cli("validate").returncode == 2
    done = run_cli("validate", str(tmp_path / "missing"))
    assert done.returncode == 1 and f"FAIL missing\n  - {tmp_path / 'missing'}: does not exist" in done.stdout
