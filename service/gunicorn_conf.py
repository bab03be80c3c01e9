"""gunicorn settings, shared by the image and a developer's shell.

gunicorn -c python:service.gunicorn_conf
"""

import functools
import gc
import importlib
import os
import shutil
import signal
import tempfile
from typing import Any

from gunicorn.workers.base import Worker as BaseWorker

from service.settings import Settings

SETTINGS = Settings.from_environ()

wsgi_app = "service.web.app:create_app()"

bind = [f"{SETTINGS.host}:{SETTINGS.port}"]
workers = SETTINGS.workers
# gevent: a connection waiting on a slow or idle client costs a greenlet, not a
# thread or a worker (docs/decisions.md); our subclass adds the head deadline,
# the fairness yield and the access-log flushing (service/server/worker.py)
worker_class = "service.server.worker.Worker"
worker_connections = SETTINGS.worker_connections

# the heartbeat file lives in memory: a disk-backed /tmp can stall it, and the
# root filesystem may be read-only
worker_tmp_dir = "/dev/shm"  # noqa: S108 (a tmpfs, by design)
# a control socket would need a writable home; nothing here uses it
control_socket_disable = True

timeout = 30
# how long the master waits for its workers after SIGTERM before killing them: the
# drain (/readyz fails, serving goes on), then the requests in flight
graceful_timeout = SETTINGS.graceful_timeout
# how long a kept-alive connection may idle before its next request; the
# request head then has IBDEVSERVER_HEADER_TIMEOUT (service/server/worker.py)
keepalive = 5

# request-size limits (gunicorn's defaults, made explicit)
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# on by default; off only to measure what it costs (python -m bench)
accesslog = "-" if SETTINGS.access_log else None
# the common log format plus the time taken and the worker that answered
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus pid=%(p)s'
errorlog = "-"
# buffers the access log (service/server/access_log.py says why)
logger_class = "service.server.access_log.BufferedAccessLogger"
loglevel = SETTINGS.log_level

METRICS_DIR_PREFIX = "ibdevserver-metrics-"
# what gevent's monkey.patch_all() imports in a worker as it starts (gunicorn's gevent
# worker patches there), less its own private modules: imported once in the master
# instead, so that the workers share them (tests/test_gunicorn_conf_fork.py holds the
# list to what patch_all imports)
GEVENT_PATCH_MODULES = (
    "_threading_local",
    "concurrent.futures.thread",
    "gevent.events",
    "gevent.local",
    "gevent.select",
    "gevent.selectors",
    "gevent.signal",
    "gevent.ssl",
    "gevent.subprocess",
    "gevent.thread",
    "gevent.threading",
    "gevent.time",
)


def on_starting(server: Any) -> None:
    """Give the workers' metrics a fresh tmpfs directory, then load the app before any fork.

    prometheus_client picks its multiprocess mode when the app first imports it,
    from PROMETHEUS_MULTIPROC_DIR: a new directory here, or the given one emptied.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given is None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix=METRICS_DIR_PREFIX, dir="/dev/shm"
        )
    else:
        os.makedirs(given, exist_ok=True)
        for entry in os.scandir(given):
            os.remove(entry.path)
    load_before_fork(server)
    os.register_at_fork(after_in_parent=functools.partial(release_signals, os.getpid()))


def load_before_fork(server: Any) -> None:
    """Load the app and what gevent's patching imports, once, in the master.

    gunicorn's preload_app, but after the metrics directory is set (gunicorn preloads
    before on_starting): every worker forked after shares these pages until it writes
    to them, where each would load its own copy (docs/decisions.md). As with
    preload_app, a HUP re-reads the config but not the app.
    """
    server.app.wsgi()
    for name in GEVENT_PATCH_MODULES:
        importlib.import_module(name)


def pre_fork(server: Any, worker: Any) -> None:
    """Freeze every object the master holds, and hold the signals a worker handles, just
    before it forks a worker.

    A frozen object is never visited by a collection, so a worker's collections do not
    write to the pages it shares with the master (Instagram's gc.freeze).

    The worker is born with those signals blocked, and takes any that came once its own
    handlers are set (Worker.init_signals). Until then a SIGTERM would run the master's
    handlers in the worker's copy and be lost: the master then waited out
    graceful_timeout (10 s) to stop a worker that was booting. The master takes its
    signals back as soon as the fork returns (release_signals).
    """
    gc.freeze()
    signal.pthread_sigmask(signal.SIG_BLOCK, BaseWorker.SIGNALS)


def release_signals(master: int) -> None:
    """After a fork, in the master: unblock what pre_fork held. A worker inherits this
    hook with the rest of the master, and its own forks leave its signals alone."""
    if os.getpid() == master:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, BaseWorker.SIGNALS)


def worker_exit(server: Any, worker: Any) -> None:
    """Unfreeze a worker's objects as it exits, so that its last collections free them.

    Left frozen, they outlive its modules: a logging handler's finalizer then takes a lock
    through gevent's patched get_ident, gone by then, and prints a traceback at every
    worker's exit.
    """
    gc.unfreeze()


def on_exit(server: Any) -> None:
    """Remove the metrics directory if on_starting made it."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.basename(directory).startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
