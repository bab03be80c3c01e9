"""New connections wait for their request head without a greenlet (issue 18).

gevent gives every accepted connection a greenlet from accept on, about 14 KiB of
worker memory, so a flood of half-sent heads costs 14 KiB a connection. Go's
net/http costs a goroutine's few KiB. Here the pool StreamServer spawns through
does not spawn for a new connection: the hub watches the socket and reads what
arrives into a small buffer, and the greenlet starts only when the head is whole
(a blank line), has grown past PREFIX_BYTES (gunicorn's parser then holds it to
its limits), its first byte cannot begin a method (the worker answers 400), or
the client closed. The worker's socket hands the greenlet those bytes first
(service/server/worker.py).

A waiting connection holds a slot (service/server/slots.py) like any other, so
the slots evict it as they would a greenlet's head: 503 if part of it came, else a
close. Its head deadline runs from accept as the worker's does: at
`header_timeout` a 408 if part of it came, else a close. The greenlets have slots
of their own (the worker's `greenlet_slots`): a connection that takes one over
their limit evicts the one idle longest, else the one whose head has waited longest
(a kept-alive client starting its next head slowly, a head gunicorn parses itself),
so a few such connections cannot hold every greenlet while whole heads wait.
"""

import collections
import functools
import re
from collections.abc import Callable
from typing import Any

import gevent
from gevent.pool import Pool

from service.server.answers import TOKEN_BYTES, Evicted, HeadTimeout
from service.server.connection import Connection
from service.server.hub import Watched, read_now
from service.server.slots import Slots

# what a waiting connection may buffer: gunicorn's limit_request_line and its CRLF
# (tests/server/test_gate.py holds them together), so a request line too long still gets its
# 414 as the limit passes; a longer head goes on to gunicorn's parser, which holds it
# to its limits
PREFIX_BYTES = 4096
# a request line of the common kind that gunicorn's parser lets pass (a method
# token, an origin-form target, HTTP/1.x): one of another kind goes to it at once
REQUEST_LINE = re.compile(rb"[A-Za-z0-9!#$%&'*+\-.^_`|~]+ /[\x21-\x7e]* HTTP/1\.[0-9]\r\n")
HEAD_ENDS = (b"\n\r\n", b"\n\n")
# the deadline sweep refuses one connection a turn of the loop (see HeadGate): a
# timer this short makes the turn
TURN_SECONDS = 0.001

# how the worker refuses a connection: (client, addr, HeadTimeout or Evicted)
Refuse = Callable[[Any, Any, BaseException], None]


def first_line_may_pass(data: bytes) -> bool:
    """Whether the request line in `data` may be one gunicorn serves.

    gunicorn refuses a bad request line as soon as the line has come, before the
    headers: such a line goes to it at once, and it answers as it always has.
    """
    return REQUEST_LINE.fullmatch(data, 0, data.index(b"\n") + 1) is not None


class Waiting:
    """One new connection whose head is on its way, with what it has sent."""

    __slots__ = ("addr", "args", "client", "connection", "data", "gate")

    def __init__(self, gate: "HeadGate", client: Any, addr: Any, args: tuple[Any, ...]) -> None:
        self.gate, self.client, self.addr, self.args = gate, client, addr, args
        self.connection = Connection()
        self.connection.hand_to(self)
        self.data = b""

    def evict(self) -> None:
        self.gate.refuse(self, Evicted(arrived=bool(self.data)))


class HeadGate(Pool):
    """A gevent Pool that starts a new connection's greenlet once its head has come."""

    def __init__(self, greenlets: int, slots: Slots, header_timeout: float, refuse: Refuse) -> None:
        super().__init__(greenlets)
        self.slots = slots
        self._refuse = refuse
        # the deadline refuses one a turn of the loop, as the listener accepts one a turn
        # (server/worker.py): refused all at once, a flood would come back all at once,
        # past the listen queue (server/deadlines.py), and an honest connection among
        # them would wait a second for its SYN to be sent again
        self.waiting: Watched[Waiting] = Watched(
            lambda waiting: waiting.connection.accepted, header_timeout, self._time_out,
            TURN_SECONDS,
        )  # fmt: skip
        self._ready: collections.deque[Waiting] = collections.deque()
        # connections to read this turn of the loop, and the callback that reads them
        self._marked: dict[Waiting, None] = {}
        self._reader: Any = None

    def full(self) -> bool:
        # the listener never stops accepting: the slots, not the greenlets, bound it
        return False

    # StreamServer calls it so; nothing else spawns through this pool
    def spawn(self, func: Any, handle: Any, close: Any, args: tuple[Any, Any]) -> None:  # type: ignore[override]
        """StreamServer's do_handle: wait for the head in the hub, not in a greenlet."""
        client, addr = args
        waiting = Waiting(self, client, addr, (func, handle, close))
        client.settimeout(0.0)
        waiting.connection.enter(self.slots)
        self.waiting.hold(waiting, client.fileno(), self._mark)
        # a head is often there by accept: read it in this turn of the loop (left out,
        # the watcher reads it a turn later: an equivalent mutant, but for the latency)
        self._mark(waiting)  # pragma: no mutate

    def _mark(self, waiting: Waiting) -> None:
        """Read `waiting` later in this turn of the loop, with the others marked."""
        self._marked[waiting] = None  # pragma: no mutate (a dict as an ordered set)
        if self._reader is None:
            self._reader = gevent.get_hub().loop.run_callback(self._read_marked)

    def _read_marked(self) -> None:
        # in order of accept, as greenlets spawned at accept would have read: a
        # connection whose head came first is served first
        self._reader = None
        marked, self._marked = self._marked, {}
        for waiting in sorted(marked, key=lambda waiting: waiting.connection.accepted):
            if waiting in self.waiting:
                self._readable(waiting)

    def _readable(self, waiting: Waiting) -> None:
        # never more than PREFIX_BYTES a connection
        chunk = read_now(waiting.client, PREFIX_BYTES - len(waiting.data))
        if chunk is None:
            return
        if not chunk:
            # gone before its head was whole: gunicorn closes such a one silently
            self.drop(waiting)
            return
        seen = len(waiting.data)
        if not seen:
            # its head has begun: it may now be evicted before a silent connection
            waiting.connection.head_begun()
        waiting.data += chunk
        data = waiting.data
        if (
            len(data) >= PREFIX_BYTES
            or data[0] not in TOKEN_BYTES
            # where a head's end may lie: from two bytes before this chunk (a wider
            # window finds the same ends: equivalent mutants)
            or any(end in data[max(seen - 2, 0) :] for end in HEAD_ENDS)  # pragma: no mutate
            or (b"\n" in chunk and not first_line_may_pass(data))
        ):
            self._hand_over(waiting)

    def _hand_over(self, waiting: Waiting) -> None:
        self.waiting.release(waiting)
        # its head is here: it keeps its slot, unevictable, until its greenlet takes it
        waiting.connection.answering()
        if Pool.full(self):
            # rare: a greenlet over the limit evicts another as it starts (the
            # worker's greenlet slots), so the pool is full only while more than
            # its headroom are on their way out, or every greenlet is answering
            self._ready.append(waiting)
            return
        self._start(waiting)

    def _start(self, waiting: Waiting) -> None:
        func, handle, close = waiting.args
        waiting.client.settimeout(None)
        greet = functools.partial(handle, prefix=waiting.data, connection=waiting.connection)
        greenlet = Pool.spawn(self, func, greet, close, (waiting.client, waiting.addr))
        greenlet.rawlink(self._next_ready)

    def _next_ready(self, _greenlet: Any) -> None:
        while self._ready and not Pool.full(self):
            self._start(self._ready.popleft())

    def refuse(self, waiting: Waiting, why: BaseException) -> None:
        """Answer (or not) and close a connection that is still waiting."""
        try:
            self._refuse(waiting.client, waiting.addr, why)
        finally:
            self.drop(waiting)

    def let_silent_go(self) -> None:
        """The worker stops: close the waiting connections that have sent nothing.

        Nothing of theirs is in flight, and the head deadline would hold the worker
        past the master's graceful_timeout.
        """
        for waiting in self.waiting:
            if not waiting.data:
                self.drop(waiting)

    def settled(self) -> bool:
        """No connection is waiting for its head or its greenlet, and no greenlet runs."""
        return not self.waiting and not self._ready and self.free_count() == self.size

    def drop(self, waiting: Waiting) -> None:
        self.waiting.release(waiting)
        waiting.connection.close()
        waiting.client.close()

    def _time_out(self, waiting: Waiting) -> None:
        self.refuse(waiting, HeadTimeout(arrived=bool(waiting.data)))
