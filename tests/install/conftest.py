"""Real installs of jupyter-duel, as users make them, with challenge packs wherever they can be put.

Built once per session (in parallel, on first use):

- the project's wheel (``pip wheel --no-deps`` of this checkout; the prebuilt labextension is reused) and a tiny
  instructor wheel carrying a pack as shared data under ``share/jupyter/duel/challenges/<pack>``;
- ``venv``: a fresh ``python -m venv`` with both wheels ``pip install``-ed;
- ``system``: a system-wide prefix, as the Dockerfile's image has (``sys.prefix == sys.base_prefix``,
  site-packages inside the standard library, data under ``{prefix}/share``): the base interpreter's binary and
  standard library copied into a directory (without its site-packages), pip bootstrapped with ``ensurepip``,
  then both wheels installed there;
- ``editable``: a fresh venv with ``pip install -e`` of this checkout (its ``.pth`` points at the checkout).

In each one, besides the bundled pack (``{prefix}/share/jupyter/duel/challenges``) and the instructor wheel's,
a probe pack is planted in every other place the judge reads challenges from: ``{prefix}/share/jupyter`` (a
Jupyter data path), ``JUPYTER_PATH``, ``JUPYTER_DATA_DIR`` (in a home-like directory), and configured
directories (``--challenge-dir`` / ``DuelService.challenge_dirs``): one inside the prefix, one inside
site-packages (package data of an instructor's package) and one in a home-like directory. Each probe
challenge's hidden expected outputs are random marker strings, so a marker found in a file inside a sandbox
cannot be a coincidence.

The judges run with the sandbox tests' isolation settings (uid 61001, their cgroup parent and runtime dir), and
with secrets in their environment (JUPYTER_DUEL_SECRET, a PYTHONPATH and a PATH entry) that must not show in
any process inside the sandbox.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox.conftest import TEST_ARGV, TEST_CONFIG, remove_test_parents, sandbox_processes

REPO = Path(__file__).resolve().parents[2]
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
WALK = Path(__file__).with_name("walk_submission.py")
#: Limits of the walking submission: it reads the whole visible filesystem.
WALK_ARGV = ["--Judge.enforce_import_policy=False", "--Judge.max_time_s=300", "--SandboxConfig.cpu_time_s=600"]


def _clean_env(**extra: str) -> dict:
    """The environment of the install and judge commands: this process's, without anything pointing into the
    test's own interpreter or checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")
           and not k.startswith(("JUPYTER_", "PYTEST_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_ROOT_USER_ACTION="ignore")
    env.update(extra)
    return env


def sh(*cmd, env: dict | None = None, cwd: str | Path | None = None, timeout: float = 900) -> str:
    proc = subprocess.run([str(c) for c in cmd], env=env or _clean_env(), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited with {proc.returncode}:\n{proc.stdout[-4000:]}\n"
                           f"{proc.stderr[-4000:]}")
    return proc.stdout


# ------------------------------------------------------------------------------------------------ packs


@dataclass
class Pack:
    """A probe pack: one challenge whose hidden expected outputs are random markers."""

    name: str
    challenge_id: str
    markers: list[str]


def write_pack(parent: Path, name: str) -> Pack:
    """``parent/<name>/`` with a pack.toml and one challenge ``probe-<name>``."""
    markers = [f"duel-hidden-{secrets.token_hex(12)}" for _ in range(3)]
    cid = f"probe-{name}"
    pack = parent / name
    challenge = pack / cid
    challenge.mkdir(parents=True)
    (pack / "pack.toml").write_text(f'name = "{name}"\n')
    (challenge / "challenge.toml").write_text(textwrap.dedent(f"""\
        id = "{cid}"
        title = "Probe {name}"
        difficulty = "easy"
        function = "probe"
        signature = "def probe(x):"

        [limits]
        time_s = 300
        """))
    (challenge / "statement.md").write_text("Return what the hidden tests expect.\n")
    tests = {"samples": [{"args": [0], "expected": "clean"}],
             "hidden": [{"args": [i + 1], "expected": m} for i, m in enumerate(markers)]}
    (challenge / "tests.json").write_text(json.dumps(tests))
    table = {i + 1: m for i, m in enumerate(markers)}
    (challenge / "reference.py").write_text(f"def probe(x):\n    return {table!r}.get(x, 'clean')\n")
    return Pack(name, cid, markers)


def build_instructor_wheel(work: Path, out: Path) -> tuple[Path, Pack]:
    """A course's own distribution shipping a pack as Jupyter data (``share/jupyter/duel/challenges/<pack>``)."""
    project = work / "course-duel-pack"
    (project / "course_duel_pack").mkdir(parents=True)
    (project / "course_duel_pack" / "__init__.py").write_text("")
    pack = write_pack(project / "data", "wheel")
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "course-duel-pack"
        version = "1.0"

        [tool.hatch.build.targets.wheel]
        packages = ["course_duel_pack"]

        [tool.hatch.build.targets.wheel.shared-data]
        "data/wheel" = "share/jupyter/duel/challenges/wheel"
        """))
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, project)
    return next(out.glob("course_duel_pack-*.whl")), pack


# ------------------------------------------------------------------------------------------------ installs


@dataclass
class Install:
    name: str
    root: Path  # everything of this install lives below
    prefix: Path  # its sys.prefix
    python: Path
    site: Path  # its site-packages (purelib)
    home: Path  # a home-like directory
    packs: list[Pack] = field(default_factory=list)
    challenge_dirs: list[Path] = field(default_factory=list)
    env: dict = field(default_factory=dict)
    host_secrets: list[str] = field(default_factory=list)  # in the judge's environment, never in a sandbox

    @property
    def scripts(self) -> Path:
        return self.python.parent

    def markers(self) -> list[str]:
        return [m for p in self.packs for m in p.markers]


def _plant(inst: Install, wheel_pack: Pack) -> Install:
    """The probe packs in every place the judge looks, and the environment of its commands."""
    jpath = inst.root / "jupyter-path"
    data_dir = inst.home / ".local" / "share" / "jupyter"
    inst.packs.append(write_pack(inst.prefix / "share" / "jupyter" / "duel" / "challenges", "prefix-data"))
    inst.packs.append(wheel_pack)
    inst.packs.append(write_pack(jpath / "duel" / "challenges", "jupyter-path"))
    inst.packs.append(write_pack(data_dir / "duel" / "challenges", "data-dir"))
    for name, parent in (("configured-prefix", inst.prefix / "course-challenges"),
                         ("configured-site", inst.site / "course_pack" / "challenges"),
                         ("configured-home", inst.home / "teacher" / "challenges")):
        inst.packs.append(write_pack(parent, name))
        inst.challenge_dirs.append(parent)
    config_dir = inst.home / ".jupyter"
    config_dir.mkdir(parents=True, exist_ok=True)
    inst.host_secrets = [secrets.token_hex(16), f"/host-only-{secrets.token_hex(8)}"]
    inst.env = _clean_env(HOME=str(inst.home), JUPYTER_PATH=str(jpath), JUPYTER_DATA_DIR=str(data_dir),
                          JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_DUEL_SECRET=inst.host_secrets[0],
                          PYTHONPATH=inst.host_secrets[1],
                          PATH=f"{inst.host_secrets[1]}{os.pathsep}{inst.scripts}{os.pathsep}/usr/local/bin:/usr/bin:/bin")
    return inst


def _venv(root: Path, wheels: list[Path], editable: bool = False) -> Install:
    prefix = root / "venv"
    base = Path(sys.base_prefix) / "bin" / PY
    sh(base, "-m", "venv", prefix)
    python = prefix / "bin" / "python"
    if editable:
        sh(python, "-m", "pip", "install", "--quiet", "--no-compile", "-e", REPO)
        sh(python, "-m", "pip", "install", "--quiet", "--no-compile", *wheels)
    else:
        sh(python, "-m", "pip", "install", "--quiet", "--no-compile", *wheels)
    site = Path(sh(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    return Install("editable" if editable else "venv", root, prefix, python, site, root / "home")


def _system_prefix(root: Path, wheels: list[Path]) -> Install:
    """A copy of the base interpreter as a system-wide prefix (what ``python:3.11-slim`` has under /usr/local)."""
    prefix = root / "usr"
    base = Path(sys.base_prefix)
    stdlib = base / "lib" / PY
    (prefix / "bin").mkdir(parents=True)
    shutil.copy2(os.path.realpath(base / "bin" / PY), prefix / "bin" / PY)
    os.symlink(PY, prefix / "bin" / "python3")

    def skip(directory: str, names: list[str]) -> list[str]:
        if Path(directory) != stdlib:
            return []
        return [n for n in names
                if n in ("site-packages", "dist-packages", "test", "EXTERNALLY-MANAGED") or n.startswith("config-")]

    shutil.copytree(stdlib, prefix / "lib" / PY, ignore=skip, symlinks=True)
    for lib in (base / "lib").glob("libpython*"):
        shutil.copy2(lib, prefix / "lib" / lib.name, follow_symlinks=False)
    python = prefix / "bin" / PY
    sh(python, "-m", "ensurepip")
    sh(python, "-m", "pip", "install", "--quiet", "--no-compile", *wheels)
    site = Path(sh(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    facts = json.loads(sh(python, "-c", "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix]))"))
    assert facts == [str(prefix), str(prefix)], facts  # really system-wide
    assert site.is_relative_to(prefix / "lib" / PY), site  # site-packages inside the standard library
    return Install("system", root, prefix, python, site, root / "home")


class Installs:
    """Builds the installs the session's tests use, in parallel, on first use."""

    def __init__(self, base: Path, names: list[str]):
        self.base = base
        self.names = names
        self._pool = concurrent.futures.ThreadPoolExecutor(3)
        self._futures: dict[str, concurrent.futures.Future] = {}
        self._wheels: concurrent.futures.Future | None = None

    def _build_wheels(self) -> tuple[Path, Path, Pack]:
        out = self.base / "wheels"
        out.mkdir()
        sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, REPO)
        project = next(out.glob("jupyter_duel-*.whl"))
        course, pack = build_instructor_wheel(self.base / "course", out)
        return project, course, pack

    def _build(self, name: str) -> Install:
        project, course, pack = self._wheels.result()
        root = self.base / name
        root.mkdir()
        if name == "system":
            inst = _system_prefix(root, [project, course])
        elif name == "editable":
            inst = _venv(root, [course], editable=True)
        else:
            inst = _venv(root, [project, course])
        # The sandbox user must be able to read what is bound (as on a real host: a prefix is world-readable).
        for p in (self.base, root):
            os.chmod(p, 0o755)
        return _plant(inst, pack)

    def get(self, name: str) -> Install:
        if self._wheels is None:
            self._wheels = self._pool.submit(self._build_wheels)
            for n in dict.fromkeys([*self.names, name]):
                self._futures[n] = self._pool.submit(self._build, n)
        if name not in self._futures:
            self._futures[name] = self._pool.submit(self._build, name)
        return self._futures[name].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def installs(request):
    """``installs.get(name)``: the install ``name`` (``venv``, ``system`` or ``editable``)."""
    names = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "installs" in getattr(item, "fixturenames", ()) and "name" in params:
            names.append(params["name"])
    base = Path(tempfile.mkdtemp(prefix="duel-installs-"))
    os.chmod(base, 0o755)
    built = Installs(base, names)
    yield built
    built.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _remove_sandbox_parents():
    """The tests' cgroup parent and runtime dir are shared with tests/sandbox: remove them when done (either
    directory of tests may run alone)."""
    yield
    remove_test_parents()


# ------------------------------------------------------------------------------------------------ judging


def walk_code(inst: Install) -> str:
    needles = [m.encode().hex() for m in [*inst.markers(), *inst.host_secrets]]
    return WALK.read_text().replace("NEEDLES_HEX = []", f"NEEDLES_HEX = {needles!r}")


def judge_cli(inst: Install, challenge_id: str, code: str) -> list[dict]:
    """``jupyter duel judge CHALLENGE FILE --json`` of the install (the real KernelSandboxRunner there)."""
    solution = inst.root / f"solution-{secrets.token_hex(4)}.py"
    solution.write_text(code)
    argv = [inst.scripts / "jupyter", "duel", "judge", challenge_id, solution, "--json", "--samples-only",
            *WALK_ARGV, *TEST_ARGV, *[f"--challenge-dir={d}" for d in inst.challenge_dirs]]
    proc = subprocess.run([str(a) for a in argv], env=inst.env, cwd=inst.root, capture_output=True, text=True,
                          timeout=600)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert events and events[-1].get("event") == "verdict", (proc.returncode, proc.stdout[-3000:],
                                                              proc.stderr[-3000:])
    return events


SERVICE_SCRIPT = r'''
import asyncio, json, sys
from traitlets.config import Config
from jupyter_duel_server.service import DuelService

args = json.loads(sys.argv[1])
service = DuelService(config=Config(args["config"]), challenge_dirs=args["challenge_dirs"], db_url=args["db_url"])


async def main():
    challenge = service.challenges.get(args["challenge"])
    try:
        report = await service.judge.judge(challenge, args["code"], samples_only=True)
    finally:
        close = getattr(service.judge, "close", None) or service.judge.runner.close
        await close()
    print(json.dumps([{"kind": o.kind, "verdict": o.verdict, "got": o.got, "error": o.error}
                      for o in report.outcomes]))

asyncio.run(main())
'''


def judge_service(inst: Install, challenge_id: str, code: str) -> list[dict]:
    """A ``DuelService`` of the install (its challenge_dirs given as a constructor argument, its SQLite database
    inside the prefix) judging through its own default judge."""
    db = inst.prefix / "var" / "duel.sqlite"
    db.parent.mkdir(exist_ok=True)
    config = json.loads(json.dumps(TEST_CONFIG))
    config["SandboxConfig"]["cpu_time_s"] = 600
    config["Judge"] = {"enforce_import_policy": False, "max_time_s": 300}
    args = {"config": config, "challenge_dirs": [str(d) for d in inst.challenge_dirs],
            "db_url": f"sqlite:///{db}", "challenge": challenge_id, "code": code}
    proc = subprocess.run([str(inst.python), "-c", SERVICE_SCRIPT, json.dumps(args)], env=inst.env, cwd=inst.root,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip(), (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


__all__ = ["Install", "Installs", "judge_cli", "judge_service", "walk_code", "sandbox_processes"]
