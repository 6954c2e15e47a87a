"""Judging across hosts: the GatewayPoolRunner against two real Kernel Gateway "hosts", each in a network
namespace made here and reached over a veth pair, over TLS with a pinned self-signed certificate and a token.

What is shown: verdicts through the pool; nothing of the expected outputs in anything sent to a gateway (every
request body and WebSocket message the runner sends is recorded through its ``sent_tap``), and inputs sent one
at a time; on the wire (a raw capture on the veth) nothing is readable; only the token and the pinned
certificate open the way; a host dying mid-judge (processes killed, or off the network) gives the verdict of a
whole run on the other host; no host left gives ``judge_unavailable``, also through a real service to a real
Socket.IO client.
Needs root (network namespaces, the sandbox), as here and in CI: never skipped.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from gateway_hosts import Capture, Lab, run
from helpers import RATED_GUESTS, ServiceProcess, get_json, players_on, start_battle
from jupyter_duel_server.challenges import TestCase
from jupyter_duel_server.judge import Judge
from jupyter_duel_server.remote import GatewayPoolRunner, JudgeUnavailable

pytestmark = pytest.mark.timeout(600)

GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
# Slow enough to be caught mid-run; wrong on the last test only: the verdict names it only after a whole run.
SLOW_WRONG_LAST = ("import time\n"
                   "def add(a, b):\n"
                   "    time.sleep(0.4)\n"
                   "    return a + b + (1 if a == 7770000005 else 0)\n")
# A message over the size limit: an input_request (the kernel's own input(), which the harness speaks through).
FLOOD = "def add(a, b):\n    input('x' * 4_000_000)\n    return a + b\n"
# Distinctive values: any occurrence in a message sent to a gateway is a leak, never a coincidence.
SAMPLES = [TestCase((7770000000, 1234), 7770001234), TestCase((7770000001, 2345), 7770002346)]
HIDDEN = [TestCase((7770000002, 3456), 7770003458), TestCase((7770000003, 4567), 7770004570),
          TestCase((7770000004, 5678), 7770005682), TestCase((7770000005, 6789), 7770006794)]


@pytest.fixture(scope="module")
def lab():
    made = Lab(2)
    try:
        for host in made.hosts:
            host.start()
        for host in made.hosts:
            host.wait_up()
        yield made
    finally:
        made.close()
    deadline = time.time() + 10
    while made.leftovers()["processes"] and time.time() < deadline:
        time.sleep(0.1)
    assert made.leftovers()["processes"] == []
    assert not any(h.ns in run("ip", "netns", "list").stdout for h in made.hosts)


@pytest.fixture
def hosts(lab):
    """Both hosts up and on the network at the start of each test (an earlier one may have taken them down)."""
    for host in lab.hosts:
        host.link_up()
        if host.proc is None or host.proc.poll() is not None:
            host.kill()  # what is left of a killed host (launchers whose gateway died)
            host.launch()
    for host in lab.hosts:
        host.wait_up()
    return lab


class Recorder:
    """What the runner sent, per gateway, in order: (what, text)."""

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []
        self.on_send = None

    def __call__(self, url, what, payload):
        text = payload.decode() if isinstance(payload, bytes) else (payload or "")
        self.sent.append((url, what, text))
        if self.on_send is not None:
            self.on_send(url, what, text)

    def inputs(self, url: str) -> list[int]:
        """Test indexes whose input was sent to ``url``, in order."""
        out = []
        for u, what, text in self.sent:
            if u == url and what == "ws":
                msg = json.loads(text)
                if msg["header"]["msg_type"] == "input_reply" and msg["content"]["value"]:
                    line = json.loads(msg["content"]["value"])
                    if "i" in line:
                        out.append(line["i"])
        return out


@pytest.fixture
async def pool(hosts, make_challenge):
    runner = GatewayPoolRunner(**hosts.runner_config(), pool_size=1, health_interval_s=1.0,
                               request_timeout_s=5.0)
    recorder = Recorder()
    runner.sent_tap = recorder
    judge = Judge(runner=runner, enforce_import_policy=False)
    await runner.start()
    await runner.wait_ready()
    challenge = make_challenge(samples=SAMPLES, hidden=HIDDEN, time_s=2.0)
    yield judge, runner, recorder, challenge
    await judge.close()


async def test_verdicts_through_the_pool_and_nothing_hidden_crosses(pool, hosts):
    judge, runner, recorder, challenge = pool
    report = await judge.judge(challenge, GOOD)
    assert (report.verdict, report.passed, report.total) == ("AC", 6, 6)
    report = await judge.judge(challenge, WRONG)
    assert (report.verdict, report.passed) == ("WA", 0)
    assert report.outcomes[0].kind == "sample" and report.outcomes[0].verdict == "WA"
    # A submission that kills its kernel: the host is fine, the verdict is the submission's (RE), not a retry.
    report = await judge.judge(challenge, "import os\ndef add(a, b):\n    os._exit(3)\n")
    assert report.verdict == "RE"
    assert all(s["healthy"] for s in runner.status())
    # A message over the size limit, sent by the submission through its kernel, ends the run: RE, never a retry
    # (nor a host taken for down).
    report = await judge.judge(challenge, FLOOD)
    assert report.verdict == "RE" and report.passed == 0
    assert "larger than" in report.outcomes[0].error, report.outcomes[0]
    assert all(s["healthy"] for s in runner.status())
    # Custom runs go the same way.
    custom = await judge.run_custom(challenge, "def add(a, b):\n    print('sum', a + b)\n    return a + b\n",
                                    (2, 40), 100)
    assert (custom.verdict, custom.value, custom.output) == ("OK", "42", "sum 42\n")
    # Submissions at the same time spread over the hosts, each with its own verdict.
    reports = await asyncio.gather(*(judge.judge(challenge, code) for code in (GOOD, WRONG, GOOD, WRONG)))
    assert [r.verdict for r in reports] == ["AC", "WA", "AC", "WA"]
    assert all(recorder.inputs(h.url) for h in hosts.hosts), "one host got no run"

    texts = [text for _, _, text in recorder.sent]
    assert texts, "the tap saw nothing"
    for case in SAMPLES + HIDDEN:
        assert not any(str(case.expected) in t for t in texts), f"expected value {case.expected} was sent"
        assert any(str(case.args[0]) in t for t in texts)  # the inputs did cross: the tap sees what is sent
    # Only the sandbox kernelspec was asked for, and only with the harness cell, input lines and set-up.
    kinds = {what for _, what, _ in recorder.sent}
    assert kinds <= {"ws", "POST /api/kernels"} | {w for w in kinds if w.startswith("DELETE /api/kernels/")}
    for url, what, text in recorder.sent:
        if what == "POST /api/kernels":
            assert json.loads(text) == {"name": "duel-sandbox"}
    # One input per message, in order, each run from test 0.
    url = hosts.hosts[0].url
    assert recorder.inputs(url)[:6] == [0, 1, 2, 3, 4, 5]
    for _, what, text in recorder.sent:
        if what == "ws":
            msg = json.loads(text)
            if msg["header"]["msg_type"] == "input_reply" and msg["content"]["value"].startswith('{"i"'):
                assert len(json.loads(msg["content"]["value"])["args"]) == 2


async def test_the_path_is_encrypted(pool, hosts):
    """On the wire (every frame on the judge's side of the veth), nothing of the run is readable: not the code,
    not an input, not the token, not a Jupyter message."""
    judge, runner, recorder, challenge = pool
    marker = "def add(a, b):\n    return a + b  # wire-marker-5f3c\n"
    with Capture(hosts.hosts[0].host_if) as capture:
        report = await judge.judge(challenge, marker)
    assert report.verdict == "AC"
    wire = capture.data()
    assert recorder.inputs(hosts.hosts[0].url), "the run did not go through the captured link"
    assert len(wire) > 4_000 and b"\x17\x03\x03" in wire, len(wire)  # the run's TLS records were captured
    for clear in ("wire-marker-5f3c", str(SAMPLES[0].args[0]), hosts.token, "execute_request", "input_reply",
                  "kernelspecs"):
        assert clear.encode() not in wire, f"{clear!r} crossed the network in clear"


async def judge_while(judge, challenge, recorder, host_url: str, at_input: int, action):
    """Judge SLOW_WRONG_LAST; ``action()`` runs once when test ``at_input``'s input has been sent to
    ``host_url``. Returns the report and the outcomes streamed to on_test."""
    fired = []

    def on_send(url, what, text):
        if not fired and url == host_url and what == "ws" and f'\\"i\\": {at_input},' in text:
            fired.append(time.monotonic())
            action()

    recorder.on_send = on_send
    streamed = []

    async def on_test(outcome):
        streamed.append(outcome)

    report = await judge.judge(challenge, SLOW_WRONG_LAST, on_test=on_test)
    assert fired, "the host was never caught mid-run"
    return report, streamed


def assert_whole_run_on(recorder, url):
    assert recorder.inputs(url) == [0, 1, 2, 3, 4, 5]


async def test_a_host_killed_mid_judge_gives_the_verdict_of_the_other_host(pool, hosts):
    judge, runner, recorder, challenge = pool
    first, second = hosts.hosts
    report, streamed = await judge_while(judge, challenge, recorder, first.url, 3, first.kill)
    assert recorder.inputs(first.url) == [0, 1, 2, 3]  # cut short there
    assert_whole_run_on(recorder, second.url)  # then run again, whole, here
    assert (report.verdict, report.passed, report.total) == ("WA", 5, 6)
    assert [o.verdict for o in streamed] == ["AC"] * 5 + ["WA"]  # each test reported once, from the whole run
    assert [s["healthy"] for s in runner.status()] == [False, True]


async def test_a_host_off_the_network_mid_judge_gives_the_verdict_of_the_other_host(pool, hosts):
    judge, runner, recorder, challenge = pool
    first, second = hosts.hosts
    report, streamed = await judge_while(judge, challenge, recorder, first.url, 2, first.link_down)
    assert recorder.inputs(first.url) == [0, 1, 2]
    assert_whole_run_on(recorder, second.url)
    assert (report.verdict, report.passed, report.total) == ("WA", 5, 6)
    assert len(streamed) == 6
    assert not runner.status()[0]["healthy"]
    # Back on the network: the health checks take it back.
    first.link_up()
    deadline = time.monotonic() + 30
    while not runner.status()[0]["healthy"] and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert runner.status()[0]["healthy"]


async def test_no_host_left_is_judge_unavailable(pool, hosts):
    judge, runner, recorder, challenge = pool
    first, second = hosts.hosts

    def both():
        first.link_down()
        second.kill()

    streamed = []

    async def on_test(outcome):
        streamed.append(outcome)

    fired = []

    def on_send(url, what, text):
        if not fired and what == "ws" and '\\"i\\": 1,' in text:
            fired.append(url)
            both()

    recorder.on_send = on_send
    with pytest.raises(JudgeUnavailable):
        await judge.judge(challenge, SLOW_WRONG_LAST, on_test=on_test)
    assert fired and streamed == []  # nothing of the cut run was reported
    # And with every host down before the run, at once.
    with pytest.raises(JudgeUnavailable):
        await judge.judge(challenge, GOOD)


async def test_the_service_says_judge_unavailable_when_no_host_is_left(hosts, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DUEL_GATEWAY_TOKEN", hosts.token)
    urls = json.dumps([h.url for h in hosts.hosts])
    service = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                             "--DuelService.judge_on_gateways=True", f"--GatewayPoolRunner.gateways={urls}",
                             f"--GatewayPoolRunner.ca_file={hosts.cert}", "--GatewayPoolRunner.health_interval_s=1",
                             "--DuelService.submit_cooldown_s=0").start()
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make)
        battle_id = m1["battle_id"]
        # Judged through the gateways while they are up.
        assert (await p1.call("submit_code", {"battle_id": battle_id, "code": "def nothing(): pass\n"}))["ok"]
        while True:
            result = await p1.expect("submission_result", timeout=120)
            if result["player"] == p1.name:
                break
        assert result["verdict"] in ("RE", "WA") and result["total"] > 0
        assert get_json(service.url + "/api/health")[1]["judge"] == "ok"
        for host in hosts.hosts:
            host.kill()
        deadline = time.monotonic() + 30  # the health checks notice (every second here)
        while get_json(service.url + "/api/health")[1]["judge"] != "unavailable" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert get_json(service.url + "/api/health")[1]["judge"] == "unavailable"
        assert (await p1.call("submit_code", {"battle_id": battle_id, "code": "def nothing(): pass\n"}))["ok"]
        error = await p1.expect("error", timeout=120)
        assert error["code"] == "judge_unavailable" and error["event"] == "submit_code", error
        assert "judging host" in error["message"]
        assert "10." not in error["message"]  # host addresses stay in the log
        assert p1.pending("submission_result") == 0


async def test_only_with_the_token_and_the_pinned_certificate(hosts, make_challenge, tmp_path):
    challenge = make_challenge()
    # A wrong token: every gateway refuses it, nothing runs.
    runner = GatewayPoolRunner(**{**hosts.runner_config(), "auth_token": "not-the-token"}, request_timeout_s=5.0)
    judge = Judge(runner=runner)
    try:
        await runner.start()
        assert [(s["healthy"], "HTTP 403" in s["error"] or "HTTP 401" in s["error"]) for s in runner.status()] \
            == [(False, True)] * 2, runner.status()
        with pytest.raises(JudgeUnavailable):
            await judge.judge(challenge, GOOD)
    finally:
        await judge.close()
    # Another self-signed certificate pinned: the gateways' own is refused (no system CA is trusted either).
    other = tmp_path / "other.pem"
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days",
        "1", "-subj", "/CN=duel-gateway", "-addext", "subjectAltName=" + ",".join(f"IP:{a}" for a in hosts.addresses),
        "-keyout", str(tmp_path / "other.key"), "-out", str(other))
    runner = GatewayPoolRunner(**{**hosts.runner_config(), "ca_file": str(other)}, request_timeout_s=5.0)
    judge = Judge(runner=runner)
    try:
        await runner.start()
        assert all(not s["healthy"] and "CERTIFICATE_VERIFY_FAILED" in s["error"] for s in runner.status())
        with pytest.raises(JudgeUnavailable):
            await judge.judge(challenge, GOOD)
    finally:
        await judge.close()
    # Plain HTTP only when asked for, and https only with a pinned certificate.
    for bad in ({"gateways": [f"http://{hosts.addresses[0]}:8888"]},
                {"gateways": [hosts.hosts[0].url], "ca_file": ""}):
        runner = GatewayPoolRunner(**bad)
        with pytest.raises(JudgeUnavailable):
            await runner.start()
        await runner.close()
