"""Connections the hub holds without a greenlet: the head gate's and the lingerer's.

Each mechanism keeps its own Watched: a read watcher a connection, which the hub
calls when it is readable, and one deadline sweep over them all, oldest first
(service/server/deadlines.py).
"""

import socket
from collections.abc import Callable, Iterator
from typing import Any, Generic

import gevent

from service.server.deadlines import Held, sweep


def read_now(sock: socket.socket, size: int) -> bytes | None:
    """Up to `size` bytes that have come on non-blocking `sock`: None if none has yet,
    b"" if the client is gone."""
    try:
        return sock.recv(size)
    except BlockingIOError:
        return None
    except OSError:
        # gone (after a reset the next read sees the end anyway: equivalent mutants)
        return b""  # pragma: no mutate


class Watched(Generic[Held]):
    """What the hub holds for one mechanism, oldest first, under one deadline."""

    def __init__(
        self,
        since: Callable[[Held], float],
        timeout: float,
        expire: Callable[[Held], None],
        pace: float,
    ) -> None:
        self._timeout = timeout
        self._since, self._expire, self._pace = since, expire, pace
        # each held with its read watcher; insertion order is the order of deadlines
        self._watchers: dict[Held, Any] = {}
        self._sweeper: Any = None

    def hold(self, held: Held, fd: int, readable: Callable[[Held], None]) -> None:
        """Watch `fd` for `held`: `readable(held)` each time it is readable, until released."""
        if self._sweeper is None or self._sweeper.dead:
            self._sweeper = gevent.spawn(self._sweep)
        # read readiness only: a write watcher would fire at once and forever
        watcher = gevent.get_hub().loop.io(fd, 1)
        self._watchers[held] = watcher
        watcher.start(readable, held)

    def release(self, held: Held) -> None:
        """Stop watching `held`, if it is watched."""
        watcher = self._watchers.pop(held, None)
        if watcher is not None:
            watcher.close()

    def watcher(self, held: Held) -> Any:
        """The read watcher of `held`, or None once released."""
        return self._watchers.get(held)

    def __contains__(self, held: object) -> bool:
        return held in self._watchers

    def __iter__(self) -> Iterator[Held]:
        return iter(list(self._watchers))

    def __len__(self) -> int:
        return len(self._watchers)

    def _sweep(self) -> None:
        sweep(self._watchers, self._since, self._timeout, self._expire, self._pace)
