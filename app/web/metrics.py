"""Prometheus metrics: webhook latency from each worker, the service's state from the database.

State (messages by status, queues, backlog, heartbeats) is read from the database at
scrape time by a custom collector, so it is the same whichever node is scraped and no
code path has to remember to count. Webhook latency is a histogram; under gunicorn set
PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py does) and every worker's observations
are merged at scrape time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from werkzeug.wrappers import Response

from app.clock import Clock
from app.data.db import Database
from app.services import status
from app.settings import Settings

# Twilio gives up after 15 s; the buckets resolve the 10-100 ms the webhook should take
WEBHOOK_SECONDS = Histogram(
    "nudge_webhook_seconds",
    "Time to answer Twilio's webhooks (inbound SMS, status callbacks)",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
    registry=None,
)


class StateCollector(Collector):
    """The database's view of the service, read on each scrape."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        snap = status.snapshot(
            self.db, now=self.clock.now(), max_heartbeat_age=status.heartbeat_max_age(self.settings)
        )
        ready = snap.readiness
        yield _gauge("nudge_ready", "1 when /readyz would answer 200", int(ready.ready))
        yield _gauge("nudge_database_up", "1 when the database answers", int(ready.database))
        yield _gauge(
            "nudge_migrations_at_head",
            "1 when the schema is the one the code expects",
            int(ready.migrations_at_head),
        )
        yield _gauge(
            "nudge_scheduler_alive",
            "Scheduler processes whose heartbeat is recent",
            sum(1 for h in snap.heartbeats if h.alive),
        )
        beats = GaugeMetricFamily(
            "nudge_scheduler_heartbeat_age_seconds",
            "Seconds since each scheduler process last beat",
            labels=["worker_id"],
        )
        for h in snap.heartbeats:
            beats.add_metric([h.worker_id], h.age_seconds)
        yield beats
        if not ready.migrations_at_head:
            return
        by_status = GaugeMetricFamily(
            "nudge_messages", "Outbound messages by status", labels=["status"]
        )
        for name, count in sorted(snap.messages_by_status.items()):
            by_status.add_metric([name], count)
        yield by_status
        yield CounterMetricFamily(
            "nudge_messages_sent", "Messages handed to the provider", value=snap.sent_total
        )
        yield _gauge(
            "nudge_send_rate_per_second",
            f"Messages handed to the provider per second over the last "
            f"{status.SEND_RATE_WINDOW.total_seconds():.0f} s",
            snap.send_rate_per_second,
        )
        yield _gauge(
            "nudge_oldest_queued_age_seconds",
            "Age of the oldest message due to be sent and still queued (0 when none)",
            snap.oldest_queued_age_seconds or 0.0,
        )
        yield _gauge(
            "nudge_replies_backlog", "Stored inbound texts not yet acted on", snap.replies_backlog
        )
        yield _gauge(
            "nudge_replies_lag_seconds",
            "Age of the oldest inbound text not yet acted on (0 when none)",
            snap.replies_lag_seconds or 0.0,
        )
        yield _gauge(
            "nudge_uncertain_messages",
            "Messages whose fate after a dispatcher crash is unknown (staff decide)",
            snap.uncertain,
        )
        errors = GaugeMetricFamily(
            "nudge_provider_errors",
            "Outbound messages carrying each provider error code",
            labels=["code"],
        )
        for code, count in sorted(snap.provider_errors_by_code.items()):
            errors.add_metric([code], count)
        yield errors
        yield CounterMetricFamily(
            "nudge_sign_in_failures", "Failed staff sign-ins", value=snap.sign_in_failures
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def exposition(db: Database, clock: Clock, settings: Settings) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(WEBHOOK_SECONDS)
    registry.register(StateCollector(db, clock, settings))
    return generate_latest(registry)


def allowed(config: Mapping[str, Any], authorization: str, remote_addr: str | None) -> bool:
    """A scrape needs the METRICS_TOKEN as a bearer token, or to come from one of the
    METRICS_ALLOWED_NETWORKS; with neither set, /metrics is closed."""
    token = str(config.get("METRICS_TOKEN") or "")
    offered = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else ""
    if token and offered and hmac.compare_digest(offered.encode(), token.encode()):
        return True
    networks = _networks(config.get("METRICS_ALLOWED_NETWORKS"))
    if not networks or not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _networks(value: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("metrics_started")
    if request.blueprint == "webhooks" and started is not None:
        WEBHOOK_SECONDS.labels(request.endpoint or "unknown").observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    _networks(app.config.get("METRICS_ALLOWED_NETWORKS"))  # a bad network fails at start
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)
