"""One client connection's life in a worker, from accept to close (issue 35).

Three holders pass a connection on: the head gate waits for its head in the hub
(service/server/gate.py), a greenlet reads it through HeadDeadlineSocket while the
app answers (service/server/worker.py), and the lingerer drops the rest of an
answered body (service/server/linger.py). The slots (service/server/slots.py) know
it by this one object whoever holds it: its phase changes here, and in every slot
it holds then; an eviction goes to whoever holds it now; and its close leaves every
slot it entered, once.
"""

import enum
import time

from service.server.slots import Evictable, Slots


class Phase(enum.Enum):
    """Where a connection is; each has its own deadline and its own place in the slots."""

    # accepted, not one byte of its head here yet: `header_timeout` from accept
    NEW = "new"
    # a request line and headers on their way: `header_timeout` from accept, or from
    # a kept-alive connection's first byte
    HEAD = "head"
    # the head is parsed and the app answers, or the gate has handed it to its greenlet
    # (whose first read begins the head again): no head deadline, and slots told so
    # (`answering`) do not evict it
    BODY = "body"
    # kept alive after a response: `keepalive` seconds for the next first byte
    IDLE = "idle"
    # answered, the rest of its body read and dropped until `body_timeout`
    LINGERING = "lingering"


class Closed:
    """The holder of a closed connection: nothing is left to let go."""

    def evict(self) -> None:
        pass


CLOSED = Closed()


class Connection:
    """One client connection: when it came, its phase, who holds it, the slots it holds."""

    __slots__ = ("_slots", "accepted", "holder", "phase")

    # who closes it if it is evicted: the first holder sets it before the connection
    # enters any slots (the only way to an eviction), each next as it takes it
    holder: Evictable

    def __init__(self, accepted: float | None = None) -> None:
        self.accepted = time.monotonic() if accepted is None else accepted
        self.phase = Phase.NEW
        # at most two: the worker's connection slots and its greenlet slots (a tuple:
        # a flood holds thousands of connections, and a list costs twice as much)
        self._slots: tuple[Slots, ...] = ()

    def hand_to(self, holder: Evictable) -> None:
        """`holder` holds the connection now: an eviction goes to it."""
        self.holder = holder

    def enter(self, slots: Slots) -> None:
        """Take a slot in `slots` (which may evict another), unless it entered there before."""
        if slots not in self._slots:
            self._slots += (slots,)
            slots.admit(self)

    def leave(self, slots: Slots) -> None:
        """Give up the slot in `slots`, if it holds one there."""
        if slots in self._slots:
            self._slots = tuple(other for other in self._slots if other is not slots)
            slots.closed(self)

    def close(self) -> None:
        """The connection is closed: it leaves every slot it entered, and its holder."""
        for slots in self._slots:
            slots.closed(self)
        self._slots = ()
        # each holder refers to the connection: let go of the last, so that the two are
        # freed with their last reference, not left (with a head's bytes) for the
        # cyclic collector, which a flood outruns by tens of MiB
        self.holder = CLOSED

    def evict(self) -> None:
        """A slots that was full took this connection's slot: its holder lets it go."""
        self.holder.evict()

    def head_begun(self) -> None:
        """A head has begun: it queues behind older heads to be evicted."""
        self.phase = Phase.HEAD
        for slots in self._slots:
            slots.awaiting_head(self)

    def answering(self) -> None:
        """The head is whole: the app answers, and nobody may evict it."""
        self.phase = Phase.BODY
        for slots in self._slots:
            slots.busy(self)

    def answered(self) -> None:
        """The response is sent: it idles until its next request."""
        self.phase = Phase.IDLE
        for slots in self._slots:
            slots.idle(self)

    def linger(self, holder: Evictable) -> None:
        """Answered, it goes to `holder` to drop the rest of its body: the first to evict."""
        self.phase = Phase.LINGERING
        self.hand_to(holder)
        for slots in self._slots:
            slots.lingering(self)
