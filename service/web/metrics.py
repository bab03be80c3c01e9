"""Prometheus metrics: requests by endpoint and status, and their latency.

Under gunicorn every worker is its own process, so the values live in files in
PROMETHEUS_MULTIPROC_DIR (a tmpfs, set by the gunicorn config) and /metrics sums them.
"""

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from service.web.responses import uncacheable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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


# each label set's counter and histogram, looked up once: labels() validates its
# arguments on every call. Bounded, as the label values are.
CHILDREN: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def children(endpoint: str, method: str, status: str) -> tuple[Counter, Histogram]:
    key = (endpoint, method, status)
    found = CHILDREN.get(key)
    if found is None:
        found = CHILDREN[key] = (
            REQUESTS.labels(endpoint, method, status),
            LATENCY.labels(endpoint),
        )
    return found


class RequestMetrics:
    """WSGI middleware around the Flask app: counts and times every request.

    One wrapper instead of a before_request and an after_request hook, each of which
    Flask dispatches (and checks for a coroutine) on every request. The route is read
    when the response starts, from the request werkzeug keeps in the environ
    (`werkzeug.request`, there until Flask's request context ends): looked up through
    Flask's `request` proxy it cost about 7,000 instructions a request.
    """

    def __init__(self, wsgi_app: "WSGIApplication") -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: list[tuple[str, str]] = []

        def recording_start_response(status: str, *args: Any) -> Any:
            # None where the app answered without a request (HeadRules' copy of the environ)
            answered = environ.get("werkzeug.request")
            rule = answered.url_rule if answered is not None else None
            seen.append((rule.rule if rule is not None else UNMATCHED, status))
            return start_response(status, *args)

        body = self.wsgi_app(environ, recording_start_response)
        endpoint, status = seen[0] if seen else (UNMATCHED, "500")
        method = environ["REQUEST_METHOD"]
        counter, latency = children(
            endpoint, method if method in METHODS else OTHER_METHOD, status.partition(" ")[0]
        )
        counter.inc()
        latency.observe(time.perf_counter() - started)
        return body


def init_app(app: Flask) -> None:
    """Count and time every request, and serve the values at /metrics."""
    registry = collecting_registry()

    def metrics() -> Response:
        return uncacheable(Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST))

    app.add_url_rule("/metrics", view_func=metrics, methods=["GET"])
    app.wsgi_app = RequestMetrics(app.wsgi_app)  # type: ignore[method-assign]
