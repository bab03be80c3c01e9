"""service/server/linger.py in-process: the Lingerer over socket pairs in this process's
gevent hub, with real Slots, in milliseconds (tests/server/test_linger.py proves the whole
worker on a real gunicorn)."""

import socket
import struct
import time
from collections.abc import Callable, Iterator

import gevent
import pytest

from service.server.connection import Connection, Phase
from service.server.linger import DISCARD_BYTES, Lingerer
from service.server.slots import Slots
from tests.server.holders import held

# long enough that no test's connection meets it unless the test waits for it
TIMEOUT = 30.0


CLIENTS: list[socket.socket] = []


@pytest.fixture
def slots() -> Slots:
    """The worker's connection slots, which each connection here holds."""
    return Slots(limit=100)


@pytest.fixture
def lingerer() -> Iterator[Lingerer]:
    """A worker's lingerer; every connection let go after, and every client's end closed."""
    held = Lingerer(TIMEOUT)
    yield held
    held.let_go()
    while CLIENTS:
        CLIENTS.pop().close()


class Answering:
    """The greenlet's socket, which held the connection until its answer was sent."""

    def evict(self) -> None:
        raise AssertionError("an answered connection is not evicted from its greenlet")


def answering(slots: Slots) -> Connection:
    """A connection in `slots` whose head is whole, held by its greenlet."""
    connection, _ = held(slots)
    connection.hand_to(Answering())
    connection.answering()
    return connection


def answered(lingerer: Lingerer, slots: Slots, left: int, sent: bytes = b"") -> socket.socket:
    """A connection whose answer is sent and whose body has `left` bytes to come, `sent`
    of them already here, handed to the lingerer; the client's end is returned."""
    client, server = socket.socketpair()
    CLIENTS.append(client)
    client.sendall(sent)
    lingerer.take(answering(slots), server.detach(), left)
    return client


def closed(client: socket.socket) -> bool:
    """Whether the server's end of `client`'s connection is closed, after the hub ran."""
    gevent.sleep(0.01)
    client.setblocking(False)
    try:
        return client.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_a_body_that_comes_whole_is_dropped_and_closed(lingerer: Lingerer, slots: Slots) -> None:
    client = answered(lingerer, slots, left=10, sent=b"abc")
    assert slots.open == 1
    assert not closed(client)
    client.sendall(b"defghij")
    assert closed(client)
    assert slots.open == 0


def test_what_came_with_the_answer_is_read_at_once(lingerer: Lingerer, slots: Slots) -> None:
    client = answered(lingerer, slots, left=5, sent=b"whole")
    assert closed(client)
    assert slots.open == 0


def test_a_client_that_goes_is_let_go(lingerer: Lingerer, slots: Slots) -> None:
    client = answered(lingerer, slots, left=10)
    client.shutdown(socket.SHUT_WR)
    assert closed(client)
    assert slots.open == 0


def test_a_client_that_resets_is_let_go(lingerer: Lingerer, slots: Slots) -> None:
    # a TCP reset (SO_LINGER 0): the server's next read fails with ECONNRESET
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    lingerer.take(answering(slots), server.detach(), 10)
    client.close()
    gevent.sleep(0.01)
    assert slots.open == 0


def test_no_more_than_discard_bytes_are_read(lingerer: Lingerer, slots: Slots) -> None:
    client = answered(lingerer, slots, left=10 * DISCARD_BYTES)
    client.setblocking(False)
    sent = 0
    while sent < DISCARD_BYTES - 1:
        try:
            sent += client.send(b"x" * min(65536, DISCARD_BYTES - 1 - sent))
        except BlockingIOError:
            gevent.sleep(0.001)
    assert not closed(client)
    client.setblocking(True)
    client.sendall(b"x")
    assert closed(client)


def test_the_deadline_closes_what_is_still_coming(slots: Slots) -> None:
    lingerer = Lingerer(timeout=0.05)
    first, second = answered(lingerer, slots, left=10), answered(lingerer, slots, left=10)
    started = time.monotonic()
    while slots.open and time.monotonic() - started < 2:
        gevent.sleep(0.01)
    assert closed(first)
    assert closed(second)
    lingerer.let_go()
    first.close()
    second.close()


def test_an_eviction_closes_it_and_a_second_close_changes_nothing(
    lingerer: Lingerer, slots: Slots
) -> None:
    client = answered(lingerer, slots, left=10)
    (lingering,) = lingerer.held
    # read readiness only: a write watcher would fire at once and forever, the hub spinning
    assert lingerer.held.watcher(lingering).events == 1
    # the connection is lingering, and the lingerer holds it: an eviction goes to it
    assert lingering.connection.phase is Phase.LINGERING
    assert lingering.connection.holder is lingering
    lingering.evict()
    assert closed(client)
    lingerer.drop(lingering)
    assert slots.open == 0


def test_the_slots_take_a_lingering_connection_first(lingerer: Lingerer, slots: Slots) -> None:
    # the slots full, a new connection evicts the lingering one before any other
    slots.limit = 1
    client = answered(lingerer, slots, left=10)

    class Newcomer:
        def evict(self) -> None:
            raise AssertionError("the newcomer is not the one to go")

    slots.admit(Newcomer())
    assert closed(client)


def test_connections_let_go_leave_nothing_to_the_cyclic_collector(
    lingerer: Lingerer, slots: Slots, garbage: Callable[[], int]
) -> None:
    for _ in range(50):
        answered(lingerer, slots, left=10)
    lingerer.let_go()
    # fewer than one object a connection (a cycle between it and its holder is several)
    assert garbage() < 50


def test_let_go_closes_every_one(lingerer: Lingerer, slots: Slots) -> None:
    clients = [answered(lingerer, slots, left=10) for _ in range(3)]
    lingerer.let_go()
    assert all(closed(client) for client in clients)
    assert slots.open == 0
