"""``jupyter duel judge CHALLENGE SOLUTION.py``: judge one solution the way a battle would, from the shell.

CHALLENGE is a challenge id (looked up where the service looks: the Jupyter data paths and
``DuelService.challenge_dirs``) or a challenge directory. Each test's result is printed as it finishes, then the
verdict; ``--json`` prints one JSON object per line instead. The judge is the service's: locked-down kernels
(``KernelSandboxRunner``) unless ``--unsandboxed``. Exit status: 0 for AC, 1 for any other verdict, 2 when the
solution could not be judged (unknown challenge, unreadable file, no sandbox on this host).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from jupyter_core.application import JupyterApp
from traitlets import Bool, List, Unicode

from . import __version__
from .challenges import Challenge, ChallengeError, ChallengeLibrary, load_challenge
from .judge import Judge, JudgeReport, SubprocessRunner, TestOutcome
from .sandbox.config import SandboxConfig
from .sandbox.runner import KernelSandboxRunner


class JudgeApp(JupyterApp):
    name = "jupyter-duel-judge"
    version = __version__
    description = __doc__.split("\n\n")[0]
    examples = "jupyter duel judge add-two my_add.py\njupyter duel judge challenges/nth-smooth slow.py --json"
    config_file_name = "jupyter_duel_config"
    classes = [Judge, KernelSandboxRunner, SandboxConfig, SubprocessRunner]

    json_output = Bool(False, help="One JSON object per line instead of text.").tag(config=True)
    samples_only = Bool(False, help="Run the visible sample tests only.").tag(config=True)
    sandboxed = Bool(True, help="Judge in locked-down kernels (False: a plain subprocess, no isolation).").tag(
        config=True
    )
    challenge_dirs = List(Unicode(), help="Extra challenge directories to look ids up in.").tag(config=True)

    aliases = {
        "config": "JupyterApp.config_file",
        "log-level": "Application.log_level",
        "challenge-dir": "JudgeApp.challenge_dirs",
    }
    flags = {
        "json": ({"JudgeApp": {"json_output": True}}, "One JSON object per line."),
        "samples-only": ({"JudgeApp": {"samples_only": True}}, "Run the sample tests only."),
        "unsandboxed": (
            {"JudgeApp": {"sandboxed": False}},
            "UNSAFE: judge in a plain subprocess without the sandbox (only for your own code).",
        ),
    }

    def start(self):
        if len(self.extra_args) != 2:
            self._fail("give a challenge (id or directory) and a solution file")
        target, solution = self.extra_args
        try:
            challenge = self._challenge(target)
            code = Path(solution).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ChallengeError, KeyError) as exc:
            self._fail(str(exc).strip("'\""))
        try:
            report = asyncio.run(self._judge(challenge, code))
        except Exception as exc:  # the runner could not run at all (e.g. no sandbox here): say what and why
            self._fail(f"the solution could not be judged: {exc}")
        self.exit(0 if report.verdict == "AC" else 1)

    def _challenge(self, target: str) -> Challenge:
        path = Path(target)
        if path.is_dir():
            return load_challenge(path)
        dirs = ChallengeLibrary.default_dirs() + [Path(d) for d in self.challenge_dirs]
        library = ChallengeLibrary(dirs, strict=False)
        try:
            return library.get(target)
        except KeyError:
            raise KeyError(f"no challenge {target!r} (not a directory, not an id in {', '.join(map(str, dirs))})")

    async def _judge(self, challenge: Challenge, code: str) -> JudgeReport:
        # One submission: no pool of spare sandboxes to start and tear down.
        if self.sandboxed:
            runner = KernelSandboxRunner(parent=self, pool_size=0)
            # A challenge given by its directory: hidden from the sandbox wherever it lies (even inside a bound
            # directory such as site-packages), like every directory the library knows.
            runner.sandbox.hidden_paths = [*runner.sandbox.hidden_paths, str(challenge.path.resolve())]
        else:
            runner = SubprocessRunner(parent=self)
        judge = Judge(parent=self, runner=runner)
        try:
            report = await judge.judge(challenge, code, samples_only=self.samples_only, on_test=self._print_test,
                                       hidden_details=True)
        finally:
            await judge.close()
        self._print_report(challenge, report)
        return report

    async def _print_test(self, o: TestOutcome) -> None:
        if self.json_output:
            line = {"event": "test", "index": o.index, "total": o.total, "kind": o.kind, "verdict": o.verdict,
                    "passed": o.passed, "time_ms": round(o.time_ms, 3), "call": o.call, "expected": o.expected,
                    "got": o.got, "error": o.error}
            print(json.dumps(line), flush=True)
            return
        mark = "ok " if o.passed else "FAIL"
        print(f"  {mark} {o.kind:6} {o.index + 1:>3}/{o.total:<3} {o.verdict:4} {o.time_ms:8.1f} ms  {o.call}", flush=True)
        if not o.passed and o.kind == "sample":
            print(f"        expected {o.expected}, got {o.got}" + (f"\n        {o.error}" if o.error else ""))

    def _print_report(self, challenge: Challenge, report: JudgeReport) -> None:
        if self.json_output:
            print(json.dumps({"event": "verdict", "challenge": challenge.id, "verdict": report.verdict,
                              "passed": report.passed, "total": report.total, "message": report.message}))
        else:
            print(f"{challenge.id}: {report.verdict} {report.passed}/{report.total}")
            if report.message:
                print(report.message)

    def _fail(self, message: str) -> None:
        if self.json_output:
            print(json.dumps({"event": "error", "message": message}))
        else:
            print(f"jupyter duel judge: {message}", file=sys.stderr)
        self.exit(2)


main = JudgeApp.launch_instance

if __name__ == "__main__":
    main()
