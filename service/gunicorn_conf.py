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
# the common log format plus the time taken and the worker that answered
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus pid=%(p)s'
errorlog = "-"
# buffers the access log (service/access_log.py says why)
logger_class = "service.access_log.BufferedAccessLogger"
loglevel = os.environ.get("IBDEVSERVER_LOG_LEVEL", "info")

METRICS_DIR_PREFIX = "ibdevserver-metrics-"


def on_starting(server: Any) -> None:
    """Give the workers' metrics a fresh tmpfs directory before any worker starts.

    prometheus_client picks its multiprocess mode when a worker first imports it,
    from PROMETHEUS_MULTIPROC_DIR: a new directory here, or the given one emptied.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given is None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix=METRICS_DIR_PREFIX, dir="/dev/shm"
        )
        return
    os.makedirs(given, exist_ok=True)
    for entry in os.scandir(given):
        os.remove(entry.path)


def child_exit(server: Any, worker: Any) -> None:
    """Stop counting a dead worker's gauges (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics directory if on_starting made it."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.basename(directory).startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """Wait until every other connection that is ready has been served: fairness.

    Without it a keep-alive client that sends its next request at once is served
    again and again while the worker's other connections wait (p99 over a second at
    32 connections); `gevent.sleep(0)` only halved that, `gevent.idle()` brought p99
    within 2x of p50 (README, performance).
    """
    # imported here: the master must not import gevent before a worker patches
    import gevent

    gevent.idle()


def post_worker_init(worker: Any) -> None:
    """Start flushing the buffered access log, now that gevent runs this worker."""
    worker.log.flush_periodically()


def worker_exit(server: Any, worker: Any) -> None:
    """Write out the access lines still in the buffer."""
    worker.log.flush_access_log()
