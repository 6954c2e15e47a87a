"""The judge against real child processes: verdicts, streaming, limits, and submissions that try to cheat."""

import asyncio
import time

import pytest

from jupyter_duel_server.challenges import TestCase
from jupyter_duel_server.codec import encode
from jupyter_duel_server.judge import Judge, JudgeReport, RawResult, Runner, SubprocessRunner, TestOutcome

GOOD = "def add(a, b):\n    return a + b\n"


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] in "ZX"  # a zombie nobody reaps is gone for our purposes
    except (FileNotFoundError, ProcessLookupError):
        return True


async def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        await asyncio.sleep(0.05)
    return False


# ---------------------------------------------------------------- basics


async def test_accepted_with_streamed_outcomes(judge, challenge):
    seen: list[TestOutcome] = []

    async def on_test(outcome):
        seen.append(outcome)

    report = await judge.judge(challenge, GOOD, on_test=on_test)
    assert isinstance(report, JudgeReport)
    assert (report.verdict, report.passed, report.total, report.message) == ("AC", 4, 4, None)
    assert seen == report.outcomes
    assert [o.index for o in seen] == [0, 1, 2, 3]
    assert [o.kind for o in seen] == ["sample", "sample", "hidden", "hidden"]
    assert all(o.total == 4 and o.passed and o.verdict == "AC" and o.error is None for o in seen)
    assert seen[0].call == "add(1, 2)" and seen[0].expected == "3" and seen[0].got == "3"
    assert all(0 <= o.time_ms < 1000 for o in seen)


async def test_samples_only(judge, challenge):
    report = await judge.judge(challenge, GOOD, samples_only=True)
    assert (report.verdict, report.passed, report.total) == ("AC", 2, 2)
    assert {o.kind for o in report.outcomes} == {"sample"}


async def test_wrong_answer_keeps_running_the_other_tests(judge, challenge):
    code = "def add(a, b):\n    return a + b if a != 10 else -1\n"
    report = await judge.judge(challenge, code)
    assert (report.verdict, report.passed, report.total) == ("WA", 3, 4)
    wa = report.outcomes[2]
    # A hidden test shows neither what was expected nor what came back...
    assert (wa.verdict, wa.passed, wa.got, wa.expected, wa.kind) == ("WA", False, None, "", "hidden")
    # ...except to the people who hold the challenge files (the validator, the judge command line).
    report = await judge.judge(challenge, code, hidden_details=True)
    wa = report.outcomes[2]
    assert (wa.verdict, wa.passed, wa.got, wa.expected, wa.kind) == ("WA", False, "-1", "30", "hidden")
    assert report.outcomes[3].verdict == "AC"
    assert "hidden test 3" in report.message and "30" not in report.message


async def test_runtime_error_traceback_shows_the_students_line(judge, challenge):
    code = "def helper(x):\n    return x // 0\n\ndef add(a, b):\n    return helper(a) + b\n"
    report = await judge.judge(challenge, code)
    assert report.verdict == "RE" and report.passed == 0
    message = report.message
    assert 'File "<solution>", line 2, in helper' in message
    assert "return x // 0" in message
    assert 'File "<solution>", line 5, in add' in message
    assert message.rstrip().endswith("ZeroDivisionError: integer division or modulo by zero")
    assert "harness" not in message and "judge.py" not in message
    assert all(o.verdict == "RE" and (o.error if o.kind == "sample" else o.error is None) for o in report.outcomes)


async def test_wrong_number_of_arguments_is_a_clear_runtime_error(judge, challenge):
    report = await judge.judge(challenge, "def add(a):\n    return a\n")
    assert report.verdict == "RE"
    assert "add() takes 1 positional argument but 2 were given" in report.message
    assert "harness" not in report.message


async def test_missing_function(judge, challenge):
    report = await judge.judge(challenge, "def plus(a, b):\n    return a + b\n")
    assert report.verdict == "RE" and report.passed == 0 and report.total == 4
    assert "does not define a function named 'add'" in report.message
    assert all(o.verdict == "RE" for o in report.outcomes)


async def test_error_at_module_level(judge, challenge):
    report = await judge.judge(challenge, "import numpyy\n" + GOOD)
    assert report.verdict == "RE"
    assert "ModuleNotFoundError" in report.message and 'File "<solution>", line 1' in report.message


# ---------------------------------------------------------------- compile errors


class CountingRunner(SubprocessRunner):
    starts = 0

    async def run(self, *args, **kwargs):
        CountingRunner.starts += 1
        async for result in super().run(*args, **kwargs):
            yield result


async def test_compile_error_starts_no_process(challenge):
    runner = CountingRunner()
    judge = Judge(runner=runner)
    seen = []

    async def on_test(outcome):
        seen.append(outcome)

    report = await judge.judge(challenge, "def add(a, b)\n    return a + b\n", on_test=on_test)
    assert (report.verdict, report.passed, report.total) == ("CE", 0, 4)
    assert "SyntaxError" in report.message and "line 1" in report.message
    assert [o.verdict for o in report.outcomes] == ["CE"] * 4 and seen == report.outcomes
    assert CountingRunner.starts == 0
    report = await judge.judge(challenge, GOOD)
    assert report.verdict == "AC" and CountingRunner.starts == 1


@pytest.mark.parametrize("code", ["x = (", "def add(a, b):\n\treturn 1\n        return 2\n", "a\0b", "from __future__ import braces\n"])
async def test_other_compile_errors(judge, challenge, code):
    report = await judge.judge(challenge, code)
    assert report.verdict == "CE" and report.message


async def test_judge_module_future_flags_do_not_leak(judge, make_challenge):
    # judge.py uses `from __future__ import annotations`; the submission must be compiled without it.
    code = "def f(a, b) -> undefined_name:\n    return 1\n"
    report = await judge.judge(make_challenge("f", samples=[TestCase((1, 2), 1)], hidden=[]), code)
    assert report.verdict == "RE" and "NameError" in report.message


# ---------------------------------------------------------------- time


async def test_infinite_loop_is_tle_and_skips_the_rest(judge, make_challenge):
    challenge = make_challenge(time_s=0.3)
    started = time.monotonic()
    report = await judge.judge(challenge, "def add(a, b):\n    while True:\n        pass\n")
    assert time.monotonic() - started < 3
    assert (report.verdict, report.passed) == ("TLE", 0)
    assert [o.verdict for o in report.outcomes] == ["TLE"] * 4
    assert report.outcomes[0].time_ms == pytest.approx(300)
    assert "sample test 1" in report.message


async def test_tle_on_a_later_test_keeps_the_earlier_passes(judge, make_challenge):
    challenge = make_challenge(time_s=0.3)
    code = "import time\ndef add(a, b):\n    if a == 10:\n        time.sleep(60)\n    return a + b\n"
    report = await judge.judge(challenge, code)
    assert [o.verdict for o in report.outcomes] == ["AC", "AC", "TLE", "TLE"]
    assert (report.verdict, report.passed) == ("TLE", 2)


async def test_a_slow_consumer_neither_helps_nor_hurts(judge, make_challenge):
    async def slow(outcome):
        await asyncio.sleep(0.4)

    challenge = make_challenge(time_s=0.3)
    code = "import time\ndef add(a, b):\n    time.sleep(0.5 if a == 10 else 0.1)\n    return a + b\n"
    report = await judge.judge(challenge, code, on_test=slow)
    assert [o.verdict for o in report.outcomes] == ["AC", "AC", "TLE", "TLE"]


async def test_infinite_loop_at_module_level(make_challenge):
    judge = Judge()
    judge.runner.startup_timeout_s = 0.5
    started = time.monotonic()
    report = await judge.judge(make_challenge(time_s=0.3), "while True:\n    pass\n" + GOOD)
    assert report.verdict == "TLE" and time.monotonic() - started < 3


async def test_service_cap_clamps_the_challenge_limit(make_challenge):
    judge = Judge(max_time_s=0.3)
    started = time.monotonic()
    report = await judge.judge(make_challenge(time_s=100), "import time\ndef add(a, b):\n    time.sleep(60)\n")
    assert report.verdict == "TLE" and time.monotonic() - started < 3


async def test_cancelling_the_judge_kills_the_process(tmp_path, make_challenge):
    judge = Judge(enforce_import_policy=False)
    pid_file = tmp_path / "pid"
    code = f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ndef add(a, b):\n    while True: pass\n"
    task = asyncio.create_task(judge.judge(make_challenge(time_s=30), code))
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(pid)


async def test_child_processes_of_the_submission_are_killed(judge, tmp_path, challenge):
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n" + GOOD
    )
    report = await judge.judge(challenge, code)
    assert report.verdict == "AC"
    assert await wait_gone(int(pid_file.read_text()))


# ---------------------------------------------------------------- output


async def test_printing_is_allowed_and_never_reaches_the_result_channel(judge, challenge):
    code = "import sys\ndef add(a, b):\n    print('debug', a, b)\n    print('oops', file=sys.stderr)\n    return a + b\n"
    report = await judge.judge(challenge, code)
    assert report.verdict == "AC"


async def test_output_flood_is_capped_quickly(judge, make_challenge):
    started = time.monotonic()
    report = await judge.judge(make_challenge(time_s=5), "def add(a, b):\n    while True:\n        print('x' * 1000)\n")
    assert time.monotonic() - started < 4
    assert report.verdict == "OLE" and report.passed == 0
    assert all(o.verdict == "OLE" for o in report.outcomes)


async def test_output_flood_survives_catching_the_exception(judge, make_challenge):
    code = "def add(a, b):\n    for _ in range(10000):\n        try:\n            print('x' * 1000)\n        except BaseException:\n            pass\n    return a + b\n"
    report = await judge.judge(make_challenge(time_s=5), code)
    assert report.verdict == "OLE"


async def test_flood_on_raw_file_descriptors_does_not_hang(judge, make_challenge):
    code = "import os\ndef add(a, b):\n    for _ in range(2000):\n        os.write(1, b'y' * 4096)\n        os.write(2, b'z' * 4096)\n    return a + b\n"
    report = await judge.judge(make_challenge(time_s=5), code)
    assert report.verdict == "AC"


async def test_huge_return_value_is_a_runtime_error(make_challenge):
    judge = Judge()
    judge.runner.result_limit_bytes = 10_000
    report = await judge.judge(make_challenge(), "def add(a, b):\n    return [a + b] * 100_000\n")
    assert report.verdict == "RE" and "larger than 10000 bytes" in report.message


async def test_memory_hog_is_mle(make_challenge):
    judge = Judge()
    judge.runner.memory_limit_mb = 256
    code = "def add(a, b):\n    block = bytearray(400 * 1024 * 1024)\n    return a + b\n"
    report = await judge.judge(make_challenge(), code)
    assert report.verdict == "MLE" and "256 MiB" in report.message
    assert all(o.verdict == "MLE" for o in report.outcomes)
    report = await judge.judge(make_challenge(), "blob = bytearray(400 * 1024 * 1024)\n" + GOOD)
    assert report.verdict == "MLE"


# ---------------------------------------------------------------- cheating and crashes


async def test_the_services_environment_is_not_passed_on(judge, make_challenge, monkeypatch):
    monkeypatch.setenv("JUPYTER_DUEL_SECRET", "s3cret-value")
    challenge = make_challenge("f", samples=[TestCase((1, 2), None)], hidden=[])
    report = await judge.judge(challenge, "import os\ndef f(a, b):\n    return os.environ.get('JUPYTER_DUEL_SECRET')\n")
    assert report.verdict == "AC"


FAKE = '{"i": %d, "status": "ok", "value": 3, "error": null, "time_ms": 1.0}'


@pytest.mark.parametrize(
    "emit",
    [
        "print(FAKE)",
        "sys.stdout.write(FAKE + '\\n'); sys.stdout.flush()",
        "sys.__stdout__.write(FAKE + '\\n')",
        "os.write(1, (FAKE + '\\n').encode())",
        "print('{\"ready\": true}'); print(FAKE)",
    ],
)
async def test_fake_result_lines_on_stdout_cannot_fake_a_pass(judge, make_challenge, emit):
    challenge = make_challenge(samples=[TestCase((1, 2), 3)], hidden=[])
    code = f"import os, sys\nFAKE = {FAKE % 0!r}\n{emit}\ndef add(a, b):\n    {emit}\n    return -1\n"
    report = await judge.judge(challenge, code)
    assert report.verdict == "WA" and report.passed == 0


FIND_RESULT_FD = """
import os, stat
def result_fd():
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass
"""


@pytest.mark.parametrize(
    "payload",
    [
        "b'this is not json\\n'",
        "b'[1, 2]\\n'",
        "b'{\"i\": 5, \"status\": \"ok\", \"value\": 3}\\n'",
        "b'{\"i\": 0, \"status\": \"ok\", \"value\": {\"$float\": \"huge\"}, \"error\": null, \"time_ms\": 1}\\n'",
        "b'{\"i\": 0, \"status\": \"weird\"}\\n'",
        "b'x' * 3_000_000",
    ],
)
async def test_garbage_on_the_result_channel_is_a_failure_never_an_exception(judge, challenge, payload):
    code = FIND_RESULT_FD + f"def add(a, b):\n    os.write(result_fd(), {payload})\n    os._exit(0)\n"
    report = await judge.judge(challenge, code)
    assert report.verdict == "RE" and report.passed == 0
    assert all(not o.passed for o in report.outcomes)


@pytest.mark.parametrize(
    "body",
    ["raise SystemExit(0)", "import sys; sys.exit(0)", "raise KeyboardInterrupt", "import os; os._exit(0)",
     "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
)
async def test_exiting_is_never_accepted(judge, challenge, body):
    report = await judge.judge(challenge, f"def add(a, b):\n    {body}\n")
    assert report.verdict == "RE" and report.passed == 0
    assert all(o.verdict == "RE" for o in report.outcomes)


async def test_exit_at_module_level(judge, challenge):
    for code in ("raise SystemExit\n" + GOOD, "import os\nos._exit(0)\n" + GOOD):
        report = await judge.judge(challenge, code)
        assert report.verdict == "RE" and report.passed == 0


async def test_input_does_not_block(judge, challenge):
    report = await judge.judge(challenge, "def add(a, b):\n    return int(input()) + a + b\n")
    assert report.verdict == "RE" and "EOFError" in report.message


async def test_unencodable_return_value(judge, challenge):
    report = await judge.judge(challenge, "def add(a, b):\n    return object()\n")
    assert report.verdict == "RE" and "cannot be judged" in report.message and "object" in report.message


async def test_main_guard_does_not_run(judge, challenge):
    report = await judge.judge(challenge, GOOD + "if __name__ == '__main__':\n    input()\n")
    assert report.verdict == "AC"


# ---------------------------------------------------------------- comparison and values


async def test_bool_is_not_int(judge, make_challenge):
    challenge = make_challenge("f", samples=[TestCase((1, 0), 1), TestCase((1, 1), True)], hidden=[])
    report = await judge.judge(challenge, "def f(a, b):\n    return True if b == 0 else 1\n")
    assert [o.verdict for o in report.outcomes] == ["WA", "WA"]
    assert report.outcomes[0].got == "True" and report.outcomes[0].expected == "1"


async def test_list_is_not_tuple(judge, make_challenge):
    challenge = make_challenge("f", samples=[TestCase((1, 2), (1, 2)), TestCase((1, 2), [(1, 2)])], hidden=[])
    report = await judge.judge(challenge, "def f(a, b):\n    return [a, b]\n")
    assert report.outcomes[0].verdict == "WA" and report.outcomes[0].got == "[1, 2]"
    report = await judge.judge(challenge, "def f(a, b):\n    return [[a, b]]\n")
    assert report.outcomes[1].verdict == "WA" and report.outcomes[1].got == "[[1, 2]]"
    report = await judge.judge(challenge, "calls = []\ndef f(a, b):\n    calls.append(1)\n    return (a, b) if len(calls) == 1 else [(a, b)]\n")
    assert [o.verdict for o in report.outcomes] == ["AC", "AC"]


async def test_inputs_arrive_with_their_types(judge, make_challenge):
    args = ((1, 2), {(1, 2): frozenset({3})}, {1, 2}, True, float("inf"), None)
    names = ["tuple", "dict", "set", "bool", "float", "NoneType"]
    challenge = make_challenge("f", samples=[TestCase(args, names)], hidden=[])
    code = "def f(*args):\n    return [type(a).__name__ for a in args]\n"
    report = await judge.judge(challenge, code)
    assert report.verdict == "AC"


async def test_float_comparator_through_the_judge(judge, make_challenge):
    challenge = make_challenge("f", samples=[TestCase((1, 3), 0.3333333)], hidden=[], comparator={"kind": "float", "tolerance": 1e-6})
    assert (await judge.judge(challenge, "def f(a, b):\n    return a / b\n")).verdict == "AC"
    assert (await judge.judge(challenge, "def f(a, b):\n    return 0.33\n")).verdict == "WA"


async def test_mutating_arguments_does_not_leak_between_tests(judge, make_challenge):
    challenge = make_challenge("f", samples=[TestCase(([1],), 1), TestCase(([1],), 1)], hidden=[])
    report = await judge.judge(challenge, "def f(xs, *rest):\n    xs.append(9)\n    return len(xs) - 1\n")
    assert report.verdict == "AC"


async def test_concurrent_submissions(judge, challenge):
    reports = await asyncio.gather(*(judge.judge(challenge, GOOD) for _ in range(4)),
                                   judge.judge(challenge, "def add(a, b):\n    return 0\n"))
    assert [r.verdict for r in reports] == ["AC"] * 4 + ["WA"]


# ---------------------------------------------------------------- the Runner boundary


async def test_subprocess_runner_speaks_encoded_values():
    runner = SubprocessRunner()
    code = "def f(x):\n    return (x, {x})\n"
    results = [r async for r in runner.run(code, "f", [[encode((1, 2))], [3]], 1.0)]
    assert [r.index for r in results] == [0, 1] and all(isinstance(r, RawResult) for r in results)
    assert results[0].status == "ok"
    assert results[0].value == encode(((1, 2), {(1, 2)}))
    assert results[1].value == {"$tuple": [3, {"$set": [3]}]}


async def test_expected_results_never_reach_the_child(judge, make_challenge, tmp_path):
    secret = "expected-value-7f3a9c"
    dump = tmp_path / "dump"
    challenge = make_challenge("f", samples=[TestCase(("x", "y"), secret)], hidden=[])
    code = (
        "import gc, sys\n"
        "def f(a, b):\n"
        f"    text = repr(sys.argv) + repr([o for o in gc.get_objects() if isinstance(o, (dict, list, str))][:200000])\n"
        f"    open({str(dump)!r}, 'w').write(text + sys.stdin.read())\n"
        "    return a\n"
    )
    report = await judge.judge(challenge, code)
    assert report.verdict == "WA"
    assert secret not in dump.read_text()


class FixedRunner(Runner):
    """A stand-in sandbox: proves the judge needs nothing but the Runner interface."""

    def __init__(self, results):
        self.results = results
        self.calls = []

    async def run(self, code, function, inputs, time_limit_s):
        self.calls.append((code, function, inputs, time_limit_s))
        for r in self.results:
            yield r


async def test_judge_works_with_any_runner(challenge):
    runner = FixedRunner([
        RawResult(0, "ok", "3", None, 1.0),
        RawResult(1, "ok", '{"$float": "bogus"}', None, 1.0),
        RawResult(2, "output_limit", None, "too much", 1.0),
    ])
    report = await Judge(runner=runner).judge(challenge, GOOD)
    assert [o.verdict for o in report.outcomes] == ["AC", "RE", "OLE", "RE"]
    assert report.outcomes[3].error is None  # hidden: verdict only
    report = await Judge(runner=FixedRunner(runner.results)).judge(challenge, GOOD, hidden_details=True)
    assert report.outcomes[3].error == "no result was reported for this test"
    code, function, inputs, limit = runner.calls[0]
    assert function == "add" and inputs == [[1, 2], [-1, 1], [10, 20], [2**70, 1]]
    assert limit == 1.0
