"""gunicorn settings, shared by the image and a developer's shell.

gunicorn -c python:service.gunicorn_conf
"""

import math
import os
import shutil
import tempfile
from typing import Any

from service.settings import DEFAULT_PORT, drain_seconds, env_flag, env_int, env_text

wsgi_app = "service.app:create_app()"

# every interface by default: inside a container that is the only way in
HOST = env_text("IBDEVSERVER_HOST", "0.0.0.0")  # noqa: S104
PORT = env_int("IBDEVSERVER_PORT", DEFAULT_PORT, minimum=1)
bind = [f"{HOST}:{PORT}"]
workers = env_int("IBDEVSERVER_WORKERS", 2, minimum=1)
# gevent: a connection waiting on a slow or idle client costs a greenlet, not a
# thread or a worker (docs/decisions.md); our subclass adds the head deadline,
# the fairness yield and the access-log flushing (service/worker.py)
worker_class = "service.worker.Worker"
worker_connections = env_int("IBDEVSERVER_WORKER_CONNECTIONS", 1000, minimum=1)

# the heartbeat file lives in memory: a disk-backed /tmp can stall it, and the
# root filesystem may be read-only
worker_tmp_dir = "/dev/shm"  # noqa: S108 (a tmpfs, by design)
# a control socket would need a writable home; nothing here uses it
control_socket_disable = True

timeout = 30
# once a worker stops serving, how long its requests in flight may take to finish
REQUEST_GRACE_SECONDS = 10
# on SIGTERM a worker first drains this long: /readyz fails, serving goes on
DRAIN_SECONDS = drain_seconds()
# how long the master waits for its workers after SIGTERM before killing them
# (gunicorn takes whole seconds)
graceful_timeout = math.ceil(DRAIN_SECONDS) + REQUEST_GRACE_SECONDS
# how long a kept-alive connection may idle before its next request; the
# request head then has IBDEVSERVER_HEADER_TIMEOUT (service/worker.py)
keepalive = 5

# request-size limits (gunicorn's defaults, made explicit)
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# on by default; off only to measure what it costs (python -m bench)
accesslog = "-" if env_flag("IBDEVSERVER_ACCESS_LOG", True) else None
# the common log format plus the time taken and the worker that answered
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus pid=%(p)s'
errorlog = "-"
# buffers the access log (service/access_log.py says why)
logger_class = "service.access_log.BufferedAccessLogger"
loglevel = env_text("IBDEVSERVER_LOG_LEVEL", "info")

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


def on_exit(server: Any) -> None:
    """Remove the metrics directory if on_starting made it."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.basename(directory).startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
