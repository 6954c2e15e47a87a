"""The service's Prometheus metrics, served at ``{base_path}metrics`` (``rest.MetricsHandler``).

Each ``DuelService`` owns one ``ServiceMetrics`` with a registry of its own (never prometheus_client's global
default registry), so two services in one process (tests, an embedding host) keep apart. What is counted as it
happens: the relay's latency, judging (duration and verdict), every ``error`` event sent, every client event
received. What is a state (players connected, queue sizes, running battles) is read from the service when
Prometheus scrapes, so nothing has to keep it up to date. ``docs/hosting.md`` (Operations) lists every metric.

The relay is the hot path (thousands of edits a second): it costs one histogram ``observe`` per relayed edit,
and each received event one increment of a plain dict entry, turned into a counter only when scraped.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from . import protocol
from .matchmaker import POOLS

if TYPE_CHECKING:
    from .judge import CustomRunReport, Judge, JudgeReport
    from .service import DuelService

__all__ = ["CONTENT_TYPE", "JUDGE_KINDS", "MeteredJudge", "ServiceMetrics"]

#: The Content-Type of the exposition: the text format 0.0.4, which every Prometheus version reads (the metrics'
#: names need nothing newer).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Relay latency buckets, in seconds: 0.1 ms to 500 ms (a relayed edit normally takes well under a millisecond).
RELAY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)

#: Judging buckets, in seconds: a sample run takes a fraction of a second, a full submission up to the time limits.
JUDGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

#: What a judge run was: ``run_samples`` (samples), ``submit_code`` (submit), ``run_custom`` (custom).
JUDGE_KINDS = ("samples", "submit", "custom")

#: Every verdict a judge run may end with (``protocol.Verdict``, ``CustomResult.verdict``), and ``judge_error``
#: when the runner itself failed. Anything else is counted as ``other``: the label set stays bounded.
VERDICTS = frozenset(["AC", "WA", "TLE", "MLE", "RE", "OLE", "CE", "REFUSED", "OK", "judge_error"])

#: Label of events received whose name is not an event of the protocol (and of frames refused before decoding).
UNKNOWN_EVENT = "unknown"


class ServiceMetrics:
    """Every metric of one service, and its registry."""

    def __init__(self, service: "DuelService"):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.relay_latency = Histogram(
            "jupyter_duel_relay_latency_seconds",
            "Time from the service receiving a sync_code to handing the opponent_code to the transport (live "
            "mirror).",
            buckets=RELAY_BUCKETS, registry=self.registry,
        )
        self.judge_duration = Histogram(
            "jupyter_duel_judge_duration_seconds",
            "Time one judge run took, from its start to its report, by kind (samples, submit, custom).",
            ["kind"], buckets=JUDGE_BUCKETS, registry=self.registry,
        )
        self.judge_outcomes = Counter(
            "jupyter_duel_judge_outcomes",
            "Judge runs ended, by kind and verdict (judge_error: the runner itself failed).",
            ["kind", "verdict"], registry=self.registry,
        )
        self.event_errors = Counter(
            "jupyter_duel_event_errors",
            "error events sent to clients, by error code (protocol.ERROR_CODES).",
            ["code"], registry=self.registry,
        )
        for kind in JUDGE_KINDS:
            self.judge_duration.labels(kind)
        for code in protocol.ERROR_CODES:
            self.event_errors.labels(code)
        # Received events: a dict entry per protocol event (bounded), incremented on the hot path.
        self.received: dict[str, int] = dict.fromkeys([*protocol.INCOMING, UNKNOWN_EVENT], 0)
        self.registry.register(_ServiceCollector(self))

    # ------------------------------------------------------------ what the service reports

    def event_received(self, event) -> None:
        """Count one client event (any name; a name outside the protocol counts as ``unknown``)."""
        received = self.received
        if type(event) is str and event in received:
            received[event] += 1
        else:
            received[UNKNOWN_EVENT] += 1

    def error_sent(self, code: str) -> None:
        """Count one ``error`` event sent."""
        self.event_errors.labels(code if code in protocol.ERROR_CODES else "other").inc()

    def relayed(self, received_at: float) -> None:
        """One edit received at ``received_at`` (``time.perf_counter``) was handed to the transport now."""
        self.relay_latency.observe(time.perf_counter() - received_at)

    def judged(self, kind: str, verdict: str, seconds: float) -> None:
        """One judge run of ``kind`` ended with ``verdict`` after ``seconds``."""
        self.judge_duration.labels(kind).observe(seconds)
        self.judge_outcomes.labels(kind, verdict if verdict in VERDICTS else "other").inc()

    # ------------------------------------------------------------ the exposition

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


class _ServiceCollector(Collector):
    """The metrics read from the service at scrape time: players, queues, battles, and received events."""

    def __init__(self, metrics: ServiceMetrics):
        self.metrics = metrics

    def describe(self) -> Iterable:
        """The metrics' names, for the registry's check of duplicates (the service's rooms may not exist yet)."""
        yield GaugeMetricFamily("jupyter_duel_players_connected", "")
        yield GaugeMetricFamily("jupyter_duel_queue_size", "", labels=["pool"])
        yield GaugeMetricFamily("jupyter_duel_battles_running", "")
        yield CounterMetricFamily("jupyter_duel_events_received", "", labels=["event"])

    def collect(self) -> Iterable:
        service = self.metrics.service
        yield GaugeMetricFamily("jupyter_duel_players_connected", "Players with at least one open connection.",
                                value=service.accounts.online())
        queue = GaugeMetricFamily("jupyter_duel_queue_size", "Players waiting for an opponent, by pool.",
                                  labels=["pool"])
        sizes = service.matchmaker.sizes()
        for pool in POOLS:
            queue.add_metric([pool], sizes.get(pool, 0))
        yield queue
        yield GaugeMetricFamily("jupyter_duel_battles_running", "Battles running (countdown included).",
                                value=service.battles.count())
        received = CounterMetricFamily(
            "jupyter_duel_events_received",
            "Client events received, by event name (unknown: a name outside the protocol, or a refused frame).",
            labels=["event"],
        )
        for event, count in self.metrics.received.items():
            received.add_metric([event], count)
        yield received


class MeteredJudge:
    """The judge as the battle room uses it, timing every run and counting its verdict in ``metrics``.

    Everything else is the wrapped judge's own (attributes pass through)."""

    def __init__(self, judge: "Judge", metrics: ServiceMetrics):
        self._judge, self._metrics = judge, metrics

    def __getattr__(self, name):
        return getattr(self._judge, name)

    async def judge(self, *args, samples_only: bool = False, **kwargs) -> "JudgeReport":
        return await self._timed("samples" if samples_only else "submit",
                                 self._judge.judge(*args, samples_only=samples_only, **kwargs))

    async def run_custom(self, *args, **kwargs) -> "CustomRunReport":
        return await self._timed("custom", self._judge.run_custom(*args, **kwargs))

    async def _timed(self, kind: str, run):
        started = time.perf_counter()
        try:
            report = await run
        except Exception:  # the runner failed (a cancelled run, the service closing, is not counted)
            self._metrics.judged(kind, "judge_error", time.perf_counter() - started)
            raise
        self._metrics.judged(kind, report.verdict, time.perf_counter() - started)
        return report
