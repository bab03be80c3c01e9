"""service/server/worker.py's parts in-process: the client socket gunicorn's parser reads
through (its head deadlines, phases, eviction, hand-over to the lingerer), what an
answered body leaves to read, and the file limit, over gevent socket pairs in
milliseconds (tests/server/test_worker.py proves the whole worker on a real gunicorn)."""

import resource
import time
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.socket
import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from service.server import worker
from service.server.answers import Evicted, HeadTimeout, NotHttp
from service.server.connection import Connection, Phase
from service.server.linger import DISCARD_BYTES, Lingerer
from service.server.slots import Slots
from service.server.worker import (
    FILES_BEYOND_SLOTS,
    HeadDeadlineSocket,
    NamedListener,
    body_left,
    connections_within_file_limit,
)

HEAD = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.fixture
def pair() -> Iterator[tuple[Any, Any]]:
    """A client and a server gevent socket, connected."""
    client, server = gevent.socket.socketpair()
    yield client, server
    client.close()
    server.close()


def wrapped(
    server: Any, slots: Slots, prefix: bytes = b"", accepted: float | None = None
) -> HeadDeadlineSocket:
    """The greenlet's socket over `server`, its connection in `slots`."""
    connection = Connection(accepted)
    sock = HeadDeadlineSocket(server, connection, header_timeout=0.05, keepalive=0.05,
                              prefix=prefix)  # fmt: skip
    connection.enter(slots)
    return sock


def test_what_the_gate_read_comes_first_then_the_socket(pair: tuple[Any, Any]) -> None:
    client, server = pair
    slots = Slots(limit=10)
    sock = wrapped(server, slots, prefix=b"GET / HTTP/1.1\r\n")
    # the greenlet's socket holds the connection now
    assert sock.connection.holder is sock
    client.sendall(b"Host: a\r\n\r\n")
    assert sock.recv(4) == b"GET "
    assert sock.recv(100) == b"/ HTTP/1.1\r\n"
    assert sock.recv(100) == b"Host: a\r\n\r\n"


def test_a_head_not_whole_by_its_deadline_times_out_saying_whether_it_began(
    pair: tuple[Any, Any],
) -> None:
    client, server = pair
    sock = wrapped(server, Slots(limit=10))
    with pytest.raises(HeadTimeout) as silent:
        sock.recv(100)
    assert not silent.value.arrived
    client.sendall(b"GET")
    assert sock.recv(100) == b"GET"
    with pytest.raises(HeadTimeout) as begun:
        sock.recv(100)
    assert begun.value.arrived


def test_the_deadline_runs_from_accept(pair: tuple[Any, Any]) -> None:
    _, server = pair
    sock = wrapped(server, Slots(limit=10), accepted=time.monotonic() - 1)
    started = time.monotonic()
    with pytest.raises(HeadTimeout):
        sock.recv(100)
    assert time.monotonic() - started < 0.04


def timed_out_after(sock: HeadDeadlineSocket, arrived: bool = True) -> float:
    """How long `sock`'s next read waits before its deadline passes, part of a head
    having `arrived` or not."""
    started = time.monotonic()
    with pytest.raises(HeadTimeout) as expired:
        sock.recv(100)
    assert expired.value.arrived is arrived
    return time.monotonic() - started


def test_a_new_connections_first_byte_leaves_the_deadline_at_accept(
    pair: tuple[Any, Any],
) -> None:
    client, server = pair
    connection = Connection(accepted=time.monotonic() - 1)
    sock = HeadDeadlineSocket(server, connection, header_timeout=0.3, keepalive=5.0, prefix=b"")
    client.sendall(b"G")
    assert sock.recv(100) == b"G"
    # (the deadline reset by the byte would wait 0.3 s)
    assert timed_out_after(sock) < 0.25


def kept_alive(
    pair: tuple[Any, Any], header_timeout: float, keepalive: float
) -> HeadDeadlineSocket:
    """The greenlet's socket over `pair`, its first request answered: idle."""
    client, server = pair
    sock = HeadDeadlineSocket(server, Connection(), header_timeout, keepalive, prefix=b"")
    client.sendall(HEAD)
    assert sock.recv(100) == HEAD
    sock.head_done()
    sock.await_next_head()
    return sock


def test_a_kept_alive_head_is_due_a_head_deadline_after_its_first_byte(
    pair: tuple[Any, Any],
) -> None:
    sock = kept_alive(pair, header_timeout=0.2, keepalive=5.0)
    pair[0].sendall(b"G")
    assert sock.recv(100) == b"G"
    # not the keepalive's 5 s, nor at once
    assert 0.15 < timed_out_after(sock) < 1.0


def test_an_idle_connection_waits_keepalive_for_its_next_first_byte(
    pair: tuple[Any, Any],
) -> None:
    sock = kept_alive(pair, header_timeout=5.0, keepalive=0.2)
    assert 0.15 < timed_out_after(sock, arrived=False) < 1.0


def test_a_first_byte_no_method_begins_with_is_refused(pair: tuple[Any, Any]) -> None:
    client, server = pair
    sock = wrapped(server, Slots(limit=10))
    client.sendall(b"\x16\x03\x01")
    with pytest.raises(NotHttp, match="0x16"):
        sock.recv(100)


def test_each_phase_tells_the_slots_and_has_its_deadline(pair: tuple[Any, Any]) -> None:
    client, server = pair
    slots = Slots(limit=1, headroom=0)
    sock = wrapped(server, slots)
    client.sendall(HEAD)
    assert sock.recv(100) == HEAD
    sock.head_done()
    assert phase_of(sock) is Phase.BODY
    # the app answers: no deadline, and the slots cannot evict it
    gevent.spawn_later(0.1, client.sendall, b"body")
    assert sock.recv(100) == b"body"
    slots.admit(Newcomer())
    assert not sock.evicted
    sock.await_next_head()
    assert phase_of(sock) is Phase.IDLE
    # idle: `keepalive` for the next first byte, and a close if none comes
    with pytest.raises(HeadTimeout) as idle:
        sock.recv(100)
    assert not idle.value.arrived
    client.sendall(b"G")
    assert sock.recv(100) == b"G"
    assert phase_of(sock) is Phase.HEAD


def phase_of(sock: HeadDeadlineSocket) -> Phase:
    return sock.connection.phase


class Newcomer:
    """A new connection that must not be the one evicted."""

    def evict(self) -> None:
        raise AssertionError("the newcomer is not the one to go")


def test_an_evicted_connection_wakes_with_evicted(pair: tuple[Any, Any]) -> None:
    client, server = pair
    slots = Slots(limit=1, headroom=0)
    sock = wrapped(server, slots)
    client.sendall(b"GET / HT")
    assert sock.recv(100) == b"GET / HT"
    gevent.spawn_later(0.01, slots.admit, Newcomer())
    with pytest.raises(Evicted) as evicted:
        sock.recv(100)
    assert evicted.value.arrived
    assert sock.evicted


def test_close_hands_the_connection_to_the_lingerer(pair: tuple[Any, Any]) -> None:
    client, server = pair
    slots = Slots(limit=10)
    lingerer = Lingerer(timeout=30)
    sock = wrapped(server, slots)
    sock.linger_in(lingerer, 5)
    sock.close()
    # the connection goes to the lingerer, in its slot still
    (lingering,) = lingerer.held
    assert lingering.connection is sock.connection
    assert slots.open == 1
    client.sendall(b"12345")
    gevent.sleep(0.01)
    assert len(lingerer.held) == 0
    assert slots.open == 0
    # without a lingerer, a close is a close
    second_client, second_server = gevent.socket.socketpair()
    plain = wrapped(second_server, slots)
    plain.close()
    assert second_client.recv(1) == b""
    assert slots.open == 0
    second_client.close()


def request_over(pair: tuple[Any, Any], sent: bytes) -> tuple[Any, HeadDeadlineSocket]:
    client, server = pair
    sock = wrapped(server, Slots(limit=10))
    client.sendall(sent)
    request = next(RequestParser(Config(), sock, ("127.0.0.1", 1)))
    sock.head_done()
    return request, sock


@pytest.mark.parametrize(
    ("sent", "left"),
    [
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", 7),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 0),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcdef", 0),
        # chunked: what is here is read; the end has come, or the bound is what is left
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         0),
        # (gunicorn's chunked reader waits for more before it returns what is here)
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
         DISCARD_BYTES),
        # malformed past the answer: nothing to wait for
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0),
    ],
)  # fmt: skip
def test_what_an_answered_body_leaves_to_read(
    pair: tuple[Any, Any], sent: bytes, left: int
) -> None:
    request, sock = request_over(pair, sent)
    assert body_left(request, sock) == left


def test_a_chunked_body_past_the_bound_leaves_nothing_to_wait_for(
    pair: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "DISCARD_BYTES", 4)
    chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    request, sock = request_over(pair, chunked + b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
    assert body_left(request, sock) == 0


def test_a_closed_listener_keeps_its_name(pair: tuple[Any, Any]) -> None:
    listener = gevent.socket.socket()
    listener.bind(("127.0.0.1", 0))
    name = listener.getsockname()
    named = NamedListener(listener)
    listener.close()
    assert named.getsockname() == name
    assert named.fileno() == -1


@pytest.mark.parametrize(
    ("limits", "connections", "fit", "raised"),
    [
        # a shell's 1,024 raised toward the slots, within the hard limit
        ((1024, 1_000_000), 10_000, 10_000, 10_000 + FILES_BEYOND_SLOTS),
        # a hard limit below: the slots fit within it
        ((1024, 4096), 10_000, 4096 - FILES_BEYOND_SLOTS, 4096),
        # enough already: nothing raised
        ((100_000, 100_000), 10_000, 10_000, None),
        ((resource.RLIM_INFINITY, resource.RLIM_INFINITY), 10_000, 10_000, None),
        # never fewer than one
        ((200, 200), 10_000, 1, None),
    ],
)
def test_the_open_file_limit_is_raised_for_the_slots_and_they_fit_within_it(
    monkeypatch: pytest.MonkeyPatch,
    limits: tuple[int, int],
    connections: int,
    fit: int,
    raised: int | None,
) -> None:
    set_to: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _: limits)
    monkeypatch.setattr(resource, "setrlimit", lambda _, new: set_to.append(new))
    assert connections_within_file_limit(connections) == fit
    assert set_to == ([] if raised is None else [(raised, limits[1])])


def test_what_is_sent_goes_to_the_socket_whole_with_its_flags() -> None:
    class Sent:
        def __init__(self) -> None:
            self.calls: list[tuple[bytes, int]] = []

        def sendall(self, data: bytes, flags: int = 0) -> None:
            self.calls.append((data, flags))

    sock = Sent()
    wrapped = HeadDeadlineSocket(sock, Connection(), 1.0, 1.0, b"")
    wrapped.sendall(b"HTTP/1.1 200 OK\r\n")
    wrapped.sendall(b"more", 64)
    assert sock.calls == [(b"HTTP/1.1 200 OK\r\n", 0), (b"more", 64)]
