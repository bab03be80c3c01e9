"""A connection and a holder that records its evictions, for the in-process tests."""

from service.server.connection import Connection
from service.server.slots import Slots


class Holder:
    """A connection's holder (the gate, a greenlet, the lingerer) that counts the
    evictions it is told of."""

    def __init__(self) -> None:
        self.evictions = 0

    def evict(self) -> None:
        self.evictions += 1


def held(*slots: Slots) -> tuple[Connection, Holder]:
    """A new connection and its holder, in each of `slots`."""
    connection, holder = Connection(), Holder()
    connection.hand_to(holder)
    for each in slots:
        connection.enter(each)
    return connection, holder
