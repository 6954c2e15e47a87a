"""Printed output of sample runs and runs on the player's own input (``run_custom``), against a real service
process judging in its real sandbox, with real Socket.IO clients; and the attacks a hostile student would try:
hidden inputs echoed through printed output, a patched harness that reports output for every test, printed text
posing as the runner's own result messages."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, judged, players_on, start_battle
from jupyter_duel_server.auth import Identity, IdentitySigner

TOKEN = secrets.token_hex(6)
HIDDEN = [f"HIDDEN-{TOKEN}-{i}" for i in range(4)]
SAMPLES = ["SAMPLE-one", "SAMPLE-two"]
# Reaches builtins without an import statement (the import policy is a teaching aid, not the boundary).
IMPORT = "_imp = getattr(print.__self__, '__imp' + 'ort__')\n"


def write_pack(root: Path) -> Path:
    """A one-challenge pack whose hidden inputs hold a token no event may ever carry."""
    pack = root / "leakpack"
    challenge = pack / "echo-len"
    challenge.mkdir(parents=True)
    (pack / "pack.toml").write_text('name = "leakpack"\ntitle = "Leak checks"\ndescription = "Echo lengths."\n')
    (challenge / "challenge.toml").write_text(
        'id = "echo-len"\ntitle = "Echo Length"\ndifficulty = "easy"\ntags = ["strings"]\nfunction = "echo"\n'
        'signature = "def echo(x: str) -> int:"\ncomparator = "exact"\n\n[limits]\ntime_s = 2.0\n')
    (challenge / "statement.md").write_text("Return the length of `x`.\n")
    (challenge / "reference.py").write_text("def echo(x):\n    return len(x)\n")
    (challenge / "tests.json").write_text(json.dumps({
        "samples": [{"args": [x], "expected": len(x)} for x in SAMPLES],
        "hidden": [{"args": [x], "expected": len(x)} for x in HIDDEN],
    }))
    return pack


class Recorder(Player):
    """A player that also keeps every event it received, as JSON text."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []

    async def _on_any(self, event, data):
        self.seen.append(f"{event} {json.dumps(data)}")
        await super()._on_any(event, data)


def assert_no_hidden_input(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text, text[text.index(TOKEN) - 300: text.index(TOKEN) + 100]


@pytest.fixture
def leak_service(tmp_path):
    pack = write_pack(tmp_path)
    config = tmp_path / "jupyter_duel_config.py"
    # The judge's rate limit lifted: these tests send many refused runs in a row.
    config.write_text(f"c.DuelService.challenge_dirs = [{str(pack)!r}]\nc.DuelService.packs = ['leakpack']\n"
                      "c.DuelService.rate_limits = {'judge': [0, 0]}\n")
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         "--DuelService.run_samples_cooldown_s=0", "--DuelService.submit_cooldown_s=0",
                         "--DuelService.run_output_chars=300", f"--config={config}").start()
    yield svc
    svc.stop()


async def run_samples(player: Player, battle_id: str, code: str) -> tuple[list[dict], dict]:
    """``player`` runs the samples: (its test_result events, its submission_result)."""
    ack = await player.call("run_samples", {"battle_id": battle_id, "code": code})
    assert ack["ok"], ack
    tests: list[dict] = []
    while len(tests) < len(SAMPLES):  # (an earlier submission's results may still be queued)
        test = await player.expect("test_result", timeout=60)
        if test["submission_id"] == ack["submission_id"]:
            tests.append(test)
    while True:
        result = await player.expect("submission_result", timeout=60)
        if result["submission_id"] == ack["submission_id"]:
            return tests, result


async def run_custom(player: Player, battle_id: str, code: str, args: str) -> dict:
    ack = await player.call("run_custom", {"battle_id": battle_id, "code": code, "args": args})
    assert ack["ok"], ack
    result = await player.expect("custom_result", timeout=60)
    assert result["run_id"] == ack["run_id"] and result["battle_id"] == battle_id
    return result


def make_recorder(url: str, made: list):
    async def make(name: str) -> Player:
        made.append(await Recorder(url, name).connect())
        return made[-1]
    return make


async def test_sample_runs_show_what_each_test_printed_capped_and_safe(leak_service):
    made: list[Recorder] = []
    try:
        p1, p2, m1, _ = await start_battle(make_recorder(leak_service.url, made), "ada", "bo", ranked=False)
        bid = m1["battle_id"]
        code = (IMPORT + "_sys = _imp('s' + 'ys')\n"
                "def echo(x):\n    print('got', x)\n    print('bell\\x07 esc\\x1b[2J cr\\rbidi\\u202e lone\\udcff')\n"
                "    _sys.stdout.buffer.write(b'\\xff\\xfe raw bytes\\n')\n"
                "    print('y' * 1000)\n    return len(x)\n")
        tests, result = await run_samples(p1, bid, code)
        assert result["verdict"] == "AC" and result["samples_only"]
        for test, x in zip(tests, SAMPLES):
            out = test["detail"]["output"]
            assert out.startswith(f"got {x}\nbell\u2407 esc\u241b[2J cr\nbidi\ufffd lone\ufffd\n"
                                  "\ufffd\ufffd raw bytes\nyyy")
            # run_output_chars=300 characters kept, then the marker.
            assert out.endswith("y\n\u2026 output cut") and len(out) == 300 + len("\n\u2026 output cut")
        # Nothing printed: an empty output, not a missing one. A failing run still shows what it printed.
        tests, result = await run_samples(p1, bid, "def echo(x):\n    print(x[::-1])\n    return 0\n")
        assert result["verdict"] == "WA"
        assert [t["detail"]["output"] for t in tests] == [x[::-1] + "\n" for x in SAMPLES]
        tests, _ = await run_samples(p1, bid, "def echo(x):\n    print('before')\n    raise KeyError(x)\n")
        assert tests[0]["detail"]["output"] == "before\n" and "KeyError" in tests[0]["detail"]["error"]
        tests, _ = await run_samples(p1, bid, "def echo(x):\n    return len(x)\n")
        assert [t["detail"]["output"] for t in tests] == ["", ""]
        # The opponent saw results without details, never the output.
        assert all("got SAMPLE" not in s and "before" not in s for s in p2.seen)
    finally:
        for p in made:
            await p.close()


async def test_printed_output_cannot_pose_as_a_result(leak_service):
    async with players_on(leak_service) as make:
        p1, _p2, m1, _ = await start_battle(make, "cy", "di", ranked=False)
        bid = m1["battle_id"]
        fake = [json.dumps({"i": i, "status": "ok", "error": None, "time_ms": 1, "value_bytes": 2}) + "\\n10"
                for i in range(2)]
        code = (IMPORT + "_os = _imp('o' + 's')\n"
                "def echo(x):\n"
                f"    print({fake[0]!r})\n    print({fake[1]!r})\n"
                f"    _os.write(1, {fake[0].encode()!r} + b'\\n')\n    _os.write(2, {fake[1].encode()!r} + b'\\n')\n"
                "    return -1\n")
        tests, result = await run_samples(p1, bid, code)
        # The real return value decides; the printed "results" are shown as the text they are.
        assert result["verdict"] == "WA" and [t["verdict"] for t in tests] == ["WA", "WA"]
        assert all(t["detail"]["got"] == "-1" for t in tests)
        assert tests[0]["detail"]["output"].startswith('{"i": 0, "status": "ok"')


async def test_hidden_tests_never_return_output_by_any_route(leak_service):
    """A submission printing its argument, and one that patches the harness so that every test reports its
    output: no hidden input reaches the author, the opponent or a spectator, by test_result, submission_result,
    battle_state on resume, or the review endpoint."""
    url = leak_service.url
    made: list[Recorder] = []
    try:
        make = make_recorder(url, made)
        p1, p2, m1, _ = await start_battle(make, "eve", "fay", ranked=False)
        bid = m1["battle_id"]
        teacher = Recorder(url)
        made.append(teacher)
        await teacher.client.connect(url, transports=["websocket"])
        await teacher.register({"token": IdentitySigner("test-secret").issue(Identity("teach", False,
                                                                                       instructor=True))})
        assert (await teacher.call("spectate", {"battle_id": bid}))["ok"]
        await teacher.expect("spectate_state")

        printing = "def echo(x):\n    print('LEAK', x)\n    return len(x) if x.startswith('SAMPLE') else -1\n"
        patched = (IMPORT + "_sys = _imp('s' + 'ys')\n"
                   "for _name in ('__main__', 'jupyter_duel_server.harness'):\n"
                   "    _m = _sys.modules.get(_name)\n"
                   "    if _m is not None and hasattr(_m, 'run_test'):\n"
                   "        def _all(codec, fn, i, a, sink, *rest, _run=_m.run_test):\n"
                   "            sink.keep = 4000\n"  # every test keeps its output, and the harness reports it
                   "            return _run(codec, fn, i, a, sink, *rest)\n"
                   "        _m.run_test = _all\n"
                   "def echo(x):\n    print('LEAK', x)\n    raise ValueError(x)\n")
        for code in (printing, patched):
            tests, _ = await run_samples(p1, bid, code)
            assert "LEAK SAMPLE-one" in (tests[0]["detail"]["output"] or ""), tests[0]  # samples show theirs
            result = await judged(p1, bid, code)
            assert result["verdict"] in ("WA", "RE") and result["passed"] == (2 if code is printing else 0)
        # A custom run on a hidden input the player guessed shows it, of course: it is the player's own.
        custom = await run_custom(p1, bid, printing, "'guess'")
        assert custom["verdict"] == "OK" and custom["output"] == "LEAK guess\n" and custom["value"] == "-1"

        # battle_state on resume, on a new connection.
        again = Recorder(url, "eve", p1.guest_key)
        made.append(again)
        await again.connect()
        assert (await again.call("resume", {"resume_token": m1["resume_token"]}))["ok"]
        state = await again.expect("battle_state")
        assert state["your_tests"]  # the latest run's tests, as the author saw them

        assert (await p2.call("forfeit", {"battle_id": bid}))["ok"]
        await p1.expect("battle_complete")
        status, review = get_json(f"{url}/api/battles/{bid}")
        assert status == 200
        assert_no_hidden_input(json.dumps(review), *p1.seen, *p2.seen, *teacher.seen, *again.seen)
        # The opponent and the spectator never saw any output at all, not even the samples'.
        assert not any("LEAK" in s for s in p2.seen + teacher.seen)
    finally:
        for p in made:
            await p.close()


async def test_custom_input_returns_value_output_and_errors(leak_service):
    made: list[Recorder] = []
    try:
        p1, p2, m1, _ = await start_battle(make_recorder(leak_service.url, made), "gil", "hal", ranked=False)
        bid = m1["battle_id"]
        code = "def echo(x):\n    print('len of', repr(x))\n    return {'n': len(x), 't': (x, None)}\n"
        result = await run_custom(p1, bid, code, " 'hello' ")
        assert result == {**result, "verdict": "OK", "call": "echo('hello')", "error": None,
                          "value": "{'n': 5, 't': ('hello', None)}", "output": "len of 'hello'\n"}
        assert result["time_ms"] >= 0
        # Any literal: a set, a tuple, a dict, nested containers.
        result = await run_custom(p1, bid, "def echo(x):\n    return sorted(x)\n", "{3, 1, 2}")
        assert result["value"] == "[1, 2, 3]"
        result = await run_custom(p1, bid, "def echo(x):\n    print('start')\n    return x[5]\n", "'abc'")
        assert result["verdict"] == "RE" and result["value"] is None and result["output"] == "start\n"
        assert "IndexError" in result["error"] and 'File "<solution>", line 3' in result["error"]
        result = await run_custom(p1, bid, "def echo(x):\n    while True:\n        pass\n", "''")
        assert result["verdict"] == "TLE" and result["error"]
        result = await run_custom(p1, bid, "def echo(x)\n    return 1\n", "''")
        assert result["verdict"] == "CE" and "SyntaxError" in result["error"]
        result = await run_custom(p1, bid, "def echo(x):\n    print('z' * 5000)\n    return 1\n", "''")
        assert result["verdict"] == "OK" and result["output"].endswith("z\n\u2026 output cut")
        # Nothing is stored: no submission counted, the battle runs on; the opponent heard nothing.
        assert (await p2.call("forfeit", {"battle_id": bid}))["ok"]
        await p1.expect("battle_complete")
        review = get_json(f"{leak_service.url}/api/battles/{bid}")[1]
        assert review["submissions"] == []
        assert not any(s.startswith("custom_result") or "len of" in s for s in p2.seen)
    finally:
        for p in made:
            await p.close()


async def test_custom_input_refusals_change_nothing(leak_service):
    async with players_on(leak_service) as make:
        p1, p2, m1, _ = await start_battle(make, "ike", "jo", ranked=False)
        bid = m1["battle_id"]
        good = "def echo(x):\n    return len(x)\n"

        async def refused(payload: dict, code: str) -> str:
            error = await p1.refused("run_custom", {"battle_id": bid, "code": good, "args": "'a'", **payload}, code)
            return error["message"]

        # Not literals: never evaluated, nothing runs.
        assert "literal" in await refused({"args": "__import__('os').system('true')"}, "invalid_args")
        assert "literal" in await refused({"args": "'a' * 3"}, "invalid_args")
        assert "not valid Python" in await refused({"args": "'a', "  + "(" * 300}, "invalid_args")
        await refused({"args": "'a') + ('b'"}, "invalid_args")  # no way out of the call's parentheses
        await refused({"args": "'a')(1"}, "invalid_args")
        assert "positional" in await refused({"args": "x='a'"}, "invalid_args")
        assert "positional" in await refused({"args": "*'ab'"}, "invalid_args")
        assert "takes 1 argument" in await refused({"args": "'a', 'b'"}, "invalid_args")
        assert "takes 1 argument" in await refused({"args": ""}, "invalid_args")
        await refused({"args": "1" * 5000}, "invalid_args")  # past int's digit limit
        await refused({"args": "b'bytes'"}, "invalid_args")  # no encoding for the sandbox
        await refused({"args": "'a" * 6000}, "invalid_payload")  # past the field's 10,000 characters
        await refused({"args": 5}, "invalid_payload")
        await refused({"args": ["a"]}, "invalid_payload")
        await refused({"extra": 1}, "invalid_payload")
        await refused({"code": "x" * (60 * 1024)}, "code_too_large")
        await refused({"battle_id": "nope"}, "unknown_battle")
        # A comment at the end cannot swallow the call's closing parenthesis.
        assert (await run_custom(p1, bid, good, "'abcd'  # four"))["value"] == "4"

        # Someone else's battle.
        q1, _q2, n1, _ = await start_battle(make, "kim", "lu", ranked=False)
        await q1.refused("run_custom", {"battle_id": bid, "code": good, "args": "'a'"}, "not_in_battle")

        # The shared guard: one run at a time (a slow run holds it), and run_samples waits for it too.
        ack = await p1.call("run_custom", {"battle_id": bid, "code": "def echo(x):\n    while 1: pass\n",
                                           "args": "'a'"})
        assert ack["ok"]
        await p1.refused("run_custom", {"battle_id": bid, "code": good, "args": "'a'"}, "judge_busy")
        await p1.refused("run_samples", {"battle_id": bid, "code": good}, "judge_busy")
        assert (await p1.expect("custom_result", timeout=60))["verdict"] == "TLE"

        # A finished battle.
        assert (await p2.call("forfeit", {"battle_id": bid}))["ok"]
        await p1.expect("battle_complete")
        await p1.refused("run_custom", {"battle_id": bid, "code": good, "args": "'a'"}, "battle_over")
        assert p1.pending("custom_result") == 0
    assert n1["battle_id"] != bid


async def test_custom_input_waits_for_the_countdown(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=600",
                         "--DuelService.run_samples_cooldown_s=600").start()
    try:
        async with players_on(svc) as make:
            p1, _p2, m1, _ = await start_battle(make, "mo", "ned", ranked=False)
            bid = m1["battle_id"]
            await p1.refused("run_custom", {"battle_id": bid, "code": "def f(x):\n    return 1\n", "args": "1"},
                             "not_started")
    finally:
        svc.stop()


async def test_custom_input_shares_the_run_samples_cooldown(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                         "--DuelService.run_samples_cooldown_s=600").start()
    try:
        async with players_on(svc) as make:
            p1, _p2, m1, _ = await start_battle(make, "ola", "pia", ranked=False)
            bid, fn = m1["battle_id"], m1["challenge"]["function"]
            call = m1["challenge"]["samples"][0]["call"]
            args = call[len(fn) + 1:-1]  # the first sample's call, as the panel prefills it
            code = f"def {fn}(*args):\n    print(len(args))\n    return None\n"
            result = await run_custom(p1, bid, code, args)
            assert result["verdict"] == "OK" and result["call"] == call and result["value"] == "None"
            error = await p1.refused("run_custom", {"battle_id": bid, "code": code, "args": args}, "cooldown")
            assert error["retry_after_s"] > 500
            await p1.refused("run_samples", {"battle_id": bid, "code": code}, "cooldown")
            # submit_code has its own cooldown: still accepted.
            assert (await p1.call("submit_code", {"battle_id": bid, "code": code}))["ok"]
    finally:
        svc.stop()


PATCHED_HARNESS = (
    "_sys = getattr(print.__self__, '__imp' + 'ort__')('s' + 'ys')\n"
    "for _name in ('__main__', 'jupyter_duel_server.harness'):\n"
    "    _m = _sys.modules.get(_name)\n"
    "    if _m is not None and hasattr(_m, 'run_test'):\n"
    "        def _all(codec, fn, i, a, sink, *rest, _run=_m.run_test):\n"
    "            sink.keep = 4000\n"
    "            return _run(codec, fn, i, a, sink, *rest)\n"
    "        _m.run_test = _all\n"
    "def f(x):\n    print('LEAK', x)\n    return 0\n"
)


async def test_a_patched_harness_reports_hidden_output_and_the_judge_drops_it():
    """The attack works inside the sandboxed process (the runner does get output it never asked for); the
    trusted side is what stops it."""
    from jupyter_duel_server.challenges import Challenge, Comparator, Limits, TestCase
    from jupyter_duel_server.codec import encode
    from jupyter_duel_server.judge import Judge, SubprocessRunner

    runner = SubprocessRunner()
    raws = [r async for r in runner.run(PATCHED_HARNESS, "f", [[encode("s")], [encode(HIDDEN[0])]], 2.0,
                                        output_chars=[100, 0])]
    assert raws[1].output == f"LEAK {HIDDEN[0]}\n"  # reported although not asked for
    challenge = Challenge(
        id="c", title="T", difficulty="easy", tags=[], statement="s", function="f", signature="def f(x):",
        starter_code="", samples=[TestCase(("s",), 0)], hidden=[TestCase((x,), 0) for x in HIDDEN],
        comparator=Comparator("exact"), limits=Limits(2.0), reference="", path=Path("."))
    judge = Judge(runner=runner, enforce_import_policy=False)
    try:
        report = await judge.judge(challenge, PATCHED_HARNESS, output_chars=100)
    finally:
        await judge.close()
    assert report.verdict == "AC" and report.outcomes[0].output == "LEAK s\n"
    assert all(o.output is None for o in report.outcomes[1:])
    assert_no_hidden_input(repr(report))


async def test_tests_after_one_that_ended_the_run_are_flagged_skipped(leak_service):
    made: list[Recorder] = []
    try:
        p1, p2, m1, _ = await start_battle(make_recorder(leak_service.url, made), "ada", "bo", ranked=False)
        bid = m1["battle_id"]
        # The first call never returns: it is TLE, and the second sample never runs.
        tests, result = await run_samples(p1, bid, "def echo(x):\n    while True:\n        pass\n")
        assert result["verdict"] == "TLE"
        assert [(t["verdict"], t["skipped"]) for t in tests] == [("TLE", False), ("TLE", True)]
        assert tests[1]["time_ms"] == 0
        # A test that ran and failed is not skipped, nor one after it.
        tests, _ = await run_samples(p1, bid, "def echo(x):\n    raise ValueError(x)\n")
        assert [t["skipped"] for t in tests] == [False, False]
    finally:
        for p in made:
            await p.close()
