"""What a submission sees of the host: no process environment, no signal target outside, no masked path.

- Every process visible inside a sandbox (``/proc/*/environ``, ``/proc/*/cmdline``) carries only the fixed
  ``namespaces.BASE_ENV``: none of the judge's PATH, PYTHONPATH or secrets, whichever way the kernel was started
  (the judge's fork server, or jupyter_client through the provisioner and the launcher).
- ``kill(0)``, ``kill(-1)`` and ``killpg(getpgrp())`` from inside reach nothing outside: the supervisor, the fork
  server, the judge and the other (pooled) sandboxes keep working.
- ``SandboxConfig.hidden_paths`` (and the built-in deny-list) mask what falls inside a bound path, down to the
  needed paths below it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import secrets
import uuid
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_duel_server.codec import decode
from jupyter_duel_server.sandbox.config import SandboxConfig, mask_paths
from jupyter_duel_server.sandbox.namespaces import BASE_ENV

from .conftest import TEST_CONFIG, requires_sandbox, sandbox_processes, snapshot
from .test_hostile import run, settle
from .test_provisioner import jupyter_env  # noqa: F401 - a fixture

pytestmark = [requires_sandbox, pytest.mark.timeout(180)]

#: Returns, for every process it can see, its environment entries and its command line.
DUMP = '''
import os

def f(x):
    out = {}
    for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
        entry = {}
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as fh:
                    entry[name] = [a.decode("utf-8", "replace") for a in fh.read().split(b"\\0") if a]
            except OSError as e:
                entry[name] = "unreadable: " + type(e).__name__
        out[pid] = entry
    return out
'''


def config(**sandbox) -> Config:
    c = copy.deepcopy(TEST_CONFIG)
    for name, value in sandbox.items():
        setattr(c.SandboxConfig, name, value)
    return c


@pytest.fixture
def host_secrets(monkeypatch) -> dict:
    """Host settings in the judge's environment (set before the fork server starts) that must not reach a
    sandbox."""
    marks = {
        "PATH": f"/host-path-{uuid.uuid4().hex}",
        "PYTHONPATH": f"/host-pythonpath-{uuid.uuid4().hex}",
        "JUPYTER_DUEL_SECRET": secrets.token_hex(16),
        "JUPYTER_DUEL_TEST_TOKEN": secrets.token_hex(16),
    }
    monkeypatch.setenv("PATH", marks["PATH"] + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))
    for name in ("PYTHONPATH", "JUPYTER_DUEL_SECRET", "JUPYTER_DUEL_TEST_TOKEN"):
        monkeypatch.setenv(name, marks[name])
    return marks


def assert_only_base_env(dump: dict, secrets_: dict, allowed: dict) -> None:
    assert dump, "no process visible inside the sandbox"
    text = json.dumps(dump)
    for name, mark in secrets_.items():
        assert mark not in text, f"the judge's {name} is visible inside the sandbox: {dump}"
    for pid, entry in dump.items():
        assert isinstance(entry["environ"], list), (pid, entry)
        for item in entry["environ"]:
            name, _, value = item.partition("=")
            assert allowed.get(name) == value, f"process {pid} has {item!r} in its environment: {entry}"
        assert isinstance(entry["cmdline"], list) and entry["cmdline"], (pid, entry)


async def test_fork_server_sandbox_has_only_the_base_environment(host_secrets):
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    runner = KernelSandboxRunner(pool_size=0, enforce_import_policy=False, config=TEST_CONFIG)
    await runner.start()
    try:
        (r,) = await run(runner, DUMP)
        assert r.status == "ok", r.error
        dump = decode(r.value)
        assert "1" in dump, dump  # PID 1: the kernel, a fork of the fork server
        assert_only_base_env(dump, host_secrets, BASE_ENV)
        # And the fork server itself, seen from the host.
        with open(f"/proc/{runner._zygote.proc.pid}/environ", "rb") as fh:
            zygote_env = dict(e.decode().partition("=")[::2] for e in fh.read().split(b"\0") if e)
        assert zygote_env == BASE_ENV
    finally:
        await runner.close()


def test_provisioned_kernel_has_only_the_base_environment(jupyter_env, host_secrets):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="duel-sandbox", config=TEST_CONFIG)
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        outputs = []
        code = DUMP + "\nimport json\nprint('DUMP:' + json.dumps(f(0)))\n"
        kc.execute_interactive(code, timeout=60, output_hook=outputs.append)
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        assert "DUMP:" in text, outputs
        dump = json.loads(text.split("DUMP:", 1)[1].strip().splitlines()[0])
        io_dir = os.path.dirname(km.connection_file)
        # The launcher adds the kernelspec's own env (empty here) and the kernel's runtime (io) directory.
        assert_only_base_env(dump, host_secrets, {**BASE_ENV, "JUPYTER_RUNTIME_DIR": io_dir})
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=False)


async def test_signals_reach_nothing_outside_the_sandbox():
    """kill(0)/kill(-1)/killpg from a submission: its own later tests, the sandboxes already waiting in the pool,
    the fork server and the next submissions are unaffected."""
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    code = (Path(__file__).parent / "hostile" / "kill_outside.py").read_text()
    runner = KernelSandboxRunner(pool_size=2, enforce_import_policy=False, config=TEST_CONFIG)
    await runner.start()
    try:
        zygote = runner._zygote.proc.pid
        results = await run(runner, code, n=3)
        # Had the supervisor A been killed, PID 1 would have died with it (PDEATHSIG): no result at all.
        assert [(r.status, r.error) for r in results] == [("ok", None)] * 3
        assert [decode(r.value) for r in results] == ["still here"] * 3
        assert runner._zygote.alive() and runner._zygote.proc.pid == zygote
        os.kill(zygote, 0)
        for _ in range(3):  # pooled sandboxes (same host uid) started before the kills, then fresh ones
            ok = await run(runner, "def f(x):\n    return x * 10\n", n=2)
            assert [(o.status, o.value) for o in ok] == [("ok", 0), ("ok", 10)]
        assert runner._zygote.proc.pid == zygote and runner._zygote.alive()
    finally:
        await runner.close()
    for _ in range(100):
        if not sandbox_processes():
            break
        await asyncio.sleep(0.05)
    assert not sandbox_processes()


def test_mask_paths_hide_everything_but_the_needed_paths(tmp_path):
    bound = tmp_path / "bound"
    (bound / "lib" / "needed" / "deep").mkdir(parents=True)
    (bound / "lib" / "other").mkdir()
    (bound / "lib" / "file.txt").write_text("x")
    (bound / "pack" / "c1").mkdir(parents=True)
    (bound / "db.sqlite").write_text("")
    os.symlink(bound / "pack", bound / "lib" / "link")
    outside = tmp_path / "outside"
    outside.mkdir()
    masks = mask_paths(
        [str(bound)],
        [str(bound / "pack"), str(bound / "lib"), str(bound / "db.sqlite"), str(outside), str(tmp_path / "no")],
        needed=[str(bound / "lib" / "needed")],
    )
    assert masks == sorted([str(bound / "db.sqlite"), str(bound / "lib" / "file.txt"), str(bound / "lib" / "other"),
                            str(bound / "pack")])
    # A hidden path that is itself bound hides what it holds (closed), never the whole tree above it.
    assert mask_paths([str(bound)], [str(bound)]) == sorted(str(p) for p in bound.iterdir() if not p.is_symlink())


def test_default_plan_binds_no_data_and_masks_what_falls_inside():
    from jupyter_duel_server.challenges import ChallengeLibrary
    from jupyter_duel_server.sandbox.config import site_packages

    plan = SandboxConfig(config=TEST_CONFIG).plan()
    for path in plan["ro_paths"]:
        parts = Path(path).parts
        assert "share" not in parts and "etc" not in parts and parts[:2] != ("/", "home"), path
    # A challenge directory the judge knows is either outside every bound path or masked.
    for d in ChallengeLibrary.default_dirs():
        d = os.path.realpath(d)
        if any(d == p or d.startswith(p + "/") for p in plan["ro_paths"]):
            assert any(d == m or d.startswith(m + "/") for m in plan["mask_paths"]), d
    # The base interpreter's own site-packages is masked when the kernel does not import from it (a venv).
    base_site = os.path.realpath(Path(os.__file__).parent / "site-packages")
    if os.path.isdir(base_site) and base_site not in site_packages():
        assert base_site in plan["mask_paths"], plan


async def test_hidden_paths_are_masked_in_a_real_sandbox(tmp_path):
    """Through a real sandbox: what hidden_paths names inside an (extra) bound path is an empty directory or an
    empty file; a needed path below a hidden one stays; the rest of the bound path is untouched."""
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    secret = secrets.token_hex(16)
    bound = tmp_path / "bound"
    for d in ("pack/c1", "outer/needed", "outer/other", "plain"):
        (bound / d).mkdir(parents=True)
    (bound / "pack" / "c1" / "tests.json").write_text(secret)
    (bound / "outer" / "other" / "x.txt").write_text(secret)
    (bound / "outer" / "needed" / "ok.txt").write_text("needed")
    (bound / "plain" / "ok.txt").write_text("plain")
    (bound / "duel.sqlite").write_text(secret)
    for p in [tmp_path, *bound.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    cfg = config(extra_ro_paths=[str(bound), str(bound / "outer" / "needed")],
                 hidden_paths=[str(bound / "pack"), str(bound / "outer"), str(bound / "duel.sqlite")])
    probe = f'''
import os

def f(x):
    out = {{}}
    for root, dirs, files in os.walk({str(bound)!r}):
        for name in files:
            p = os.path.join(root, name)
            try:
                with open(p) as fh:
                    out[p] = fh.read()
            except OSError as e:
                out[p] = type(e).__name__
        out[root + "/"] = sorted(dirs)
    return out
'''
    runner = KernelSandboxRunner(pool_size=0, enforce_import_policy=False, config=cfg)
    await runner.start()
    try:
        before = snapshot()
        (r,) = await run(runner, probe)
        assert r.status == "ok", r.error
        seen = decode(r.value)
        assert secret not in json.dumps(seen), seen
        b = str(bound)
        assert seen[f"{b}/plain/ok.txt"] == "plain" and seen[f"{b}/outer/needed/ok.txt"] == "needed", seen
        assert seen[f"{b}/pack/"] == [] and seen[f"{b}/outer/other/"] == [], seen
        assert seen.get(f"{b}/duel.sqlite") == "", seen
        assert await settle(before) == before
    finally:
        await runner.close()
    # nothing was written to the host's tree by the masks
    assert (bound / "pack" / "c1" / "tests.json").read_text() == secret and (bound / "duel.sqlite").read_text() == secret
