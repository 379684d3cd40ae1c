"""corral's Prometheus metrics, importable from any layer (it imports nothing of corral).

With several worker processes `corral serve` sets PROMETHEUS_MULTIPROC_DIR to
a private directory before the workers start, so each worker's values land in
files there and /metrics adds them up (prometheus_client's multiprocess mode).
In one process (tests, embedding) the default registry is used.

Labels are bounded: routes are path templates, never raw paths; outcomes and
reasons are fixed vocabularies chosen by the code that counts them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "corral_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "corral_http_request_duration_seconds",
    "Time from request start to the last byte of the answer, by method and route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge(
    "corral_http_requests_in_flight",
    "Requests the API workers hold now, counted against [api] max_concurrent_requests "
    "(per worker; health and metrics requests are not counted).",
    multiprocess_mode="livesum",
)
SCHEDULING_OUTCOMES = Counter(
    "corral_scheduling_outcomes",
    "Scheduling requests by outcome (selected, no_valid_host, error).",
    ["outcome"],
)
NO_VALID_HOST_REASONS = Counter(
    "corral_no_valid_host_reasons",
    "Hosts eliminated in requests that found no valid host, by the filter or "
    "resource that eliminated them.",
    ["reason"],
)
CLAIM_CONFLICTS = Counter(
    "corral_claim_conflicts",
    "Allocation claims that lost a generation race and were retried or given up.",
    ["outcome"],
)

DECISION_ROUNDS = Histogram(
    "corral_scheduler_round_size",
    "Single-instance requests decided together in one round ([scheduler] "
    "decision_round_size at most).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


def record_round(size: int) -> None:
    DECISION_ROUNDS.observe(size)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def set_requests_in_flight(count: int) -> None:
    HTTP_IN_FLIGHT.set(count)


def record_scheduling(outcome: str) -> None:
    SCHEDULING_OUTCOMES.labels(outcome).inc()


def record_no_valid_host(reasons: dict[str, int]) -> None:
    """`reasons`: filter or resource name -> hosts it eliminated."""
    for reason, hosts in reasons.items():
        NO_VALID_HOST_REASONS.labels(reason).inc(hosts)


def record_claim_conflict(outcome: str = "retried") -> None:
    CLAIM_CONFLICTS.labels(outcome).inc()


def exposition() -> tuple[bytes, str]:
    """The text exposition of every worker's metrics, and its content type."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live-gauge files (its counters stay counted)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        _multiprocess.mark_process_dead(pid, directory)


def _totals(metric: str, label: str) -> dict[str, float]:
    """A counter's value per `label`, added up over every worker (as /metrics shows it)."""
    directory = os.environ.get(MULTIPROC_ENV)
    registry: CollectorRegistry = REGISTRY
    if directory:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=directory)
    out: dict[str, float] = {}
    for family in registry.collect():
        if family.name != metric:
            continue
        for sample in family.samples:
            if sample.name == f"{metric}_total":
                key = sample.labels.get(label, "")
                out[key] = out.get(key, 0.0) + sample.value
    return out


def claim_conflicts() -> dict[str, float]:
    """corral_claim_conflicts_total by outcome, since the service started."""
    return _totals("corral_claim_conflicts", "outcome")


def scheduling_outcomes() -> dict[str, float]:
    """corral_scheduling_outcomes_total by outcome, since the service started."""
    return _totals("corral_scheduling_outcomes", "outcome")
