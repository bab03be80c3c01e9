"""A worker's connection slots, which a flood of new connections cannot hold.

gunicorn's gevent worker stops accepting once `worker_connections` connections
are open, so a client that keeps that many heads pending shuts everyone else
out (issue 18). Here the worker keeps accepting, and a connection over the limit
takes the slot of another: the oldest answered one whose body is being discarded
(service/server/linger.py), else the one idle longest after a response, else the one
whose head has waited longest, else the oldest new one no byte has come from yet.
That last one is spared while it is younger than SILENT_GRACE and the slots have
headroom left: through a proxy (docker-proxy, a load balancer) every new connection
is silent for a moment after accept, and a churning flood would otherwise cycle an
honest connection out before the proxy has passed its head on.
A connection whose head is parsed (the app is answering it) is never taken.
Evicting reads as the client sees it: a lingering or idle connection is closed, a
half-sent head gets a 503.
"""

import time
from collections.abc import Callable
from typing import Protocol

# seconds a new connection may stay silent before it can be evicted, while the slots
# have headroom: time for a proxy in front to pass its head on
SILENT_GRACE = 0.5


class Evictable(Protocol):
    def evict(self) -> None:
        """Stop waiting for this client and close its connection."""


class Slots:
    """The open connections of one worker, by phase, each phase oldest first.

    A connection is in one phase at a time; one the slots no longer hold (evicted,
    or closed) stays out whatever its holder says of it afterwards.
    """

    def __init__(
        self, limit: int, headroom: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        # connections over the limit that young silent ones may take, and no more
        self.headroom = headroom
        self._clock = clock
        # dicts as ordered sets: insertion order is when each entered its phase (the
        # silent ones' values are that time; no other value is read)
        # answered, the rest of their body discarded: first to go, their answer is sent
        self._lingering: dict[Evictable, float] = {}
        self._idle: dict[Evictable, float] = {}
        self._heads: dict[Evictable, float] = {}
        # new connections not one byte of whose head has come yet: evicted last, as
        # an honest client's head may be on its way, where a flood's half heads are here
        self._silent: dict[Evictable, float] = {}
        self._busy: dict[Evictable, float] = {}
        # each connection's phase: one of the dicts above
        self._phase: dict[Evictable, dict[Evictable, float]] = {}

    @property
    def open(self) -> int:
        """Connections that hold a slot (an evicted one holds none, even before it closes)."""
        return len(self._phase)

    def admit(self, connection: Evictable) -> None:
        """Count a new connection (awaiting its head); if the slots are full, evict another."""
        now = self._clock()
        if self.open >= self.limit:
            victim = (next(iter(self._lingering), None) or next(iter(self._idle), None)
                      or next(iter(self._heads), None))  # fmt: skip
            if victim is None and self._silent:
                oldest, since = next(iter(self._silent.items()))
                if now - since >= SILENT_GRACE or self.open >= self.limit + self.headroom:
                    victim = oldest
            if victim is not None:
                self.closed(victim)
                victim.evict()
        self._silent[connection] = now
        self._phase[connection] = self._silent

    def awaiting_head(self, connection: Evictable) -> None:
        """A head has begun (a new connection's, or a kept-alive one's next): it queues
        behind older heads."""
        self._move(connection, self._heads)

    def idle(self, connection: Evictable) -> None:
        """A response is sent: the connection waits for another request."""
        self._move(connection, self._idle)

    def lingering(self, connection: Evictable) -> None:
        """An answered connection whose body is read and dropped: the first to go."""
        self._move(connection, self._lingering)

    def busy(self, connection: Evictable) -> None:
        """The head is parsed and the app answers: nobody may evict it now."""
        self._move(connection, self._busy)

    def closed(self, connection: Evictable) -> None:
        """The connection no longer holds a slot."""
        phase = self._phase.pop(connection, None)
        if phase is not None:
            del phase[connection]

    def _move(self, connection: Evictable, phase: dict[Evictable, float]) -> None:
        # one already in `phase` keeps its place in the queue
        current = self._phase.get(connection)
        if current is None or current is phase:
            return
        del current[connection]
        # a value nothing reads (equivalent mutants), and no float made a connection
        phase[connection] = 0.0  # pragma: no mutate
        self._phase[connection] = phase
