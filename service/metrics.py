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

from service.errors import uncacheable

# Every label value comes from a fixed set, so no client can mint series: the
# method from this list (else "other"), the endpoint from the route table (else
# "unmatched"), the status from the app's own answers.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"))
OTHER_METHOD = "other"
UNMATCHED = "unmatched"
# the app answers most requests in well under a millisecond: buckets from 100 µs
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip

REQUESTS = Counter(
    "ibdevserver_http_requests_total",
    "HTTP requests answered, by endpoint, method and status code.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "ibdevserver_http_request_duration_seconds",
    "Time from the request reaching the app to the response leaving it.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
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


# each label set's counter and histogram, looked up once: labels() validates its
# arguments on every call. Bounded, as the label values are.
CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def children(endpoint: str, method: str, status: int) -> tuple[Counter, Histogram]:
    key = (endpoint, method, status)
    found = CHILDREN.get(key)
    if found is None:
        found = CHILDREN[key] = (
            REQUESTS.labels(endpoint, method, str(status)),
            LATENCY.labels(endpoint),
        )
    return found


def record_request(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
    method = request.method if request.method in METHODS else OTHER_METHOD
    counter, latency = children(endpoint, method, response.status_code)
    counter.inc()
    latency.observe(time.perf_counter() - g.request_started)
    return response


def init_app(app: Flask) -> None:
    """Count and time every request, and serve the values at /metrics."""
    registry = collecting_registry()

    def metrics() -> Response:
        return uncacheable(Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST))

    app.add_url_rule("/metrics", view_func=metrics, methods=["GET"])
    app.before_request(start_timer)
    app.after_request(record_request)
