"""No submission reads a challenge, however jupyter-duel and its packs are installed.

In each real install (fresh venv from the wheel, system-wide prefix as in the Docker image, editable install of
the checkout; see conftest.py), with probe packs planted everywhere the judge reads challenges from, a submission
judged by that install's own judge (``jupyter duel judge``, and a ``DuelService``'s default judge) walks the
sandbox's whole visible filesystem: it must find no challenge file, no database and none of the hidden expected
values.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from .conftest import judge_cli, judge_service, sandbox_processes, walk_code

INSTALLS = ["venv", "system", "editable"]

pytestmark = [pytest.mark.timeout(900)]


@pytest.mark.parametrize("name", INSTALLS)
def test_every_planted_pack_is_served(installs, name):
    """The probe packs are where the judge reads challenges from (else the walk would prove nothing)."""
    inst = installs.get(name)
    out = subprocess.run([str(inst.scripts / "jupyter"), "duel", "challenges", "list", "--json", "--all",
                          *map(str, inst.challenge_dirs)], env=inst.env, capture_output=True, text=True, timeout=300)
    ids = {json.loads(line)["id"] for line in out.stdout.splitlines() if line.startswith("{")}
    expected = {p.challenge_id for p in inst.packs}
    if name == "editable":
        # From a checkout, the checkout's challenges/ replaces {sys.prefix}/share/jupyter/duel/challenges as a
        # whole (ChallengeLibrary.default_dirs): the packs planted there are on disk but not served.
        expected -= {"probe-prefix-data", "probe-wheel"}
    assert expected <= ids and "add-two" in ids, (sorted(expected - ids), out.stderr[-2000:])


def assert_no_sandbox_left() -> None:
    """The judge's process has exited: its sandboxes die with it (PDEATHSIG), a moment later."""
    for _ in range(200):
        if not sandbox_processes():
            return
        time.sleep(0.05)
    assert not sandbox_processes()


def _assert_clean(got: str | None, inst) -> None:
    text = got.strip("'\"") if isinstance(got, str) else repr(got)
    assert text.startswith("clean"), f"the submission found, inside the sandbox of the {inst.name} install: {text}"
    dirs, files, read = map(int, re.findall(r"\d+", text)[:3])
    # It did walk the sandbox's filesystem: the interpreter, its libraries and site-packages.
    assert dirs > 100 and files > 1000 and read > 1000, text


@pytest.mark.parametrize("name", INSTALLS)
def test_judge_cli_submission_sees_no_challenge(installs, name):
    """``jupyter duel judge probe-configured-site`` (a pack inside site-packages, given with --challenge-dir)."""
    inst = installs.get(name)
    events = judge_cli(inst, "probe-configured-site", walk_code(inst))
    sample = next(e for e in events if e.get("event") == "test" and e.get("kind") == "sample")
    assert sample["verdict"] in ("AC", "WA"), sample
    _assert_clean(sample["got"], inst)
    assert_no_sandbox_left()


@pytest.mark.parametrize("name", INSTALLS)
def test_service_judge_submission_sees_no_challenge(installs, name):
    """A DuelService (challenge_dirs given to it, its SQLite database inside the prefix) judging through its own
    default judge."""
    inst = installs.get(name)
    outcomes = judge_service(inst, "probe-configured-home", walk_code(inst))
    sample = outcomes[0]
    assert sample["kind"] == "sample" and sample["verdict"] in ("AC", "WA"), sample
    _assert_clean(sample["got"], inst)
    assert_no_sandbox_left()


@pytest.mark.parametrize("name", ["venv", "system"])
def test_no_sandbox_kernel_in_the_launcher(installs, name, tmp_path):
    """The judge needs no kernelspec: none is installed (a student's Launcher would offer a kernel that cannot
    even save a file); ``jupyter duel kernelspec install`` puts it where an operator asks."""
    inst = installs.get(name)
    listed = subprocess.run([str(inst.scripts / "jupyter"), "kernelspec", "list", "--json"], env=inst.env,
                            capture_output=True, text=True, timeout=120)
    assert "duel-sandbox" not in json.loads(listed.stdout)["kernelspecs"], listed.stdout
    assert not (inst.prefix / "share" / "jupyter" / "kernels" / "duel-sandbox").exists()
    done = subprocess.run([str(inst.scripts / "jupyter"), "duel", "kernelspec", "install", f"--prefix={tmp_path}"],
                          env=inst.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    spec = json.loads((tmp_path / "kernels" / "duel-sandbox" / "kernel.json").read_text())
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "duel-sandbox-provisioner"
