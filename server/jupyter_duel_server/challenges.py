"""Challenges: loading and validating challenge directories, comparing results, packs and the challenge library.

Why: challenges are written by instructors, so every problem in a challenge directory must be reported at load
time with the file and field at fault, never discovered in the middle of a battle. The file format is documented
in ``docs/challenge-format.md``. Running the reference and brute-force solutions through the judge (which a
loader must not do: it would start processes) is ``validate.py``'s job.
"""

from __future__ import annotations

import ast
import collections
import inspect
import json
import keyword
import logging
import math
import random
import re
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .codec import EncodingError, canonical, decode, encode

__all__ = [
    "DIFFICULTIES",
    "Challenge",
    "ChallengeError",
    "ChallengeLibrary",
    "Comparator",
    "Limits",
    "Pack",
    "TestCase",
    "find_challenge_dirs",
    "load_challenge",
    "load_pack",
]

log = logging.getLogger(__name__)

DIFFICULTIES = ("easy", "medium", "hard")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TOML_KEYS = {"id", "title", "difficulty", "tags", "function", "signature", "starter", "comparator", "limits"}
REQUIRED_TOML_KEYS = ("id", "title", "difficulty", "function", "signature")
PACK_KEYS = {"name", "title", "description"}


class ChallengeError(ValueError):
    """A challenge (or pack) directory is invalid; the message names the file and the field.

    ``problems`` lists every problem found, one message each; ``str(error)`` is all of them, one per line.
    """

    def __init__(self, message: str | list[str], path: Path | None = None):
        problems = [message] if isinstance(message, str) else list(message)
        super().__init__("\n".join(problems))
        self.problems = problems
        self.path = path


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


class _Expected:
    """An expected value travelling with its test's arguments, for a custom checker (see ``Challenge.tests``).

    The judge hands ``comparator.compare`` only the expected value; wrapping it lets a checker see the call's
    arguments too. It shows as the bare value (``repr``), and ``Comparator.compare`` unwraps it.
    """

    __slots__ = ("value", "args")

    def __init__(self, value: Any, args: tuple):
        self.value = value
        self.args = args

    def __repr__(self) -> str:
        return repr(self.value)


def _copy(value: Any) -> Any:
    """A deep copy of a test value (through the codec: test values are always encodable)."""
    return decode(encode(value))


class Comparator:
    """Decides whether a returned value matches the expected one; runs on the trusted side only.

    - ``exact``: equal values of the same types throughout (``True`` is not ``1``, a tuple is not a list,
      ``1.0`` is not ``1``); dict and set order do not matter; ``nan`` matches ``nan``.
    - ``float``: like exact, but numbers (int or float, never bool) match when they are within ``tolerance``,
      relative or absolute, recursively through lists, tuples and dict values.
    - ``unordered``: a list (or tuple) matches when it holds the same elements the same number of times in any
      order; with ``depth`` 2 the elements' own lists/tuples are unordered too, and so on. Elements compare
      exactly.
    - ``custom``: ``checker(args, expected, got)`` decides (the challenge's ``checker.py``, instructor code run in
      this process). It returns a bool or ``(bool, message)``; an exception or any other return value counts as
      a refusal, is logged and kept in ``errors``: it never propagates into the judge.
    """

    KINDS = ("exact", "float", "unordered", "custom")

    def __init__(
        self,
        kind: str = "exact",
        tolerance: float = 1e-6,
        depth: int = 1,
        checker: Callable[[tuple, Any, Any], Any] | None = None,
    ):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {', '.join(self.KINDS)}, got {kind!r}")
        if type(tolerance) not in (int, float) or not (0 <= tolerance < 1) or math.isnan(tolerance):
            raise ValueError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
        if type(depth) is not int or depth < 1:
            raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
        if kind == "custom" and not callable(checker):
            raise ValueError("kind \"custom\" needs a checker: a checker.py defining check(args, expected, got)")
        if kind != "custom" and checker is not None:
            raise ValueError(f"a checker only applies to kind \"custom\", not {kind!r}")
        self.kind = kind
        self.tolerance = float(tolerance)
        self.depth = depth
        self.checker = checker
        #: The latest problems of the custom checker (exceptions, bad return values), newest last.
        self.errors: collections.deque[str] = collections.deque(maxlen=100)

    @classmethod
    def from_config(cls, config: Any, checker: Callable | None = None) -> "Comparator":
        """Build from the ``comparator`` value of challenge.toml: a kind name or a table with ``kind``.

        ``checker`` is the ``check`` function of the challenge's checker.py, required for kind ``custom``.
        """
        if isinstance(config, str):
            return cls(config, checker=checker)
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
            return cls(kind, config.get("tolerance", 1e-6), config.get("depth", 1), checker=checker)
        raise ValueError(f"must be a string or a table, got {type(config).__name__}")

    def compare(self, expected: Any, got: Any, args: tuple | None = None) -> bool:
        """True when ``got`` is an acceptable result for a test expecting ``expected`` (called with ``args``)."""
        return self.check(expected, got, args)[0]

    def check(self, expected: Any, got: Any, args: tuple | None = None) -> tuple[bool, str | None]:
        """``(accepted, message)``: the message is a custom checker's explanation, else None."""
        if isinstance(expected, _Expected):
            expected, args = expected.value, (expected.args if args is None else args)
        try:
            if self.kind == "custom":
                return self._custom(expected, got, args)
            if self.kind == "float":
                return self._close(expected, got), None
            if self.kind == "unordered":
                return self._unordered_key(expected, self.depth) == self._unordered_key(got, self.depth), None
            return canonical(expected) == canonical(got), None
        except (EncodingError, RecursionError):
            return False, None

    def _custom(self, expected: Any, got: Any, args: tuple | None) -> tuple[bool, str | None]:
        call = f"check({_short_repr(args)}, {_short_repr(expected)}, {_short_repr(got)})"
        try:
            result = self.checker(_copy(args) if args is not None else None, _copy(expected), got)
        except Exception as e:  # noqa: BLE001 - instructor code: a bug is a refusal, never a judge crash
            error = f"{call} raised {type(e).__name__}: {e}"
            self.errors.append(error)
            log.error("jupyter-duel custom checker: %s", error, exc_info=True)
            return False, None
        message = None
        if isinstance(result, tuple) and len(result) == 2 and type(result[0]) is bool:
            result, message = result
            message = None if message is None else str(message)
        if type(result) is not bool:
            error = f"{call} returned {_short_repr(result)}: it must return True/False or (bool, message)"
            self.errors.append(error)
            log.error("jupyter-duel custom checker: %s", error)
            return False, None
        return result, message

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


def _short_repr(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Challenge:
    """A loaded challenge. ``public_view()`` is the only part that may reach players.

    ``reference``, ``brute_force`` and ``checker_source`` are secret (never sent anywhere); ``pack`` is the name
    of the pack the challenge came from.
    """

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
    pack: str = ""
    brute_force: str | None = None
    checker_source: str | None = None

    def call_repr(self, test: TestCase) -> str:
        """The call as Python source, e.g. ``two_sum([2, 7], 9)``."""
        return f"{self.function}({', '.join(repr(a) for a in test.args)})"

    def tests(self, samples_only: bool = False) -> list[tuple[str, TestCase]]:
        """The tests of a run in order: samples first (kind ``"sample"``), then hidden ones (``"hidden"``).

        With a custom comparator each test's ``expected`` carries the test's arguments along (it still shows as
        the bare value), so that ``comparator.compare(test.expected, got)`` can hand them to the checker.
        """
        out = [("sample", t) for t in self.samples]
        if not samples_only:
            out += [("hidden", t) for t in self.hidden]
        if self.comparator.kind == "custom":
            out = [(kind, TestCase(t.args, _Expected(t.expected, t.args))) for kind, t in out]
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


@dataclass
class Pack:
    """A directory of challenges: named by its ``pack.toml`` or, without one, by the directory's name."""

    name: str
    title: str
    description: str
    path: Path


# ---------------------------------------------------------------- loading


def _where(file: Path, fieldname: str | None, message: str) -> str:
    return (f"{file}: {fieldname}: " if fieldname else f"{file}: ") + message


def _err(file: Path, fieldname: str | None, message: str) -> ChallengeError:
    return ChallengeError(_where(file, fieldname, message))


def _read_text(file: Path) -> str:
    if not file.is_file():
        raise _err(file, None, "missing file")
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _err(file, None, f"cannot be read as UTF-8 text: {e}") from None


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


class _Problems:
    """Collects every problem of a directory instead of stopping at the first one."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, error: ChallengeError | str) -> None:
        self.items.extend(error.problems if isinstance(error, ChallengeError) else [error])

    def run(self, fn: Callable, *args, **kwargs) -> Any:
        """``fn(...)``, or None after recording its ChallengeError."""
        try:
            return fn(*args, **kwargs)
        except ChallengeError as e:
            self.add(e)
            return None


def _tests(file: Path, data: Any, key: str, required: bool, problems: _Problems) -> list[TestCase]:
    if key not in data:
        if required:
            problems.add(_where(file, key, "missing required field"))
        return []
    items = data[key]
    if not isinstance(items, list):
        problems.add(_where(file, key, f"must be a list of tests, got {type(items).__name__}"))
        return []
    out = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict) or set(item) != {"args", "expected"}:
            problems.add(_where(file, where, 'must be an object with exactly the keys "args" and "expected"'))
            continue
        args = expected = None
        ok = True
        if not isinstance(item["args"], list):
            problems.add(_where(file, f"{where}.args", "must be a list of the encoded positional arguments"))
            ok = False
        else:
            try:
                args = tuple(decode(a) for a in item["args"])
            except (EncodingError, RecursionError) as e:
                problems.add(_where(file, f"{where}.args", str(e)))
                ok = False
        try:
            expected = decode(item["expected"])
        except (EncodingError, RecursionError) as e:
            problems.add(_where(file, f"{where}.expected", str(e)))
            ok = False
        if ok:
            out.append(TestCase(args=args, expected=expected))
    return out


def _python_file(file: Path, function: str | None, what: str) -> str:
    """Read a solution file, check that it parses and defines ``function`` at top level."""
    source = _read_text(file)
    tree = _compile(file, None, source)
    if function is not None and function not in _top_level_names(tree):
        raise _err(file, None, f"does not define {function} at top level ({what})")
    return source


def _load_checker(file: Path) -> tuple[str, Callable]:
    """Execute checker.py (trusted instructor code, in this process) and return its source and ``check``."""
    source = _read_text(file)
    try:
        code = compile(source, str(file), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        raise _err(file, None, f"is not valid Python: {e}") from None
    module = types.ModuleType(f"jupyter_duel_checker_{file.parent.name.replace('-', '_')}")
    module.__file__ = str(file)
    try:
        exec(code, module.__dict__)
    except Exception as e:  # noqa: BLE001
        raise _err(file, None, f"raised {type(e).__name__} while loading: {e}") from None
    check = module.__dict__.get("check")
    if not callable(check):
        raise _err(file, "check", "missing: checker.py must define check(args, expected, got)")
    try:
        inspect.signature(check).bind(None, None, None)
    except TypeError:
        raise _err(file, "check", "must accept three positional arguments: check(args, expected, got)") from None
    except ValueError:
        pass  # no signature available (a builtin): let it be
    return source, check


def load_challenge(path: str | Path, pack: str | None = None) -> Challenge:
    """Load and validate one challenge directory (or its ``challenge.toml``).

    Raises ChallengeError listing every problem found (``error.problems``). ``pack`` defaults to the pack of
    the parent directory (its ``pack.toml`` name, else its directory name).
    """
    path = Path(path)
    directory = path.parent if path.name == "challenge.toml" else path
    problems = _Problems()
    toml_file = directory / "challenge.toml"
    try:
        data = tomllib.loads(_read_text(toml_file))
    except tomllib.TOMLDecodeError as e:
        raise ChallengeError(_where(toml_file, None, f"invalid TOML: {e}"), directory) from None
    except ChallengeError as e:
        raise ChallengeError(e.problems, directory) from None

    unknown = set(data) - TOML_KEYS
    if unknown:
        problems.add(
            _where(toml_file, ", ".join(sorted(unknown)), f"unknown field (allowed: {', '.join(sorted(TOML_KEYS))})")
        )
    for key in REQUIRED_TOML_KEYS:
        if key not in data:
            problems.add(_where(toml_file, key, "missing required field"))

    def string(key: str, default: str | None = None) -> str | None:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            problems.add(_where(toml_file, key, f"must be a non-empty string, got {value!r}"))
            return None
        return value

    cid = string("id")
    if cid is not None and not ID_PATTERN.match(cid):
        problems.add(_where(
            toml_file, "id", f"must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit; got {cid!r}"
        ))
    title = string("title")
    difficulty = data.get("difficulty")
    if "difficulty" in data and difficulty not in DIFFICULTIES:
        problems.add(_where(toml_file, "difficulty", f"must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}"))
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        problems.add(_where(toml_file, "tags", f"must be a list of non-empty strings, got {tags!r}"))

    function = string("function")
    if function is not None and (not function.isidentifier() or keyword.iskeyword(function)):
        problems.add(_where(toml_file, "function", f"must be a Python identifier, got {function!r}"))
        function = None
    signature = string("signature")
    starter = None
    if signature is not None:
        signature = signature.strip()
        tree = problems.run(_compile, toml_file, "signature", signature + "\n    pass\n")
        if tree is not None and function is not None and (
            len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].name != function
        ):
            problems.add(_where(toml_file, "signature", f"must be a single 'def {function}(...):' line, got {signature!r}"))
        starter = string("starter", default=f"{signature}\n    pass\n")
        if starter is not None:
            starter_tree = problems.run(_compile, toml_file, "starter", starter)
            if starter_tree is not None and function is not None and function not in _top_level_names(starter_tree):
                problems.add(_where(toml_file, "starter", f"must define {function}"))

    comparator_config = data.get("comparator", "exact")
    kind = comparator_config.get("kind") if isinstance(comparator_config, dict) else comparator_config
    checker_file = directory / "checker.py"
    checker_source = checker = None
    if kind == "custom":
        loaded = problems.run(_load_checker, checker_file)
        if loaded is not None:
            checker_source, checker = loaded
    elif checker_file.exists():
        problems.add(_where(
            checker_file, None, f'is only used with comparator = "custom" (challenge.toml has {comparator_config!r})'
        ))
    comparator = None
    try:
        comparator = Comparator.from_config(comparator_config, checker=checker)
    except ValueError as e:
        if not (kind == "custom" and checker is None):  # the checker.py problem is already reported
            problems.add(_where(toml_file, "comparator", str(e)))

    limits_data = data.get("limits", {})
    time_s = Limits.time_s
    if not isinstance(limits_data, dict) or set(limits_data) - {"time_s"}:
        problems.add(_where(toml_file, "limits", "must be a table with at most the key 'time_s'"))
    else:
        time_s = limits_data.get("time_s", Limits.time_s)
        if type(time_s) not in (int, float) or not (0 < time_s <= 600):
            problems.add(_where(toml_file, "limits.time_s", f"must be a number of seconds in (0, 600], got {time_s!r}"))

    statement_file = directory / "statement.md"
    statement = problems.run(_read_text, statement_file)
    if statement is not None and not statement.strip():
        problems.add(_where(statement_file, None, "is empty"))

    tests_file = directory / "tests.json"
    samples: list[TestCase] = []
    hidden: list[TestCase] = []
    raw_tests = problems.run(_read_text, tests_file)
    if raw_tests is not None:
        try:
            tests_data = json.loads(raw_tests)
        except (json.JSONDecodeError, RecursionError) as e:
            problems.add(_where(tests_file, None, f"invalid JSON: {e}"))
        else:
            if not isinstance(tests_data, dict) or set(tests_data) - {"samples", "hidden"}:
                problems.add(_where(tests_file, None, 'must be an object with the keys "samples" and "hidden"'))
            else:
                before = len(problems.items)
                samples = _tests(tests_file, tests_data, "samples", True, problems)
                hidden = _tests(tests_file, tests_data, "hidden", False, problems)
                if not samples and not hidden and len(problems.items) == before:
                    problems.add(_where(tests_file, None, "has no tests"))

    reference = problems.run(_python_file, directory / "reference.py", function, "the reference solution")
    brute_force = None
    if (directory / "brute_force.py").exists():
        brute_force = problems.run(_python_file, directory / "brute_force.py", function, "the brute-force solution")

    if pack is None:
        pack = problems.run(lambda: load_pack(directory.parent).name) or directory.parent.name

    if problems.items:
        raise ChallengeError(problems.items, directory)
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
        pack=pack,
        brute_force=brute_force,
        checker_source=checker_source,
    )


def load_pack(directory: str | Path) -> Pack:
    """The pack a directory of challenges forms: from its ``pack.toml`` if any, else named after the directory."""
    directory = Path(directory)
    file = directory / "pack.toml"
    fallback = directory.resolve().name
    if not file.exists():
        return Pack(name=fallback, title=fallback, description="", path=directory)
    try:
        data = tomllib.loads(_read_text(file))
    except tomllib.TOMLDecodeError as e:
        raise _err(file, None, f"invalid TOML: {e}") from None
    problems = []
    unknown = set(data) - PACK_KEYS
    if unknown:
        problems.append(_where(file, ", ".join(sorted(unknown)), f"unknown field (allowed: {', '.join(sorted(PACK_KEYS))})"))
    name = data.get("name", fallback)
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        problems.append(_where(file, "name", f"must be 1-64 lowercase letters, digits, '-' or '_'; got {name!r}"))
    for key in ("title", "description"):
        if key in data and not isinstance(data[key], str):
            problems.append(_where(file, key, f"must be a string, got {data[key]!r}"))
    if problems:
        raise ChallengeError(problems, directory)
    return Pack(name=name, title=data.get("title") or name, description=data.get("description", ""), path=directory)


def _is_challenge_dir(p: Path) -> bool:
    return (p / "challenge.toml").is_file()


def _is_pack_dir(p: Path) -> bool:
    """A directory (not a challenge) with a pack.toml or at least one challenge directory directly in it."""
    if not p.is_dir() or _is_challenge_dir(p) or p.name.startswith("."):
        return False
    return (p / "pack.toml").is_file() or any(_is_challenge_dir(c) for c in p.iterdir() if c.is_dir())


def find_challenge_dirs(directory: str | Path) -> list[tuple[Path, Path]]:
    """``(challenge dir, pack dir)`` for every challenge under ``directory``, sorted.

    ``directory`` may be one challenge (its pack is then the parent directory) or a pack: the challenge
    directories directly in it, plus those of the packs one level down (a subdirectory with a ``pack.toml``, or
    holding challenge directories). Anything else is ignored.
    """
    directory = Path(directory)
    if _is_challenge_dir(directory):
        return [(directory, directory.parent)]
    out: list[tuple[Path, Path]] = []
    if not directory.is_dir():
        return out
    for child in sorted(directory.iterdir()):
        if _is_challenge_dir(child):
            out.append((child, directory))
        elif _is_pack_dir(child):
            out.extend((c, child) for c in sorted(child.iterdir()) if _is_challenge_dir(c))
    return out


# ---------------------------------------------------------------- library


class ChallengeLibrary:
    """Every challenge found under a list of pack directories, by id.

    ``strict`` (the default) raises on the first broken challenge, pack or missing directory. With
    ``strict=False`` a broken challenge (or a later duplicate id) is left out and its ChallengeError appended
    to ``errors``, so one broken instructor file never takes the service down.
    """

    def __init__(self, dirs: Iterable[str | Path], strict: bool = True):
        self.dirs: list[Path] = []
        self.strict = strict
        self.errors: list[ChallengeError] = []
        #: Pack name -> the first pack of that name (directories with the same pack name form one pack).
        self.packs: dict[str, Pack] = {}
        self._by_id: dict[str, Challenge] = {}
        seen: set[Path] = set()
        for d in map(Path, dirs):
            if not d.is_dir():
                self._fail(ChallengeError(f"{d}: challenge directory does not exist", d))
                continue
            if d.resolve() in seen:  # the same directory listed twice is not a duplicate of its challenges
                continue
            seen.add(d.resolve())
            self.dirs.append(d)
            pack_names: dict[Path, str] = {}
            for child, pack_dir in find_challenge_dirs(d):
                if pack_dir not in pack_names:
                    try:
                        pack = load_pack(pack_dir)
                    except ChallengeError as e:
                        self._fail(e)
                        pack = Pack(pack_dir.resolve().name, pack_dir.resolve().name, "", pack_dir)
                    self.packs.setdefault(pack.name, pack)
                    pack_names[pack_dir] = pack.name
                try:
                    challenge = load_challenge(child, pack=pack_names[pack_dir])
                except ChallengeError as e:
                    self._fail(e)
                    continue
                other = self._by_id.get(challenge.id)
                if other is not None:
                    self._fail(ChallengeError(
                        f"{child / 'challenge.toml'}: id: duplicate id {challenge.id!r}, already defined in {other.path}",
                        child,
                    ))
                    continue
                self._by_id[challenge.id] = challenge

    def _fail(self, error: ChallengeError) -> None:
        if self.strict:
            raise error
        self.errors.append(error)

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

    def choose(
        self,
        pool: str,
        rng: random.Random,
        exclude: Iterable[str] = frozenset(),
        packs: Iterable[str] | None = None,
    ) -> Challenge:
        """A random challenge of ``pool`` (``any`` or a difficulty) from ``packs``, avoiding ``exclude`` when possible.

        ``packs`` is a collection of pack names; None or empty means every pack. When every challenge of the
        pool is excluded the exclusion is dropped; KeyError when no challenge is in the pool and the packs.
        """
        if pool != "any" and pool not in DIFFICULTIES:
            raise ValueError(f"unknown pool {pool!r}")
        wanted = set(packs or ())
        candidates = [
            c for c in self.all() if (pool == "any" or c.difficulty == pool) and (not wanted or c.pack in wanted)
        ]
        if not candidates:
            where = f" of packs {sorted(wanted)}" if wanted else ""
            raise KeyError(f"no challenge in pool {pool!r}{where}")
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
