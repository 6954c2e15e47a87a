"""Challenge loading, validation, the public view, comparators and the library (no process is started here)."""

import json
import random
import re
from pathlib import Path

import pytest

from jupyter_duel_server import protocol
from jupyter_duel_server.challenges import (
    Challenge,
    ChallengeError,
    ChallengeLibrary,
    Comparator,
    Limits,
    TestCase,
    load_challenge,
)
from jupyter_duel_server.codec import encode

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "challenges"
BUNDLED = sorted(p.name for p in PACK.iterdir() if (p / "challenge.toml").is_file())

TOML = """\
id = "{id}"
title = "Double It"
difficulty = "easy"
tags = ["demo"]
function = "double"
signature = "def double(x):"
"""


def make(root: Path, cid: str = "double-it", *, toml: str | None = None, tests=None, statement="Double `x`.",
         reference="def double(x):\n    return 2 * x\n") -> Path:
    d = root / cid
    d.mkdir(parents=True)
    (d / "challenge.toml").write_text(TOML.format(id=cid) if toml is None else toml)
    if statement is not None:
        (d / "statement.md").write_text(statement)
    if tests is None:
        tests = {"samples": [{"args": [1], "expected": 2}], "hidden": [{"args": [{"$tuple": [1]}], "expected": {"$tuple": [1, 1]}}]}
    if tests is not ...:
        (d / "tests.json").write_text(tests if isinstance(tests, str) else json.dumps(tests))
    if reference is not None:
        (d / "reference.py").write_text(reference)
    return d


# ---------------------------------------------------------------- the bundled pack


def test_pack_has_the_required_mix():
    library = ChallengeLibrary([PACK])
    by_difficulty = {d: [c for c in library.all() if c.difficulty == d] for d in ("easy", "medium", "hard")}
    assert len(by_difficulty["easy"]) >= 3 and len(by_difficulty["medium"]) >= 2 and len(by_difficulty["hard"]) >= 1
    add = library.get("add-two")
    assert add.function == "add" and add.difficulty == "easy"
    assert any(c.comparator.kind == "float" for c in library.all())
    assert any(c.comparator.kind == "unordered" for c in library.all())


@pytest.mark.parametrize("cid", BUNDLED)
def test_bundled_challenge_loads_with_enough_tests(cid):
    c = load_challenge(PACK / cid)
    assert c.id == cid
    assert len(c.samples) >= 3 and len(c.hidden) >= 10
    assert c.statement.strip() and "```" in c.statement, "the statement should show an example"
    assert c.signature.startswith(f"def {c.function}(")
    compile(c.starter_code, "<starter>", "exec")


@pytest.mark.parametrize("cid", BUNDLED)
def test_public_view_matches_protocol_and_hides_secrets(cid):
    c = load_challenge(PACK / cid)
    view = c.public_view()
    protocol.ChallengeView.model_validate(view)
    assert set(view) == set(protocol.ChallengeView.model_fields)
    assert view["hidden_count"] == len(c.hidden)
    assert [s["call"] for s in view["samples"]] == [c.call_repr(t) for t in c.samples]
    text = json.dumps(view)
    # No reference code: its body lines (the signature line is public anyway) must not appear.
    body = [line.strip() for line in c.reference.splitlines() if line.strip() and not line.lstrip().startswith("def ")]
    distinctive = [line for line in body if len(line) > 25]
    assert not any(json.dumps(line)[1:-1] in text for line in distinctive)
    # No hidden test data: distinctive hidden arguments and results (long reprs that are not in the samples).
    sample_text = json.dumps([c.call_repr(t) + repr(t.expected) for t in c.samples])
    for test in c.hidden:
        for value in (*test.args, test.expected):
            r = repr(value)
            if len(r) >= 12 and r not in sample_text and r not in c.statement:
                assert json.dumps(r)[1:-1] not in text, r[:80]


# ---------------------------------------------------------------- loading


def test_load_minimal_challenge_and_defaults(tmp_path):
    c = load_challenge(make(tmp_path))
    assert isinstance(c, Challenge)
    assert c.starter_code == "def double(x):\n    pass\n"
    assert c.comparator.kind == "exact" and c.limits == Limits(2.0)
    assert c.samples == [TestCase(args=(1,), expected=2)]
    assert c.hidden == [TestCase(args=((1,),), expected=(1, 1))]
    assert c.call_repr(c.hidden[0]) == "double((1,))"
    assert [k for k, _ in c.tests()] == ["sample", "hidden"]
    assert [k for k, _ in c.tests(samples_only=True)] == ["sample"]
    assert c.path == tmp_path / "double-it"
    assert load_challenge(tmp_path / "double-it" / "challenge.toml").id == "double-it"


def test_call_repr_uses_reprs():
    c = load_challenge(PACK / "add-two")
    assert c.call_repr(TestCase(args=([2, 7], "a'b", (1,)), expected=None)) == "add([2, 7], \"a'b\", (1,))"


def test_comparator_and_limits_from_toml(tmp_path):
    toml = TOML.format(id="x") + 'comparator = { kind = "float", tolerance = 0.01 }\n[limits]\ntime_s = 0.5\n'
    c = load_challenge(make(tmp_path, "x", toml=toml))
    assert c.comparator.kind == "float" and c.comparator.tolerance == 0.01
    assert c.limits.time_s == 0.5


@pytest.mark.parametrize(
    "toml, field",
    [
        (TOML.replace('title = "Double It"\n', ""), "title"),
        (TOML.replace('function = "double"\n', ""), "function"),
        (TOML.replace('difficulty = "easy"', 'difficulty = "expert"'), "difficulty"),
        (TOML.replace('id = "{id}"', 'id = "Bad Id"'), "id"),
        (TOML.replace('tags = ["demo"]', 'tags = "demo"'), "tags"),
        (TOML.replace('signature = "def double(x):"', 'signature = "def twice(x):"'), "signature"),
        (TOML.replace('signature = "def double(x):"', 'signature = "def double(x)"'), "signature"),
        (TOML + 'dificulty = "easy"\n', "dificulty"),
        (TOML + 'comparator = "fuzzy"\n', "comparator"),
        (TOML + 'comparator = { kind = "exact", tolerance = 0.1 }\n', "comparator"),
        (TOML + "[limits]\ntime_s = -1\n", "limits.time_s"),
        (TOML + 'starter = "def other(): pass"\n', "starter"),
        (TOML + "this is not toml", "invalid TOML"),
    ],
)
def test_bad_toml_is_reported_with_file_and_field(tmp_path, toml, field):
    d = make(tmp_path, "x", toml=toml.replace("{id}", "x"))
    with pytest.raises(ChallengeError) as info:
        load_challenge(d)
    message = str(info.value)
    assert str(d / "challenge.toml") in message
    assert field in message


@pytest.mark.parametrize(
    "tests, where",
    [
        ({"samples": [{"args": [{"$tuple": 3}], "expected": 1}]}, "samples[0].args"),
        ({"samples": [{"args": [1], "expected": {"$complex": [1, 2]}}]}, "samples[0].expected"),
        ({"samples": [], "hidden": [{"args": [1], "expected": 2}, {"args": 1, "expected": 2}]}, "hidden[1].args"),
        ({"samples": [{"args": [1]}]}, "samples[0]"),
        ({"hidden": [{"args": [1], "expected": 2}]}, "samples"),
        ({"samples": [], "hidden": []}, "no tests"),
        ({"samples": [], "extra": []}, "tests.json"),
        ("{not json", "invalid JSON"),
    ],
)
def test_bad_tests_are_reported(tmp_path, tests, where):
    d = make(tmp_path, tests=tests)
    with pytest.raises(ChallengeError) as info:
        load_challenge(d)
    assert str(d / "tests.json") in str(info.value)
    assert where in str(info.value)


@pytest.mark.parametrize(
    "kwargs, file",
    [
        ({"statement": None}, "statement.md"),
        ({"statement": "  \n"}, "statement.md"),
        ({"reference": None}, "reference.py"),
        ({"reference": "def double(x:\n"}, "reference.py"),
        ({"reference": "def triple(x):\n    return 3 * x\n"}, "reference.py"),
        ({"tests": ...}, "tests.json"),
    ],
)
def test_missing_or_bad_files_are_reported(tmp_path, kwargs, file):
    d = make(tmp_path, **kwargs)
    with pytest.raises(ChallengeError, match=re.escape(str(d / file))):
        load_challenge(d)


def test_missing_toml(tmp_path):
    with pytest.raises(ChallengeError, match="challenge.toml: missing file"):
        load_challenge(tmp_path)


# ---------------------------------------------------------------- comparators


def test_exact_is_type_aware():
    exact = Comparator("exact")
    assert exact.compare(3, 3)
    assert not exact.compare(1, True) and not exact.compare(True, 1)
    assert not exact.compare(0, False)
    assert not exact.compare((1, 2), [1, 2]) and not exact.compare([1, 2], (1, 2))
    assert not exact.compare(1, 1.0) and not exact.compare(2.0, 2)
    assert not exact.compare([(1, 2)], [[1, 2]])
    assert exact.compare({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert exact.compare({1, 2, 3}, {3, 2, 1})
    assert not exact.compare({1, 2}, frozenset({1, 2}))
    assert not exact.compare({1: "x"}, {True: "x"})
    assert exact.compare(float("nan"), float("nan"))
    assert not exact.compare(0.1 + 0.2, 0.3)
    assert not exact.compare(1, None) and not exact.compare("1", 1)


def test_exact_survives_unencodable_results():
    assert not Comparator("exact").compare(1, object())


def test_float_tolerance():
    fl = Comparator("float", tolerance=1e-6)
    assert fl.compare(0.3, 0.1 + 0.2)
    assert fl.compare(1e12, 1e12 + 1)  # relative
    assert fl.compare(0.0, 1e-7)  # absolute
    assert not fl.compare(1.0, 1.001)
    assert fl.compare(2.0, 2) and fl.compare(2, 2.0000000001)
    assert not fl.compare(2, 3) and fl.compare(10**30, 10**30)
    assert not fl.compare(1.0, True) and not fl.compare(True, 1.0)
    assert fl.compare([1.0, (2.0, 3.0)], [1.0000001, (2.0, 3.0)])
    assert not fl.compare([1.0, (2.0, 3.0)], [1.0, [2.0, 3.0]])
    assert not fl.compare([1.0], [1.0, 2.0])
    assert fl.compare({"m": 0.5}, {"m": 0.5000000001}) and not fl.compare({"m": 0.5}, {"n": 0.5})
    assert fl.compare(float("inf"), float("inf")) and not fl.compare(float("inf"), 1e308)
    assert fl.compare(float("nan"), float("nan")) and not fl.compare(float("nan"), 0.0)
    assert not fl.compare(1.0, 10**400)
    assert not fl.compare("a", 1.0) and fl.compare("a", "a")


def test_unordered():
    un = Comparator("unordered")
    assert un.compare([1, 2, 3], [3, 1, 2])
    assert not un.compare([1, 1, 2], [1, 2, 2])
    assert not un.compare([1, 2], [1, 2, 3])
    assert not un.compare([1, 2], (1, 2))
    assert not un.compare([True], [1])
    assert un.compare([[1, 2], [3]], [[3], [1, 2]])
    assert not un.compare([[1, 2], [3]], [[3], [2, 1]])
    deep = Comparator("unordered", depth=2)
    assert deep.compare([["a", "b"], ["c"]], [["c"], ["b", "a"]])
    assert not deep.compare([["a", "b"], ["c"]], [["c"], ("b", "a")])
    assert not deep.compare([["a", "b"]], [["a"], ["b"]])
    assert un.compare([], [])


@pytest.mark.parametrize(
    "config",
    ["close", {"tolerance": 0.1}, {"kind": "float", "tolerance": -1}, {"kind": "unordered", "depth": 0},
     {"kind": "float", "depth": 2}, {"kind": "exact", "extra": 1}, 3],
)
def test_bad_comparator_config(config):
    with pytest.raises(ValueError):
        Comparator.from_config(config)


# ---------------------------------------------------------------- library


def test_library_loads_every_directory_and_adds_later_dirs(tmp_path):
    make(tmp_path / "a", "one")
    make(tmp_path / "a", "two")
    (tmp_path / "a" / "not-a-challenge").mkdir()
    (tmp_path / "a" / "README.md").write_text("notes")
    make(tmp_path / "b", "three")
    library = ChallengeLibrary([tmp_path / "a", tmp_path / "b"])
    assert [c.id for c in library.all()] == ["one", "three", "two"]
    assert library.get("three").path == tmp_path / "b" / "three"
    with pytest.raises(KeyError):
        library.get("four")


def test_duplicate_id_is_an_error(tmp_path):
    make(tmp_path / "a", "same")
    make(tmp_path / "b", "same")
    with pytest.raises(ChallengeError, match="duplicate id 'same'"):
        ChallengeLibrary([tmp_path / "a", tmp_path / "b"])


def test_listing_a_directory_twice_is_harmless(tmp_path):
    make(tmp_path / "a", "one")
    library = ChallengeLibrary([tmp_path / "a", tmp_path / "a" / ".." / "a"])
    assert [c.id for c in library.all()] == ["one"]


def test_duplicate_id_in_one_directory_is_an_error(tmp_path):
    make(tmp_path, "first", toml=TOML.format(id="dup"))
    make(tmp_path, "second", toml=TOML.format(id="dup"))
    with pytest.raises(ChallengeError, match="duplicate id 'dup'"):
        ChallengeLibrary([tmp_path])


def test_invalid_challenge_fails_the_library(tmp_path):
    make(tmp_path, "bad", toml=TOML.format(id="bad").replace("easy", "trivial"))
    with pytest.raises(ChallengeError, match="difficulty"):
        ChallengeLibrary([tmp_path])


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(ChallengeError, match="does not exist"):
        ChallengeLibrary([tmp_path / "nope"])


def test_choose_by_pool_with_exclusions():
    library = ChallengeLibrary([PACK])
    rng = random.Random(1)
    picks = {library.choose("hard", rng).id for _ in range(300)}
    assert picks == {c.id for c in library.all() if c.difficulty == "hard"}
    easy_ids = {c.id for c in library.all() if c.difficulty == "easy"}
    for _ in range(20):
        assert library.choose("easy", rng).difficulty == "easy"
        assert library.choose("any", rng).id in {c.id for c in library.all()}
        assert library.choose("easy", rng, exclude=easy_ids - {"add-two"}).id == "add-two"
    # Everything excluded: still a challenge of the pool rather than no battle.
    assert library.choose("easy", rng, exclude=easy_ids).id in easy_ids
    with pytest.raises(ValueError):
        library.choose("legendary", rng)


def test_choose_is_deterministic_for_a_seed():
    library = ChallengeLibrary([PACK])
    a = [library.choose("any", random.Random(7)).id for _ in range(3)]
    b = [library.choose("any", random.Random(7)).id for _ in range(3)]
    assert a == b


def test_choose_from_an_empty_pool(tmp_path):
    make(tmp_path, "only-easy")
    with pytest.raises(KeyError):
        ChallengeLibrary([tmp_path]).choose("hard", random.Random())


def test_default_dirs_include_the_checkout_and_jupyter_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    (tmp_path / "duel" / "challenges").mkdir(parents=True)
    dirs = ChallengeLibrary.default_dirs()
    import sys

    import jupyter_duel_server

    # From a source checkout (editable install) the checkout's pack; from a wheel, the copy it installed.
    from_checkout = Path(jupyter_duel_server.__file__).resolve().parents[2] == REPO
    bundled = PACK if from_checkout else (Path(sys.prefix) / "share" / "jupyter" / "duel" / "challenges").resolve()
    assert bundled in [d.resolve() for d in dirs]
    assert (tmp_path / "duel" / "challenges") in dirs
    assert len({d.resolve() for d in dirs}) == len(dirs)
    assert {c.id for c in ChallengeLibrary(dirs).all()} >= set(BUNDLED)


# ---------------------------------------------------------------- the documented example


def test_documented_example_is_a_valid_challenge(tmp_path):
    doc = (REPO / "docs" / "challenge-format.md").read_text()
    d = tmp_path / "running-total"
    d.mkdir()
    for name in ("challenge.toml", "statement.md", "tests.json", "reference.py"):
        match = re.search(rf"`challenges/running-total/{re.escape(name)}`:\n\n(`{{3,4}})\w*\n(.*?)\n\1\n", doc, re.S)
        assert match, name
        (d / name).write_text(match.group(2) + "\n")
    c = load_challenge(d)
    assert c.samples[0] == TestCase(args=([1, 2, 3],), expected=(1, 3, 6))
    assert c.limits.time_s == 1.5
    ns: dict = {}
    exec(c.reference, ns)
    assert all(c.comparator.compare(t.expected, ns[c.function](*t.args)) for _, t in c.tests())


def test_documented_encoding_examples():
    doc = (REPO / "docs" / "challenge-format.md").read_text()
    assert json.dumps(encode({1: "x", (0, 0): []})) in doc
    assert json.dumps(encode((1, "a"))) in doc


# ---------------------------------------------------------------- packs and lenient loading


def test_packs_are_named_by_pack_toml_or_directory(tmp_path):
    make(tmp_path / "course", "one")
    (tmp_path / "course" / "pack.toml").write_text('name = "algo-1"\ntitle = "Algorithms I"\ndescription = "Week 1"\n')
    make(tmp_path / "plain", "two")
    nested = tmp_path / "plain" / "extra"
    make(nested, "three")
    library = ChallengeLibrary([tmp_path / "course", tmp_path / "plain"])
    assert {c.id: c.pack for c in library.all()} == {"one": "algo-1", "two": "plain", "three": "extra"}
    assert library.packs["algo-1"].title == "Algorithms I" and library.packs["algo-1"].description == "Week 1"
    assert library.packs["plain"].path == tmp_path / "plain"
    assert load_challenge(tmp_path / "course" / "one").pack == "algo-1"
    assert ChallengeLibrary([PACK]).get("add-two").pack == "bundled"


@pytest.mark.parametrize(
    "pack_toml, fragment",
    [('name = "Not OK"\n', "pack.toml: name: must be 1-64"), ('nme = "x"\n', "pack.toml: nme: unknown field"),
     ("title = 3\n", "pack.toml: title: must be a string"), ("name = \n", "pack.toml: invalid TOML")],
)
def test_bad_pack_toml(tmp_path, pack_toml, fragment):
    make(tmp_path / "p", "one")
    (tmp_path / "p" / "pack.toml").write_text(pack_toml)
    with pytest.raises(ChallengeError, match=re.escape(fragment)):
        ChallengeLibrary([tmp_path / "p"])
    lenient = ChallengeLibrary([tmp_path / "p"], strict=False)
    assert fragment in str(lenient.errors[0]) and lenient.get("one").pack == "p"


def test_lenient_library_skips_and_records_broken_challenges(tmp_path):
    make(tmp_path / "a", "good")
    make(tmp_path / "a", "bad", toml=TOML.format(id="bad").replace("easy", "trivial"))
    make(tmp_path / "a", "dup", toml=TOML.format(id="good"))
    library = ChallengeLibrary([tmp_path / "a", tmp_path / "missing"], strict=False)
    assert [c.id for c in library.all()] == ["good"]
    messages = [str(e) for e in library.errors]
    assert len(messages) == 3
    assert any("bad/challenge.toml: difficulty" in m for m in messages)
    assert any("duplicate id 'good'" in m for m in messages)
    assert any("missing: challenge directory does not exist" in m for m in messages)
    assert all(isinstance(e, ChallengeError) and e.problems for e in library.errors)
    with pytest.raises(ChallengeError):
        ChallengeLibrary([tmp_path / "a"])  # strict by default


def test_all_problems_of_a_directory_are_reported_together(tmp_path):
    toml = TOML.format(id="x").replace("easy", "trivial").replace('title = "Double It"\n', "")
    d = make(tmp_path, "x", toml=toml, statement="", reference=None)
    with pytest.raises(ChallengeError) as info:
        load_challenge(d)
    problems = info.value.problems
    assert any("difficulty" in p for p in problems) and any("title: missing" in p for p in problems)
    assert any("statement.md: is empty" in p for p in problems) and any("reference.py: missing file" in p for p in problems)
    assert str(info.value) == "\n".join(problems)


def test_choose_filters_by_pack(tmp_path):
    make(tmp_path / "p1", "one")
    make(tmp_path / "p2", "two")
    library = ChallengeLibrary([tmp_path / "p1", tmp_path / "p2"])
    rng = random.Random(3)
    assert {library.choose("easy", rng, packs=["p2"]).id for _ in range(10)} == {"two"}
    assert {library.choose("any", rng, packs=[]).id for _ in range(30)} == {"one", "two"}
    assert library.choose("easy", rng, exclude=["one"], packs={"p1"}).id == "one"
    with pytest.raises(KeyError, match="of packs"):
        library.choose("easy", rng, packs=["nope"])


def test_brute_force_is_loaded_and_checked(tmp_path):
    d = make(tmp_path)
    (d / "brute_force.py").write_text("def double(x):\n    return x + x\n")
    assert load_challenge(d).brute_force == "def double(x):\n    return x + x\n"
    (d / "brute_force.py").write_text("def triple(x):\n    return 3 * x\n")
    with pytest.raises(ChallengeError, match=re.escape(f"{d / 'brute_force.py'}: does not define double")):
        load_challenge(d)


# ---------------------------------------------------------------- custom checker


CHECKER = "def check(args, expected, got):\n    (x,) = args\n    return got in (2 * x, -2 * x), 'sign does not matter'\n"


def test_custom_comparator_from_toml_with_checker(tmp_path):
    d = make(tmp_path, toml=TOML.format(id="double-it") + 'comparator = { kind = "custom" }\n')
    (d / "checker.py").write_text(CHECKER)
    c = load_challenge(d)
    assert c.comparator.kind == "custom" and c.checker_source == CHECKER
    assert c.comparator.check(2, -2, args=(1,)) == (True, "sign does not matter")
    assert not c.comparator.compare(2, 3, args=(1,))
    # The judge passes only test.expected: Challenge.tests() makes it carry the arguments (shown as the value).
    (kind, test), = c.tests(samples_only=True)
    assert repr(test.expected) == "2" and c.comparator.compare(test.expected, -2)
    assert "checker" not in json.dumps(c.public_view()) and "sign does not" not in json.dumps(c.public_view())


def test_custom_checker_errors_never_propagate(caplog):
    def boom(args, expected, got):
        raise RuntimeError("instructor bug")

    comparator = Comparator("custom", checker=boom)
    assert comparator.compare(1, 1, args=(0,)) is False
    assert "raised RuntimeError: instructor bug" in comparator.errors[-1]
    assert "instructor bug" in caplog.text
    odd = Comparator("custom", checker=lambda a, e, g: "yes")
    assert odd.check(1, 1, ()) == (False, None) and "must return True/False" in odd.errors[-1]
    # The checker gets copies: it cannot corrupt the test data.
    expected = [1, 2]

    def mutate(args, exp, got):
        exp.append(3)
        args[0].append(9)
        return True

    args = ([0],)
    assert Comparator("custom", checker=mutate).compare(expected, None, args=args)
    assert expected == [1, 2] and args == ([0],)
    with pytest.raises(ValueError):
        Comparator("custom")
    with pytest.raises(ValueError):
        Comparator("exact", checker=boom)
