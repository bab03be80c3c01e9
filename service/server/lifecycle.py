"""Whether this worker is draining: it has been told to stop and is handing over.

The worker class sets it on SIGTERM (service/server/worker.py); /readyz reads it, so that
an orchestrator takes the server out of rotation while it still serves.
"""

_draining = False


def start_draining() -> None:
    global _draining  # one flag per worker process, by design
    _draining = True


def is_draining() -> bool:
    return _draining
