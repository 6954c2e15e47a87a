"""Challenges: loading and validating challenge directories, comparing results, and the challenge library.

Why: challenges are written by instructors, so every problem in a challenge directory must be reported at load
time with the file and field at fault, never discovered in the middle of a battle. The file format is documented
in ``docs/challenge-format.md``.
"""

from __future__ import annotations

import ast
import json
import keyword
import math
import random
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .codec import EncodingError, canonical, decode

__all__ = [
    "DIFFICULTIES",
    "Challenge",
    "ChallengeError",
    "ChallengeLibrary",
    "Comparator",
    "Limits",
    "TestCase",
    "load_challenge",
]

DIFFICULTIES = ("easy", "medium", "hard")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TOML_KEYS = {"id", "title", "difficulty", "tags", "function", "signature", "starter", "comparator", "limits"}
REQUIRED_TOML_KEYS = ("id", "title", "difficulty", "function", "signature")


class ChallengeError(ValueError):
    """A challenge directory is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class TestCase:
    """One test: positional arguments and the expected result, both as decoded Python values."""

    __test__ = False  # not a pytest class

    args: tuple
    expected: object


@dataclass(frozen=True)
class Limits:
    """Per-challenge limits. ``time_s`` is the wall-time budget of each test (the service may clamp it)."""

    time_s: float = 2.0


class Comparator:
    """Decides whether a returned value matches the expected one; runs on the trusted side only.

    - ``exact``: equal values of the same types throughout (``True`` is not ``1``, a tuple is not a list,
      ``1.0`` is not ``1``); dict and set order do not matter; ``nan`` matches ``nan``.
    - ``float``: like exact, but numbers (int or float, never bool) match when they are within ``tolerance``,
      relative or absolute, recursively through lists, tuples and dict values.
    - ``unordered``: a list (or tuple) matches when it holds the same elements the same number of times in any
      order; with ``depth`` 2 the elements' own lists/tuples are unordered too, and so on. Elements compare
      exactly.
    """

    KINDS = ("exact", "float", "unordered")

    def __init__(self, kind: str = "exact", tolerance: float = 1e-6, depth: int = 1):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {', '.join(self.KINDS)}, got {kind!r}")
        if type(tolerance) not in (int, float) or not (0 <= tolerance < 1) or math.isnan(tolerance):
            raise ValueError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
        if type(depth) is not int or depth < 1:
            raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
        self.kind = kind
        self.tolerance = float(tolerance)
        self.depth = depth

    @classmethod
    def from_config(cls, config: Any) -> "Comparator":
        """Build from the ``comparator`` value of challenge.toml: a kind name or a table with ``kind``."""
        if isinstance(config, str):
            return cls(config)
        if isinstance(config, dict):
            unknown = set(config) - {"kind", "tolerance", "depth"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)} (allowed: kind, tolerance, depth)")
            if "kind" not in config:
                raise ValueError("a comparator table needs a 'kind'")
            kind = config["kind"]
            if "tolerance" in config and kind != "float":
                raise ValueError("'tolerance' only applies to kind = \"float\"")
            if "depth" in config and kind != "unordered":
                raise ValueError("'depth' only applies to kind = \"unordered\"")
            return cls(kind, config.get("tolerance", 1e-6), config.get("depth", 1))
        raise ValueError(f"must be a string or a table, got {type(config).__name__}")

    def compare(self, expected: Any, got: Any) -> bool:
        """True when ``got`` is an acceptable result for a test expecting ``expected``."""
        try:
            if self.kind == "float":
                return self._close(expected, got)
            if self.kind == "unordered":
                return self._unordered_key(expected, self.depth) == self._unordered_key(got, self.depth)
            return canonical(expected) == canonical(got)
        except (EncodingError, RecursionError):
            return False

    def _close(self, e: Any, g: Any) -> bool:
        te, tg = type(e), type(g)
        if te in (int, float) and tg in (int, float):
            if te is int and tg is int:
                return e == g
            try:
                fe, fg = float(e), float(g)
            except OverflowError:
                return False
            if math.isnan(fe) or math.isnan(fg):
                return math.isnan(fe) and math.isnan(fg)
            if math.isinf(fe) or math.isinf(fg):
                return fe == fg
            return math.isclose(fe, fg, rel_tol=self.tolerance, abs_tol=self.tolerance)
        if te is not tg:
            return False
        if te in (list, tuple):
            return len(e) == len(g) and all(self._close(x, y) for x, y in zip(e, g))
        if te is dict:
            ek = {canonical(k): v for k, v in e.items()}
            gk = {canonical(k): v for k, v in g.items()}
            return ek.keys() == gk.keys() and all(self._close(v, gk[k]) for k, v in ek.items())
        return canonical(e) == canonical(g)

    def _unordered_key(self, v: Any, depth: int) -> Any:
        if depth > 0 and type(v) in (list, tuple):
            return (type(v).__name__, sorted(self._key_str(x, depth - 1) for x in v))
        return canonical(v)

    def _key_str(self, v: Any, depth: int) -> str:
        key = self._unordered_key(v, depth)
        return key if isinstance(key, str) else json.dumps(key)

    def __repr__(self) -> str:
        extra = {"float": f", tolerance={self.tolerance!r}", "unordered": f", depth={self.depth}"}.get(self.kind, "")
        return f"Comparator({self.kind!r}{extra})"


@dataclass
class Challenge:
    """A loaded challenge. ``public_view()`` is the only part that may reach players."""

    id: str
    title: str
    difficulty: str
    tags: list[str]
    statement: str
    function: str
    signature: str
    starter_code: str
    samples: list[TestCase]
    hidden: list[TestCase]
    comparator: Comparator
    limits: Limits
    reference: str
    path: Path

    def call_repr(self, test: TestCase) -> str:
        """The call as Python source, e.g. ``two_sum([2, 7], 9)``."""
        return f"{self.function}({', '.join(repr(a) for a in test.args)})"

    def tests(self, samples_only: bool = False) -> list[tuple[str, TestCase]]:
        """The tests of a run in order: samples first (kind ``"sample"``), then hidden ones (``"hidden"``)."""
        out = [("sample", t) for t in self.samples]
        if not samples_only:
            out += [("hidden", t) for t in self.hidden]
        return out

    def public_view(self) -> dict:
        """The protocol's ``ChallengeView``: no hidden test, no reference solution."""
        return {
            "id": self.id,
            "title": self.title,
            "difficulty": self.difficulty,
            "tags": list(self.tags),
            "statement": self.statement,
            "function": self.function,
            "signature": self.signature,
            "starter_code": self.starter_code,
            "samples": [{"call": self.call_repr(t), "expected": repr(t.expected)} for t in self.samples],
            "hidden_count": len(self.hidden),
        }


# ---------------------------------------------------------------- loading


def _err(file: Path, fieldname: str | None, message: str) -> ChallengeError:
    where = f"{file}: {fieldname}: " if fieldname else f"{file}: "
    return ChallengeError(where + message)


def _read_text(file: Path) -> str:
    if not file.is_file():
        raise _err(file, None, "missing file")
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _err(file, None, f"cannot be read as UTF-8 text: {e}") from None


def _string(file: Path, data: dict, key: str, *, default: str | None = None) -> str:
    if key not in data:
        if default is not None:
            return default
        raise _err(file, key, "missing required field")
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise _err(file, key, f"must be a non-empty string, got {value!r}")
    return value


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _compile(file: Path, fieldname: str | None, source: str) -> ast.Module:
    try:
        return ast.parse(source, filename=str(file))
    except (SyntaxError, ValueError) as e:
        raise _err(file, fieldname, f"is not valid Python: {e}") from None


def _tests(file: Path, data: Any, key: str, required: bool) -> list[TestCase]:
    if key not in data:
        if required:
            raise _err(file, key, "missing required field")
        return []
    items = data[key]
    if not isinstance(items, list):
        raise _err(file, key, f"must be a list of tests, got {type(items).__name__}")
    out = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict) or set(item) != {"args", "expected"}:
            raise _err(file, where, 'must be an object with exactly the keys "args" and "expected"')
        if not isinstance(item["args"], list):
            raise _err(file, f"{where}.args", "must be a list of the encoded positional arguments")
        try:
            args = tuple(decode(a) for a in item["args"])
        except EncodingError as e:
            raise _err(file, f"{where}.args", str(e)) from None
        try:
            expected = decode(item["expected"])
        except EncodingError as e:
            raise _err(file, f"{where}.expected", str(e)) from None
        out.append(TestCase(args=args, expected=expected))
    return out


def load_challenge(path: str | Path) -> Challenge:
    """Load and validate one challenge directory (or its ``challenge.toml``); raise ChallengeError on any problem."""
    path = Path(path)
    directory = path.parent if path.name == "challenge.toml" else path
    toml_file = directory / "challenge.toml"
    try:
        data = tomllib.loads(_read_text(toml_file))
    except tomllib.TOMLDecodeError as e:
        raise _err(toml_file, None, f"invalid TOML: {e}") from None

    unknown = set(data) - TOML_KEYS
    if unknown:
        raise _err(toml_file, ", ".join(sorted(unknown)), f"unknown field (allowed: {', '.join(sorted(TOML_KEYS))})")
    for key in REQUIRED_TOML_KEYS:
        if key not in data:
            raise _err(toml_file, key, "missing required field")

    cid = _string(toml_file, data, "id")
    if not ID_PATTERN.match(cid):
        raise _err(toml_file, "id", f"must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit; got {cid!r}")
    title = _string(toml_file, data, "title")
    difficulty = data["difficulty"]
    if difficulty not in DIFFICULTIES:
        raise _err(toml_file, "difficulty", f"must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise _err(toml_file, "tags", f"must be a list of non-empty strings, got {tags!r}")

    function = _string(toml_file, data, "function")
    if not function.isidentifier() or keyword.iskeyword(function):
        raise _err(toml_file, "function", f"must be a Python identifier, got {function!r}")
    signature = _string(toml_file, data, "signature").strip()
    tree = _compile(toml_file, "signature", signature + "\n    pass\n")
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].name != function:
        raise _err(toml_file, "signature", f"must be a single 'def {function}(...):' line, got {signature!r}")
    starter = _string(toml_file, data, "starter", default=f"{signature}\n    pass\n")
    if function not in _top_level_names(_compile(toml_file, "starter", starter)):
        raise _err(toml_file, "starter", f"must define {function}")

    try:
        comparator = Comparator.from_config(data.get("comparator", "exact"))
    except ValueError as e:
        raise _err(toml_file, "comparator", str(e)) from None

    limits_data = data.get("limits", {})
    if not isinstance(limits_data, dict) or set(limits_data) - {"time_s"}:
        raise _err(toml_file, "limits", "must be a table with at most the key 'time_s'")
    time_s = limits_data.get("time_s", Limits.time_s)
    if type(time_s) not in (int, float) or not (0 < time_s <= 600):
        raise _err(toml_file, "limits.time_s", f"must be a number of seconds in (0, 600], got {time_s!r}")

    statement_file = directory / "statement.md"
    statement = _read_text(statement_file)
    if not statement.strip():
        raise _err(statement_file, None, "is empty")

    tests_file = directory / "tests.json"
    try:
        tests_data = json.loads(_read_text(tests_file))
    except json.JSONDecodeError as e:
        raise _err(tests_file, None, f"invalid JSON: {e}") from None
    if not isinstance(tests_data, dict) or set(tests_data) - {"samples", "hidden"}:
        raise _err(tests_file, None, 'must be an object with the keys "samples" and "hidden"')
    samples = _tests(tests_file, tests_data, "samples", required=True)
    hidden = _tests(tests_file, tests_data, "hidden", required=False)
    if not samples and not hidden:
        raise _err(tests_file, None, "has no tests")

    reference_file = directory / "reference.py"
    reference = _read_text(reference_file)
    if function not in _top_level_names(_compile(reference_file, None, reference)):
        raise _err(reference_file, None, f"does not define {function}")

    return Challenge(
        id=cid,
        title=title.strip(),
        difficulty=difficulty,
        tags=list(tags),
        statement=statement,
        function=function,
        signature=signature,
        starter_code=starter,
        samples=samples,
        hidden=hidden,
        comparator=comparator,
        limits=Limits(time_s=float(time_s)),
        reference=reference,
        path=directory,
    )


# ---------------------------------------------------------------- library


class ChallengeLibrary:
    """Every challenge found directly under a list of directories, by id."""

    def __init__(self, dirs: Iterable[str | Path]):
        self.dirs: list[Path] = []
        self._by_id: dict[str, Challenge] = {}
        seen: set[Path] = set()
        for d in map(Path, dirs):
            if not d.is_dir():
                raise ChallengeError(f"{d}: challenge directory does not exist")
            if d.resolve() in seen:  # the same directory listed twice is not a duplicate of its challenges
                continue
            seen.add(d.resolve())
            self.dirs.append(d)
            for child in sorted(d.iterdir()):
                if not (child / "challenge.toml").is_file():
                    continue
                challenge = load_challenge(child)
                other = self._by_id.get(challenge.id)
                if other is not None:
                    raise ChallengeError(
                        f"{child / 'challenge.toml'}: id: duplicate id {challenge.id!r}, already defined in {other.path}"
                    )
                self._by_id[challenge.id] = challenge

    def get(self, challenge_id: str) -> Challenge:
        """The challenge with this id; KeyError when there is none."""
        return self._by_id[challenge_id]

    def all(self) -> list[Challenge]:
        """Every challenge, sorted by id."""
        return [self._by_id[k] for k in sorted(self._by_id)]

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, challenge_id: object) -> bool:
        return challenge_id in self._by_id

    def choose(self, pool: str, rng: random.Random, exclude: Iterable[str] = frozenset()) -> Challenge:
        """A random challenge of ``pool`` (``any`` or a difficulty), avoiding ``exclude`` when possible.

        When every challenge of the pool is excluded the exclusion is dropped; KeyError when the pool is empty.
        """
        if pool != "any" and pool not in DIFFICULTIES:
            raise ValueError(f"unknown pool {pool!r}")
        candidates = [c for c in self.all() if pool == "any" or c.difficulty == pool]
        if not candidates:
            raise KeyError(f"no challenge in pool {pool!r}")
        excluded = set(exclude)
        fresh = [c for c in candidates if c.id not in excluded]
        return rng.choice(fresh or candidates)

    @staticmethod
    def default_dirs() -> list[Path]:
        """Existing ``{jupyter data path}/duel/challenges`` directories, plus the checkout's ``challenges/``.

        Running from a source checkout, the checkout's pack replaces the copy an (editable) install puts under
        ``sys.prefix`` (same ids), so the two do not collide.
        """
        from jupyter_core.paths import ENV_JUPYTER_PATH, jupyter_path

        source = Path(__file__).resolve().parents[2] / "challenges"
        from_source = source.is_dir() and (source.parent / "server" / "jupyter_duel_server").is_dir()
        installed_copy = {(Path(p) / "duel" / "challenges").resolve() for p in ENV_JUPYTER_PATH}
        out: list[Path] = []
        seen: set[Path] = set()
        candidates = [Path(p) for p in jupyter_path("duel", "challenges")]
        if from_source:
            candidates.append(source)
        for p in candidates:
            if not p.is_dir():
                continue
            r = p.resolve()
            if r in seen or (from_source and r in installed_copy and r != source.resolve()):
                continue
            seen.add(r)
            out.append(p)
        return out
