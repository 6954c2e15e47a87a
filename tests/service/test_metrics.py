"""The Prometheus metrics (``GET {base}metrics``) of a real service process after a real duel played by real
Socket.IO clients and judged in the real sandbox: each metric moves as what happened says it must. Also: each
service keeps its metrics in a registry of its own, and the embedded service's metrics sit behind Jupyter's
authentication like its API."""

from __future__ import annotations

import asyncio
import tempfile
import urllib.error
import urllib.request

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from helpers import JupyterProcess, Player, judged, players_on, ServiceProcess, RATED_GUESTS
from jupyter_duel_server import protocol
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
SYNCS = 7


def scrape(url: str, headers: dict | None = None) -> tuple[str, dict]:
    """GET a metrics page: (its Content-Type, {(sample name, sorted label items): value})."""
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def settles_at(url: str, expected: float, name: str, **labels) -> None:
    """Scrape until the metric reads ``expected`` (the service handles a closed connection after the client is
    gone), at most 10 s; then it must."""
    for _ in range(100):
        if value(scrape(url)[1], name, **labels) == expected:
            return
        await asyncio.sleep(0.1)
    assert value(scrape(url)[1], name, **labels) == expected


async def test_metrics_follow_a_real_duel(tmp_path):
    service = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0",
                             "--DuelService.run_samples_cooldown_s=0").start()
    metrics_url = service.url + "/metrics"
    async with players_on(service) as make:
        content_type, before = scrape(metrics_url)
        assert content_type.startswith("text/plain") and "version=0.0.4" in content_type
        # A fresh service: every counter at zero, every error code and event already listed.
        assert value(before, "jupyter_duel_relay_latency_seconds_count") == 0
        for code in protocol.ERROR_CODES:
            assert value(before, "jupyter_duel_event_errors_total", code=code) == 0
        for event in [*protocol.INCOMING, "unknown"]:
            assert value(before, "jupyter_duel_events_received_total", event=event) == 0
        assert value(before, "jupyter_duel_players_connected") == 0

        alice, bob = await make("alice"), await make("bob")
        assert (await alice.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
        await alice.expect("queue_update")
        _, waiting = scrape(metrics_url)
        assert value(waiting, "jupyter_duel_players_connected") == 2
        assert value(waiting, "jupyter_duel_queue_size", pool="easy") == 1
        assert value(waiting, "jupyter_duel_queue_size", pool="medium") == 0
        assert value(waiting, "jupyter_duel_battles_running") == 0

        assert (await bob.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]
        found = await alice.expect("match_found")
        await bob.expect("match_found")
        assert found["mirror"]["mode"] == "live"  # a casual battle: every edit is relayed
        battle_id, challenge = found["battle_id"], found["challenge"]

        code = ""
        for seq in range(1, SYNCS + 1):
            code += f"# line {seq}\n"
            assert (await alice.call("sync_code", {"battle_id": battle_id, "seq": seq, "text": code}))["ok"]
        for _ in range(SYNCS):
            await bob.expect("opponent_code")
        # Refused: a malformed edit, an unknown event, and an edit of somebody else's battle.
        await bob.refused("sync_code", {"battle_id": battle_id, "seq": "one"}, "invalid_payload")
        ack = await bob.call("no_such_event", {})
        assert ack["error"]["code"] == "unknown_event"
        await bob.expect("error")
        await bob.refused("sync_code", {"battle_id": "f" * 32, "seq": 1, "text": ""}, "unknown_battle")

        _, playing = scrape(metrics_url)
        assert value(playing, "jupyter_duel_battles_running") == 1
        assert value(playing, "jupyter_duel_queue_size", pool="easy") == 0
        assert value(playing, "jupyter_duel_relay_latency_seconds_count") == SYNCS
        assert value(playing, "jupyter_duel_relay_latency_seconds_sum") > 0
        assert value(playing, "jupyter_duel_relay_latency_seconds_bucket", le="+Inf") == SYNCS

        # Judging: a sample run, a custom run and a winning submission, each in the real sandbox.
        reference = LIBRARY.get(challenge["id"]).reference
        assert (await bob.call("run_samples", {"battle_id": battle_id, "code": reference}))["ok"]
        assert (await bob.expect("submission_result", timeout=60))["verdict"] == "AC"
        call = challenge["samples"][0]["call"]
        args = call[len(challenge["function"]) + 1:-1]
        ack = await alice.call("run_custom", {"battle_id": battle_id, "code": reference, "args": args})
        assert ack["ok"], ack
        assert (await alice.expect("custom_result", timeout=60))["verdict"] == "OK"
        assert (await judged(alice, battle_id, reference))["verdict"] == "AC"
        assert (await alice.expect("battle_complete", timeout=30))["winner"] == alice.name

        _, after = scrape(metrics_url)
        assert value(after, "jupyter_duel_battles_running") == 0
        assert value(after, "jupyter_duel_players_connected") == 2
        assert value(after, "jupyter_duel_relay_latency_seconds_count") == SYNCS  # judging relays nothing
        for kind, verdict in (("samples", "AC"), ("custom", "OK"), ("submit", "AC")):
            assert value(after, "jupyter_duel_judge_outcomes_total", kind=kind, verdict=verdict) == 1
            assert value(after, "jupyter_duel_judge_duration_seconds_count", kind=kind) == 1
            assert value(after, "jupyter_duel_judge_duration_seconds_sum", kind=kind) > 0
        assert value(after, "jupyter_duel_event_errors_total", code="invalid_payload") == 1
        assert value(after, "jupyter_duel_event_errors_total", code="unknown_event") == 1
        assert value(after, "jupyter_duel_event_errors_total", code="unknown_battle") == 1
        assert value(after, "jupyter_duel_event_errors_total", code="internal") == 0
        received = lambda event: value(after, "jupyter_duel_events_received_total", event=event)  # noqa: E731
        assert received("sync_code") == SYNCS + 2
        assert received("unknown") == 1
        assert received("register_user") == 2 and received("join_queue") == 2
        assert (received("run_samples"), received("run_custom"), received("submit_code")) == (1, 1, 1)

        await bob.close()
        await settles_at(metrics_url, 1, "jupyter_duel_players_connected")


async def test_ranked_shape_mirror_relays_nothing(service, players):
    """The histogram measures edits relayed as they are: a ranked battle shows outlines, so none is counted."""
    alice, bob = await players("alice"), await players("bob")
    assert (await alice.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
    assert (await bob.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
    found = await alice.expect("match_found")
    assert found["mirror"]["mode"] == "shape"
    for seq in (1, 2, 3):
        assert (await alice.call("sync_code", {"battle_id": found["battle_id"], "seq": seq, "text": "x" * seq}))["ok"]
    await bob.expect("opponent_shape")
    _, samples = scrape(service.url + "/metrics")
    assert value(samples, "jupyter_duel_relay_latency_seconds_count") == 0
    assert value(samples, "jupyter_duel_events_received_total", event="sync_code") == 3


def test_each_service_has_its_own_registry():
    """Two services in one process: separate counts, and nothing in prometheus_client's global registry."""
    from jupyter_duel_server.service import DuelService

    with tempfile.TemporaryDirectory() as tmp:
        first = DuelService(db_url=f"sqlite:///{tmp}/a.sqlite", sandbox=False)
        second = DuelService(db_url=f"sqlite:///{tmp}/b.sqlite", sandbox=False)
        try:
            first.metrics.event_received("sync_code")
            first.metrics.error_sent("invalid_payload")
            assert first.metrics.registry is not second.metrics.registry
            assert first.metrics.registry.get_sample_value(
                "jupyter_duel_events_received_total", {"event": "sync_code"}) == 1
            assert second.metrics.registry.get_sample_value(
                "jupyter_duel_events_received_total", {"event": "sync_code"}) == 0
            assert second.metrics.registry.get_sample_value(
                "jupyter_duel_event_errors_total", {"code": "invalid_payload"}) == 0
            assert REGISTRY.get_sample_value("jupyter_duel_events_received_total", {"event": "sync_code"}) is None
            # Bounded labels: an event name from a client never becomes a label of its own.
            first.metrics.event_received("x" * 5000)
            first.metrics.event_received(None)
            assert first.metrics.registry.get_sample_value(
                "jupyter_duel_events_received_total", {"event": "unknown"}) == 2
            assert set(first.metrics.received) == {*protocol.INCOMING, "unknown"}
        finally:
            first.store.close()
            second.store.close()


def test_embedded_metrics_behind_jupyter_auth(tmp_path):
    """Embedded in a Jupyter server: the metrics need the server's token, like the service's API, and keep the
    Prometheus Content-Type behind Jupyter's JSON API handler."""
    jupyter = JupyterProcess(tmp_path, app="server").start()
    try:
        url = jupyter.url("duel/metrics")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None  # a redirect to the login page is a refusal: keep it as such

        try:
            urllib.request.build_opener(NoRedirect).open(url, timeout=10)
            raise AssertionError("the metrics answered without authentication")
        except urllib.error.HTTPError as err:
            assert err.code in (302, 403), err.code
        content_type, samples = scrape(url, {"Authorization": f"token {jupyter.token}"})
        assert content_type.startswith("text/plain") and "version=0.0.4" in content_type
        assert value(samples, "jupyter_duel_players_connected") == 0
        assert value(samples, "jupyter_duel_battles_running") == 0
    finally:
        jupyter.stop()


async def test_scraping_while_players_come_and_go(tmp_path):
    """The gauges are read at scrape time from the service's state: connections that close are no longer
    counted, and a player's several tabs count once."""
    service = ServiceProcess(tmp_path, *RATED_GUESTS).start()
    async with players_on(service) as make:
        carol = await make("carol")
        second_tab = await carol.another_tab()
        _, samples = scrape(service.url + "/metrics")
        assert value(samples, "jupyter_duel_players_connected") == 1
        await second_tab.close()
        await settles_at(service.url + "/metrics", 1, "jupyter_duel_players_connected")
        await carol.close()
        anonymous = await Player(service.url).connect()
        try:
            # Connected but never registered: not a player.
            await settles_at(service.url + "/metrics", 0, "jupyter_duel_players_connected")
        finally:
            await anonymous.close()


async def test_clients_cannot_add_label_values(service, players):
    """A hostile client sends events under hundreds of made-up names, reserved names and frames that do not
    decode: they are counted as ``unknown``, and the metrics page keeps its bounded label sets (no series per
    name a client chose, which would grow the service's memory and every scrape)."""
    from edge_clients import RawWebSocket

    mallory = await players("mallory")
    names = [f"made_up_{i}" for i in range(200)] + ["constructor", "__proto__", "sync_code " * 50]
    for name in names:
        ack = await mallory.call(name, {})
        assert ack["error"]["code"] in ("unknown_event", "rate_limited")  # past the burst, refused sooner
    raw = await RawWebSocket(service.url).open()
    try:
        for frame in ('42["connect", {}]', '42[1, 2]', "42{not json", '42["x"' + "[" * 3000):
            await raw.send(frame)
            assert (await raw.event("error"))["code"] in ("unknown_event", "invalid_frame", "rate_limited")
    finally:
        await raw.close()
    _, samples = scrape(service.url + "/metrics")
    events = {dict(labels)["event"] for name, labels in samples if name == "jupyter_duel_events_received_total"}
    codes = {dict(labels)["code"] for name, labels in samples if name == "jupyter_duel_event_errors_total"}
    assert events == {*protocol.INCOMING, "unknown"}
    assert codes == set(protocol.ERROR_CODES)
    assert value(samples, "jupyter_duel_events_received_total", event="unknown") == len(names) + 4
    refused = sum(value(samples, "jupyter_duel_event_errors_total", code=code)
                  for code in ("unknown_event", "invalid_frame", "rate_limited"))
    assert refused == len(names) + 4
