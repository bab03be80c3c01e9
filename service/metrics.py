"""Prometheus metrics: requests by endpoint and status, and their latency.

Under gunicorn every worker is its own process, so the values live in files in
PROMETHEUS_MULTIPROC_DIR (a tmpfs, set by the gunicorn config) and /metrics sums them.
"""

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "ibdevserver_http_requests_total",
    "HTTP requests answered, by endpoint, method and status code.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "ibdevserver_http_request_duration_seconds",
    "Time from the request reaching the app to the response leaving it.",
    ["endpoint"],
)


def collecting_registry() -> CollectorRegistry:
    """The registry that sees every worker's values, or this process's alone."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def start_timer() -> None:
    g.request_started = time.perf_counter()


def record_request(response: Response) -> Response:
    # the route's pattern, never the raw path: a client must not mint label values
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    LATENCY.labels(endpoint).observe(time.perf_counter() - g.request_started)
    return response


def init_app(app: Flask) -> None:
    """Count and time every request, and serve the values at /metrics."""
    registry = collecting_registry()

    def metrics() -> Response:
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", view_func=metrics, methods=["GET"])
    app.before_request(start_timer)
    app.after_request(record_request)
