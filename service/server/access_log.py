"""gunicorn's logger, with a buffered access log like nginx's `access_log ... buffer= flush=`.

gunicorn hands every access line to Python's logging, which formats a record and
makes a system call per request into the container's log pipe. Here each line is
formatted straight into a buffer (the same line gunicorn would log: its atoms, its
`access_log_format`), written out when it fills, by the worker while it idles
(service/server/worker.py), and when the process exits.

Every worker writes into the same stdout pipe, and a pipe write is atomic only up
to PIPE_BUF bytes, so the buffer goes out in chunks of whole lines no larger than
that; a line longer than PIPE_BUF is cut to fit. A worker killed with SIGKILL loses
at most one buffer of its access log; the error log is not buffered.
"""

import atexit
import os
import re
import select
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from gunicorn.glogging import Logger

BUFFER_BYTES = 64 * 1024
PIPE_BUF = select.PIPE_BUF
CUT_MARK = b"...\n"


# the `p` atom, made once per process rather than with a getpid call per line
PROCESS = [f"<{os.getpid()}>"]
os.register_at_fork(after_in_child=lambda: PROCESS.__setitem__(0, f"<{os.getpid()}>"))
Atom = Callable[["BufferedAccessLogger", Any, dict[str, Any], Any], object]
# gunicorn's atoms (glogging.Logger.atoms) that a line can be made of without building
# all of them: gunicorn's atoms() also copies every header and environ entry, per line
CHEAP_ATOMS: dict[str, Atom] = {
    "h": lambda log, resp, environ, took: environ.get("REMOTE_ADDR", "-"),
    "l": lambda log, resp, environ, took: "-",
    "u": lambda log, resp, environ, took: log._get_user(environ) or "-",  # type: ignore[attr-defined]
    "t": lambda log, resp, environ, took: log.now(),
    "r": lambda log, resp, environ, took: (
        f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
    ),
    "s": lambda log, resp, environ, took: (
        resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
    ),
    "b": lambda log, resp, environ, took: (
        (getattr(resp, "sent", None) is not None and str(resp.sent)) or "-"
    ),
    "f": lambda log, resp, environ, took: environ.get("HTTP_REFERER", "-"),
    "a": lambda log, resp, environ, took: environ.get("HTTP_USER_AGENT", "-"),
    "D": lambda log, resp, environ, took: took.seconds * 1000000 + took.microseconds,
    "p": lambda log, resp, environ, took: PROCESS[0],
}
FORMAT_KEYS = re.compile(r"%\(([^)]+)\)")


def line_aligned_chunks(lines: list[bytes], limit: int = PIPE_BUF) -> list[bytes]:
    """Join `lines` (each ending in a newline) into chunks of whole lines, each at most `limit`."""
    chunks: list[bytes] = []
    current = bytearray()
    for line in lines:
        if len(line) > limit:
            line = line[: limit - len(CUT_MARK)] + CUT_MARK
        if len(current) + len(line) > limit:
            chunks.append(bytes(current))
            current.clear()
        current += line
    if current:
        chunks.append(bytes(current))
    return chunks


def write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


class BufferedAccessLogger(Logger):
    """gunicorn's Logger, but an access log on stdout goes through a buffer of its own."""

    access_fd: int | None = None
    access_format = ""
    # the atoms the format uses, when all are cheap; else gunicorn's full atoms()
    cheap_atoms: dict[str, Atom] | None = None
    # the Common Log Format time, made once a second rather than once a line
    clock: tuple[int, str] = (-1, "")

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # read once here (and again on a reload), not on every request
        self.access_format = cfg.access_log_format
        keys = set(FORMAT_KEYS.findall(self.access_format))
        self.cheap_atoms = (
            {key: CHEAP_ATOMS[key] for key in keys} if keys <= CHEAP_ATOMS.keys() else None
        )
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        if cfg.accesslog == "-":
            self.access_fd = sys.stdout.fileno()
            # setup runs again on every reload: register the exit flush once
            atexit.unregister(self.flush_access_log)
            atexit.register(self.flush_access_log)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if self.access_fd is None:
            super().access(resp, req, environ, request_time)
            return
        try:
            line = (self.format_line(resp, req, environ, request_time) + "\n").encode(
                "utf-8", "backslashreplace"
            )
        except Exception:
            self.error(traceback.format_exc())
            return
        self.pending.append(line)
        self.pending_bytes += len(line)
        if self.pending_bytes >= BUFFER_BYTES:
            self.flush_access_log()

    def format_line(self, resp: Any, req: Any, environ: Any, request_time: Any) -> str:
        """The line gunicorn would log, making only the atoms the format uses."""
        if self.cheap_atoms is None:
            raw_atoms = self.atoms(resp, req, environ, request_time)
            # the stubs call the atoms a TypedDict, SafeAtoms wants a dict: both are dicts
            return self.access_format % self.atoms_wrapper_class(raw_atoms)  # type: ignore[arg-type]
        atoms = {}
        for key, make in self.cheap_atoms.items():
            value = make(self, resp, environ, request_time)
            # as gunicorn's SafeAtoms: a quote in a value must not end a quoted field
            atoms[key] = value.replace('"', '\\"') if isinstance(value, str) else value
        return self.access_format % atoms

    def now(self) -> str:
        second = int(time.time())
        if self.clock[0] != second:
            self.clock = (second, super().now())
        return self.clock[1]

    def flush_access_log(self) -> None:
        """Write the buffered lines out, in whole-line chunks of at most PIPE_BUF bytes."""
        if self.access_fd is None or not self.pending:
            return
        lines, self.pending, self.pending_bytes = self.pending, [], 0
        for chunk in line_aligned_chunks(lines):
            write_all(self.access_fd, chunk)
