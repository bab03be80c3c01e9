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

from service.server.connection import Connection
from service.server.hub import Watched, read_now

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

    __slots__ = ("connection", "left", "lingerer", "sock", "taken")

    def __init__(
        self, lingerer: "Lingerer", connection: Connection, sock: socket.socket, left: int
    ) -> None:
        self.lingerer, self.connection, self.sock = lingerer, connection, sock
        self.taken = time.monotonic()
        # what may still be read: the rest of the body, never past the bound
        self.left = min(left, DISCARD_BYTES)

    def evict(self) -> None:
        # its answer is sent: nothing to tell the client
        self.lingerer.drop(self)


class Lingerer:
    """A worker's lingering connections, oldest first."""

    def __init__(self, timeout: float) -> None:
        # each closed at its deadline, one each CLOSE_EVERY: each would come back at once
        # as a request (server/deadlines.py)
        self.held: Watched[Lingering] = Watched(
            lambda lingering: lingering.taken, timeout, self.drop, CLOSE_EVERY
        )

    def take(self, connection: Connection, fd: int, left: int) -> None:
        """Hold `connection`, answered, on `fd` while `left` more bytes of its body come,
        within DISCARD_BYTES and the timeout."""
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        lingering = Lingering(self, connection, sock, left)
        connection.linger(lingering)
        self.held.hold(lingering, fd, self._readable)
        # what came with the answer is there now
        self._readable(lingering)

    def _readable(self, lingering: Lingering) -> None:
        chunk = read_now(lingering.sock, min(READ_BYTES, lingering.left))
        if chunk is None:
            return
        lingering.left -= len(chunk)
        if not chunk or lingering.left <= 0:
            # gone, or its body (or all we read of one) has come
            self.drop(lingering)

    def drop(self, lingering: Lingering) -> None:
        # a second drop (evicted, then its deadline) changes nothing
        self.held.release(lingering)
        lingering.connection.close()
        lingering.sock.close()

    def let_go(self) -> None:
        """The worker stops: close every lingering connection (each has had its answer)."""
        for lingering in self.held:
            self.drop(lingering)
