"""gunicorn settings, shared by the image and a developer's shell.

gunicorn -c python:service.gunicorn_conf
"""

import os
import shutil
import tempfile
from typing import Any

wsgi_app = "service.app:create_app()"

# every interface by default: inside a container that is the only way in
HOST = os.environ.get("IBDEVSERVER_HOST", "0.0.0.0")  # noqa: S104
PORT = int(os.environ.get("IBDEVSERVER_PORT", "9999"))
bind = [f"{HOST}:{PORT}"]
workers = int(os.environ.get("IBDEVSERVER_WORKERS", "2"))
# gevent: a connection waiting on a slow or idle client costs a greenlet, not a
# thread or a worker (sync and gthread stall behind 256 such clients; see README)
worker_class = "gevent"
worker_connections = int(os.environ.get("IBDEVSERVER_WORKER_CONNECTIONS", "1000"))

# the heartbeat file lives in memory: a disk-backed /tmp can stall it, and the
# root filesystem may be read-only
worker_tmp_dir = "/dev/shm"  # noqa: S108 (a tmpfs, by design)
# a control socket would need a writable home; nothing here uses it
control_socket_disable = True

timeout = 30
graceful_timeout = 10
keepalive = 5

# request-size limits (gunicorn's defaults, made explicit)
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("IBDEVSERVER_LOG_LEVEL", "info")

# metrics from every worker meet in one tmpfs directory, made fresh for each run;
# prometheus_client reads this when first imported, so it must be set before that
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="ibdevserver-metrics-",
        dir="/dev/shm",
    )
METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server: Any) -> None:
    """Drop the values a previous run left behind."""
    for entry in os.scandir(METRICS_DIR):
        os.remove(entry.path)


def child_exit(server: Any, worker: Any) -> None:
    """Stop counting a dead worker's gauges (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
