"""What a worker knows of its server: whether it is draining, and which process is the server.

The worker class sets both (service/server/worker.py): the drain flag on SIGTERM,
which /readyz reads so that an orchestrator takes the server out of rotation while
it still serves; the server's pid (gunicorn's master) at start, which /posture
reads, so that its checks describe this server and not whatever PID 1 is.
"""

import os

_draining = False
_server_pid: int | None = None


def start_draining() -> None:
    global _draining  # one flag per worker process, by design
    _draining = True


def is_draining() -> bool:
    return _draining


def serve_for(pid: int) -> None:
    """Record `pid` as the server this worker belongs to."""
    global _server_pid  # one value per worker process, by design
    _server_pid = pid


def server_pid() -> int:
    """The server's process: gunicorn's master under our worker, else this process."""
    return os.getpid() if _server_pid is None else _server_pid
