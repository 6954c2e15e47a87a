"""``jupyter duel challenges validate|list``: check challenge directories, list what the service would serve.

Why here and not in ``jupyter_duel.cli``: the checks belong with the service that judges (the same ``Judge``
and runner configuration, the same library loading). ``jupyter_duel.cli.DuelApp`` registers
:class:`ChallengesApp` as its ``challenges`` subcommand; ``python -m jupyter_duel_server.challenges_app`` runs it
directly.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from jupyter_core.application import JupyterApp
from traitlets import Bool, Int

from . import __version__
from .challenges import ChallengeLibrary
from .judge import Judge, SubprocessRunner
from .sandbox.config import SandboxConfig
from .sandbox.runner import KernelSandboxRunner
from .validate import format_results, validate_paths

CONFIG_FILE = "jupyter_duel_config"


class _ChallengesBase(JupyterApp):
    """Loads ``jupyter_duel_config`` like ``jupyter duel serve``, and ``jupyter_server_config`` (the embedded
    service's configuration) too, so that ``DuelService`` and ``Judge`` settings made for either apply."""

    version = __version__
    config_file_name = CONFIG_FILE
    json_output = Bool(False, help="One JSON object per line instead of text.").tag(config=True)

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]
        if not self.config_file:
            try:
                super(JupyterApp, self).load_config_file("jupyter_server_config", path=self.config_file_paths)
            except Exception:  # noqa: BLE001 - a missing or broken server config is not ours to report
                self.log.debug("jupyter_server_config not loaded", exc_info=True)
        super().load_config_file(suppress_errors)


class ChallengesValidateApp(_ChallengesBase):
    name = "jupyter-duel-challenges-validate"
    description = (
        "Validate challenge directories: the schema, the reference solution through the real judge against every "
        "test, at least 3 sample and 10 hidden tests, and for hard challenges a brute_force.py that exceeds the "
        "time limit. PATH is a challenge directory or a pack directory holding challenge directories. Exits with "
        "status 1 when any challenge has a problem."
    )
    examples = "jupyter duel challenges validate my-pack/\njupyter duel challenges validate --json my-pack/a my-pack/b"
    classes = [Judge, KernelSandboxRunner, SandboxConfig, SubprocessRunner]

    jobs = Int(0, help="Challenges validated at the same time (0: one per CPU).").tag(config=True)
    sandboxed = Bool(True, help="Judge in locked-down kernels, as the service does (False: a plain subprocess).").tag(
        config=True
    )

    aliases = {
        "jobs": "ChallengesValidateApp.jobs",
        "config": "JupyterApp.config_file",
        "log-level": "Application.log_level",
    }
    flags = {
        "json": ({"ChallengesValidateApp": {"json_output": True}}, "One JSON object per challenge and line."),
        "unsandboxed": (
            {"ChallengesValidateApp": {"sandboxed": False}},
            "Judge in a plain subprocess (no isolation: only for packs you wrote yourself).",
        ),
    }

    def start(self):
        if not self.extra_args:
            print("jupyter duel challenges validate: give at least one challenge or pack directory", file=sys.stderr)
            self.exit(2)
        ok = asyncio.run(self._run())
        self.exit(0 if ok else 1)

    async def _run(self) -> bool:
        # The service's judge: the same runner (locked-down kernels) and the same configuration.
        runner = KernelSandboxRunner(parent=self) if self.sandboxed else SubprocessRunner(parent=self)
        judge = Judge(parent=self, runner=runner)
        try:
            results = await validate_paths(self.extra_args, judge, self.jobs or None)
        finally:
            await judge.close()
        print(format_results(results, self.json_output), flush=True)
        if not self.json_output:
            failed = sum(not r.ok for r in results)
            print(f"{len(results) - failed} OK, {failed} FAIL", file=sys.stderr)
        return all(r.ok for r in results)


class ChallengesListApp(_ChallengesBase):
    name = "jupyter-duel-challenges-list"
    description = (
        "List the challenges the service would serve: those of the Jupyter data paths' duel/challenges, "
        "DuelService.challenge_dirs and any directory given, restricted to DuelService.packs when set. Broken "
        "challenges are left out (as the service does) and reported on stderr; the exit status is then 1."
    )
    examples = "jupyter duel challenges list\njupyter duel challenges list --json /srv/course/challenges"

    all_packs = Bool(False, help="Ignore DuelService.packs: list the challenges of every pack.").tag(config=True)

    aliases = {"config": "JupyterApp.config_file", "log-level": "Application.log_level"}
    flags = {
        "json": ({"ChallengesListApp": {"json_output": True}}, "One JSON object per challenge and line."),
        "all": ({"ChallengesListApp": {"all_packs": True}}, "Ignore DuelService.packs."),
    }

    def _service_setting(self, name: str) -> list[str]:
        service_config = self.config.get("DuelService", {})
        value = service_config.get(name, []) if hasattr(service_config, "get") else []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else []

    def start(self):
        dirs = ChallengeLibrary.default_dirs()
        dirs += [Path(d) for d in self._service_setting("challenge_dirs")]
        dirs += [Path(d) for d in self.extra_args]
        library = ChallengeLibrary(dirs, strict=False)
        packs = set() if self.all_packs else set(self._service_setting("packs"))
        for error in library.errors:
            print("skipped: " + str(error).replace("\n", "\n  "), file=sys.stderr)
        rows = []
        for c in library.all():
            if packs and c.pack not in packs:
                continue
            rows.append({
                "id": c.id,
                "title": c.title,
                "difficulty": c.difficulty,
                "tags": list(c.tags),
                "samples": len(c.samples),
                "hidden": len(c.hidden),
                "pack": c.pack,
                "pack_path": str(c.path.parent),
            })
        if self.json_output:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False))
        else:
            width = max([len(r["id"]) for r in rows] + [2])
            for r in rows:
                tags = ", ".join(r["tags"])
                print(
                    f"{r['id']:<{width}}  {r['difficulty']:<6}  {r['samples']:>2} samples  {r['hidden']:>3} hidden  "
                    f"{r['pack']} ({r['pack_path']})  {r['title']}" + (f"  [{tags}]" if tags else "")
                )
            print(f"{len(rows)} challenge(s)" + (f" in packs {', '.join(sorted(packs))}" if packs else ""),
                  file=sys.stderr)
        self.exit(1 if library.errors else 0)


class ChallengesApp(JupyterApp):
    name = "jupyter-duel-challenges"
    version = __version__
    description = "Challenge tools: validate challenge directories, list the challenges the service would serve."
    subcommands = {
        "validate": (ChallengesValidateApp, ChallengesValidateApp.description.split(":")[0] + "."),
        "list": (ChallengesListApp, "List the challenges the service would serve."),
    }

    def start(self):
        if self.subapp is None:
            self.print_help()
            self.exit(1)
        self.subapp.start()


main = ChallengesApp.launch_instance

if __name__ == "__main__":
    main()
