"""Answered connections whose request body is still on its way, held in the hub (issue 25).

No endpoint reads a body, so a request that declares one is answered from its head
(`Connection: close`). Closing at once would let a slow-body (R.U.D.Y.) client
reconnect at once, and each reconnection is a whole request the app answers: a flood
of slow bodies would become a flood of requests. Go's net/http instead reads and drops
up to 256 KiB of what is left, and nginx's lingering close does the same for a bounded
time. Here such a connection leaves its greenlet: the hub reads and drops what arrives,
as the head gate (service/server/gate.py) reads a head, until the body has come (its
declared length), DISCARD_BYTES have been dropped, the client closes, the slots
evict it, or `body_timeout` has passed since its answer. Then it is closed.
"""

import socket
import time
from typing import Any

import gevent

from service.server.deadlines import sweep
from service.server.slots import Slots

# what one connection's body may cost in reads before it is closed, as Go's
# maxPostHandlerReadBytes
DISCARD_BYTES = 256 * 1024
# one read's most
READ_BYTES = 65536
# the deadline's closes are paced: a slow-body client whose connection is closed comes
# back at once with a whole request for the app, so at most 100 a second a worker
CLOSE_EVERY = 0.01


class Lingering:
    """One answered connection whose body is being read and dropped."""

    __slots__ = ("left", "lingerer", "sock", "taken", "watcher")

    def __init__(self, lingerer: "Lingerer", sock: socket.socket, left: int) -> None:
        self.lingerer, self.sock = lingerer, sock
        self.taken = time.monotonic()
        # what may still be read: the rest of the body, never past the bound
        self.left = min(left, DISCARD_BYTES)
        # set by take() before anything reads it
        self.watcher: Any = None  # pragma: no mutate

    def evict(self) -> None:
        # its answer is sent: nothing to tell the client
        self.lingerer.drop(self)


class Lingerer:
    """A worker's lingering connections, oldest first."""

    def __init__(self, slots: Slots, timeout: float) -> None:
        self.slots = slots
        self.timeout = timeout
        self._held: dict[Lingering, None] = {}
        self._sweeper: Any = None

    def take(self, fd: int, left: int) -> None:
        """Hold the answered connection on `fd` while `left` more bytes of its body come,
        within DISCARD_BYTES and the timeout."""
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        lingering = Lingering(self, sock, left)
        self._held[lingering] = None  # pragma: no mutate (a dict as an ordered set)
        self.slots.lingering(lingering)
        if self._sweeper is None or self._sweeper.dead:
            self._sweeper = gevent.spawn(self._sweep)
        lingering.watcher = gevent.get_hub().loop.io(fd, 1)
        lingering.watcher.start(self._readable, lingering)
        # what came with the answer is there now
        self._readable(lingering)

    def _readable(self, lingering: Lingering) -> None:
        try:
            chunk = lingering.sock.recv(min(READ_BYTES, lingering.left))
        except BlockingIOError:
            return
        except OSError:
            # gone (after a reset the next read sees the end anyway: equivalent mutants)
            chunk = b""  # pragma: no mutate
        lingering.left -= len(chunk)
        if not chunk or lingering.left <= 0:
            # gone, or its body (or all we read of one) has come
            self.drop(lingering)

    def drop(self, lingering: Lingering) -> None:
        if lingering in self._held:
            del self._held[lingering]
            lingering.watcher.close()
            self.slots.closed(lingering)
            lingering.sock.close()

    def let_go(self) -> None:
        """The worker stops: close every lingering connection (each has had its answer)."""
        for lingering in list(self._held):
            self.drop(lingering)

    def _sweep(self) -> None:
        """Close each connection whose deadline has passed, oldest first, one each
        CLOSE_EVERY: each would come back at once as a request (server/deadlines.py)."""
        sweep(self._held, lambda lingering: lingering.taken, self.timeout, self.drop, CLOSE_EVERY)
