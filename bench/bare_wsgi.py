"""The ceiling for any Python framework on this server: a bare WSGI callable.

It answers what `GET /` answers, reading the file anew each time, with nothing else:
no routing, negotiation, headers beyond the content type, or metrics. The harness
runs it in our image under the same gunicorn config, in place of the app.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any

STATUS_PATH = os.environ.get("IBDEVSERVER_STATUS_PATH", "/proc/1/status")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    with open(STATUS_PATH, "rb") as status_file:
        body = status_file.read()
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
