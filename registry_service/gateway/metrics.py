"""Prometheus metrics of the gateway, one registry per application.

A registry per app (not prometheus_client's global one) lets tests and benchmarks run several
gateways in one process. The hot path never touches a metric per event: the core counts a
batch into plain Counters and ``observe_batch`` adds them up once per request.

Labels are bounded: ``reason`` is the documented taxonomy, ``producer`` a write key's name
(keys are created by an operator), versions come from the registry, channels and platforms
from the classifier's enums.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "BatchStats", "GatewayMetrics"]


@dataclass
class BatchStats:
    """What one request did, counted by the core (cheap) and published by GatewayMetrics."""

    accepted: Counter[tuple[str, str]] = field(default_factory=Counter)  # (producer, origin)
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, producer)
    upcasts: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (event, from, to)
    classifications: Counter[tuple[str, str]] = field(default_factory=Counter)


class GatewayMetrics:
    """The gateway's metrics; ``render`` gives the Prometheus text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.accepted = PromCounter(
            "refract_gateway_events_accepted",
            "Events accepted and written to the events stream.",
            ["producer", "origin"],
            registry=r,
        )
        self.rejected = PromCounter(
            "refract_gateway_events_rejected",
            "Events (or whole requests) rejected and written to the dead-letter stream.",
            ["reason", "producer"],
            registry=r,
        )
        self.unauthorized = PromCounter(
            "refract_gateway_unauthorized_requests",
            "Requests refused with 401 before their body was read (nothing is written for "
            "them: a counter and a log line are all an unauthenticated request costs).",
            ["origin"],
            registry=r,
        )
        self.upcasts = PromCounter(
            "refract_gateway_upcasts",
            "Events upcast to the newest version of their contract.",
            ["event", "from_version", "to_version"],
            registry=r,
        )
        self.classifications = PromCounter(
            "refract_gateway_classifications",
            "Referral classifications of accepted events.",
            ["channel", "ai_platform"],
            registry=r,
        )
        self.sink_latency = Histogram(
            "refract_gateway_sink_latency_seconds",
            "Time for the stream to durably accept one request's records.",
            ["stream"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.sink_failures = PromCounter(
            "refract_gateway_sink_failures",
            "put() calls the stream refused (the request was answered 503).",
            ["stream"],
            registry=r,
        )
        self.batch_size = Histogram(
            "refract_gateway_batch_events",
            "Events per request.",
            ["origin"],
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
            registry=r,
        )
        self.request_bytes = Histogram(
            "refract_gateway_request_bytes",
            "Request body size after decompression.",
            buckets=(1024, 4096, 16384, 65536, 262144, 1048576, 4194304),
            registry=r,
        )

    def observe_batch(self, stats: BatchStats, origin: str, size: int) -> None:
        self.batch_size.labels(origin).observe(size)
        for (producer, org), n in stats.accepted.items():
            self.accepted.labels(producer, org).inc(n)
        for (reason, producer), n in stats.rejected.items():
            self.rejected.labels(reason, producer).inc(n)
        for (event, old, new), n in stats.upcasts.items():
            self.upcasts.labels(event, old, new).inc(n)
        for (channel, platform), n in stats.classifications.items():
            self.classifications.labels(channel, platform).inc(n)

    def reject(self, reason: str, producer: str, count: int = 1) -> None:
        self.rejected.labels(reason, producer).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
