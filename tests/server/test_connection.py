"""service/server/connection.py in-process: one Connection passed between holders, over
real Slots (tests/server/test_head_gate.py, test_head_deadline_socket.py and
test_lingerer.py drive it through each holder)."""

from collections.abc import Callable

import pytest

from service.server.connection import CLOSED, Connection, Phase
from service.server.slots import Slots
from tests.server.holders import Holder, held


def test_a_connection_comes_new_at_its_accept() -> None:
    assert Connection(accepted=12.5).accepted == 12.5
    assert Connection().phase is Phase.NEW


def test_entering_twice_takes_one_slot_and_evicts_nobody() -> None:
    # with TLS, the connection's slots are its greenlet's: the worker enters both
    slots = Slots(limit=1)
    connection, holder = held(slots)
    connection.enter(slots)
    assert (slots.open, holder.evictions) == (1, 0)


def test_a_slot_left_is_left_once_and_the_others_kept() -> None:
    connections, greenlets = Slots(limit=10), Slots(limit=10)
    connection, _ = held(connections, greenlets)
    connection.leave(greenlets)
    assert (connections.open, greenlets.open) == (1, 0)
    # left already: neither slots changes, and entering again takes a slot again
    connection.leave(greenlets)
    assert (connections.open, greenlets.open) == (1, 0)
    connection.enter(greenlets)
    assert greenlets.open == 1


def test_a_close_leaves_every_slot_it_entered_and_a_second_changes_nothing() -> None:
    connections, greenlets = Slots(limit=10), Slots(limit=10)
    connection, _ = held(connections, greenlets)
    connection.close()
    assert (connections.open, greenlets.open) == (0, 0)
    # nothing is left to let go: its holder, which refers to it, is let go of
    assert connection.holder is CLOSED
    connection.evict()
    connection.close()
    # a phase told after the close holds no slot
    connection.head_begun()
    assert (connections.open, greenlets.open) == (0, 0)


@pytest.mark.parametrize(
    ("change", "phase"),
    [
        (Connection.head_begun, Phase.HEAD),
        (Connection.answering, Phase.BODY),
        (Connection.answered, Phase.IDLE),
    ],
)
def test_each_phase_is_the_connections_in_every_slot_it_holds(
    change: Callable[[Connection], None], phase: Phase
) -> None:
    connections, greenlets = Slots(limit=1), Slots(limit=1)
    connection, holder = held(connections, greenlets)
    change(connection)
    assert connection.phase is phase
    # full, each slots evicts it for a newcomer unless the app is answering it
    for slots in (connections, greenlets):
        slots.admit(Holder())
    assert holder.evictions == (0 if phase is Phase.BODY else 2)


def test_an_answered_connection_idles_and_goes_before_an_older_head() -> None:
    slots = Slots(limit=2)
    head, head_holder = held(slots)
    head.head_begun()
    answered, answered_holder = held(slots)
    answered.answering()
    answered.answered()
    slots.admit(Holder())
    assert (head_holder.evictions, answered_holder.evictions) == (0, 1)


def test_an_eviction_goes_to_whoever_holds_the_connection_now() -> None:
    slots = Slots(limit=1)
    connection, gate = held(slots)
    greenlet = Holder()
    connection.hand_to(greenlet)
    connection.evict()
    assert (gate.evictions, greenlet.evictions) == (0, 1)


def test_a_lingering_connection_goes_to_its_lingerer_and_first_of_all() -> None:
    slots = Slots(limit=2)
    idle, _ = held(slots)
    idle.answered()
    connection, greenlet = held(slots)
    connection.answering()
    lingerer = Holder()
    connection.linger(lingerer)
    assert (connection.phase, connection.holder) == (Phase.LINGERING, lingerer)
    slots.admit(Holder())
    assert (lingerer.evictions, greenlet.evictions) == (1, 0)
    assert slots.open == 2
