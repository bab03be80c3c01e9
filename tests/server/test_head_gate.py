"""service/server/gate.py in-process: the HeadGate over socket pairs in this process's
gevent hub, called as gevent's StreamServer calls its pool, in milliseconds
(tests/server/test_gate.py proves the whole worker on a real gunicorn)."""

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.event
import gevent.socket
import pytest

from service.server.answers import Evicted, HeadTimeout
from service.server.gate import PREFIX_BYTES, HeadGate
from service.server.slots import Slots

HEAD = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
TIMEOUT = 30.0


class Recorder:
    """The worker's side: what each greenlet is handed, what is refused, what is closed."""

    def __init__(self) -> None:
        self.handled: list[bytes] = []
        self.greetings: list[dict[str, Any]] = []
        self.refused: list[tuple[type, bool]] = []
        self.closes = 0
        # a greenlet's answer waits for this, where a test holds the greenlets
        self.hold = gevent.event.Event()
        self.hold.set()

    def handle(self, client: socket.socket, addr: Any, **greeting: Any) -> None:
        assert isinstance(client, gevent.socket.socket)
        assert addr == PEER
        # the greenlet reads as gunicorn does: blocking, the hub switching for it
        assert client.gettimeout() is None
        self.handled.append(greeting["prefix"])
        self.greetings.append(greeting)
        self.hold.wait(2)
        client.close()

    def close(self, client: socket.socket, addr: Any) -> None:
        assert addr == PEER
        self.closes += 1

    def refuse(self, client: socket.socket, addr: Any, why: BaseException) -> None:
        assert isinstance(client, gevent.socket.socket)
        assert addr == PEER
        assert isinstance(why, HeadTimeout | Evicted)
        self.refused.append((type(why), why.arrived))


CLIENTS: list[socket.socket] = []
PEER = ("192.0.2.1", 4242)


@pytest.fixture
def worker() -> Iterator[tuple[HeadGate, Recorder]]:
    recorder = Recorder()
    gate = HeadGate(2, Slots(limit=100), TIMEOUT, recorder.refuse)
    yield gate, recorder
    recorder.hold.set()
    gate.let_silent_go()
    for waiting in gate.waiting:
        gate.drop(waiting)
    gevent.sleep(0.01)
    while CLIENTS:
        CLIENTS.pop().close()


def run(handle: Callable[..., None], close: Callable[..., None], args: tuple[Any, ...]) -> None:
    """What gevent's StreamServer spawns: the handler, then the close."""
    try:
        handle(*args)
    finally:
        close(*args)


def connect(worker: tuple[HeadGate, Recorder], sent: bytes = b"") -> socket.socket:
    """A new connection as the listener accepts it, `sent` already on its way."""
    gate, recorder = worker
    client, server = socket.socketpair()
    CLIENTS.append(client)
    client.sendall(sent)
    wrapped = gevent.socket.socket(fileno=server.detach())
    gate.spawn(run, recorder.handle, recorder.close, (wrapped, PEER))
    return client


def turn() -> None:
    gevent.sleep(0.01)


def test_a_whole_head_is_handed_to_a_greenlet_with_its_bytes(
    worker: tuple[HeadGate, Recorder],
) -> None:
    gate, recorder = worker
    before = time.monotonic()
    connect(worker, HEAD)
    (waiting,) = gate.waiting
    # the hub reads it without ever blocking, and only when it is readable
    assert waiting.client.gettimeout() == 0.0
    assert gate.waiting.watcher(waiting).events == 1
    assert waiting.connection.holder is waiting
    turn()
    assert recorder.handled == [HEAD]
    (greeting,) = recorder.greetings
    # its greenlet takes the connection, whose head deadline runs from accept
    assert greeting["connection"] is waiting.connection
    assert before <= waiting.connection.accepted <= time.monotonic()
    # past the gate: no watcher left on it
    assert gate.waiting.watcher(waiting) is None
    assert (recorder.closes, gate.settled()) == (1, True)


def test_a_head_in_pieces_waits_without_a_greenlet_until_it_is_whole(
    worker: tuple[HeadGate, Recorder],
) -> None:
    gate, recorder = worker
    client = connect(worker, HEAD[:10])
    turn()
    assert (recorder.handled, gate.free_count()) == ([], 2)
    assert not gate.settled()
    client.sendall(HEAD[10:-2])
    turn()
    assert recorder.handled == []
    client.sendall(HEAD[-2:])
    turn()
    assert recorder.handled == [HEAD]


@pytest.mark.parametrize(
    "sent",
    [
        # TLS's first byte: no method begins so; the worker answers 400 at once
        b"\x16\x03\x01",
        b"\x16abc",
        # a request line gunicorn refuses as soon as it has come
        b"GET /a b HTTP/1.1\r\n",
        b"get http://a/ HTTP/2.0\r\n",
        # a head as long as the gate buffers: gunicorn's parser holds it to its limits
        b"GET /" + b"a" * PREFIX_BYTES,
    ],
)
def test_what_gunicorn_refuses_by_itself_goes_to_it_at_once(
    worker: tuple[HeadGate, Recorder], sent: bytes
) -> None:
    _, recorder = worker
    connect(worker, sent)
    turn()
    assert recorder.handled == [sent[:PREFIX_BYTES]]


@pytest.mark.parametrize("line", [b"GET /a?b=c HTTP/1.1\r\n", b"G / HTTP/1.0\r\n"])
def test_a_common_request_line_waits_for_its_headers(
    worker: tuple[HeadGate, Recorder], line: bytes
) -> None:
    _, recorder = worker
    connect(worker, line + b"Host: a\r\n")
    turn()
    assert recorder.handled == []


def test_a_head_that_comes_in_pieces_is_handed_over_at_the_gates_bound(
    worker: tuple[HeadGate, Recorder],
) -> None:
    _, recorder = worker
    client = connect(worker, b"GET /")
    turn()
    client.sendall(b"a" * PREFIX_BYTES)
    turn()
    assert [len(prefix) for prefix in recorder.handled] == [PREFIX_BYTES]


def test_a_client_gone_before_its_head_is_closed_silently(
    worker: tuple[HeadGate, Recorder],
) -> None:
    gate, recorder = worker
    client = connect(worker, b"GET / HT")
    client.shutdown(socket.SHUT_WR)
    turn()
    assert (recorder.handled, recorder.refused, gate.slots.open) == ([], [], 0)
    assert client.recv(1) == b""


def test_the_head_deadline_refuses_oldest_first_saying_whether_any_came(
    worker: tuple[HeadGate, Recorder],
) -> None:
    recorder = worker[1]
    gate = HeadGate(2, Slots(limit=100), 0.05, recorder.refuse)
    worker = (gate, recorder)
    connect(worker, b"GET / HT")
    connect(worker)
    started = time.monotonic()
    while len(recorder.refused) < 2 and time.monotonic() - started < 2:
        gevent.sleep(0.01)
    assert recorder.refused == [(HeadTimeout, True), (HeadTimeout, False)]
    assert gate.slots.open == 0


def test_a_full_set_of_slots_evicts_a_waiting_head_saying_it_came(
    worker: tuple[HeadGate, Recorder],
) -> None:
    gate, recorder = worker
    # headroom spares a young silent connection, never a head that has begun
    gate.slots.limit, gate.slots.headroom = 2, 5
    connect(worker)
    connect(worker, b"GET / HT")
    turn()
    connect(worker)
    turn()
    assert recorder.refused == [(Evicted, True)]
    assert gate.slots.open == 2


def test_a_head_handed_over_is_never_evicted(worker: tuple[HeadGate, Recorder]) -> None:
    gate, recorder = worker
    recorder.hold.clear()
    gate.slots.limit = 1
    connect(worker, HEAD)
    turn()
    connect(worker)
    turn()
    assert recorder.refused == []


def test_heads_past_the_greenlets_wait_their_turn_in_order(
    worker: tuple[HeadGate, Recorder],
) -> None:
    gate, recorder = worker
    recorder.hold.clear()
    heads = [HEAD.replace(b"/", f"/{number}".encode(), 1) for number in range(4)]
    for head in heads:
        connect(worker, head)
    turn()
    assert recorder.handled == heads[:2]
    recorder.hold.set()
    started = time.monotonic()
    while len(recorder.handled) < 4 and time.monotonic() - started < 2:
        gevent.sleep(0.01)
    assert recorder.handled == heads
    turn()
    assert gate.settled()


def test_at_stop_the_silent_are_let_go_and_a_head_on_its_way_is_kept(
    worker: tuple[HeadGate, Recorder],
) -> None:
    gate, _ = worker
    silent, started = connect(worker), connect(worker, b"GET / HT")
    turn()
    gate.let_silent_go()
    turn()
    assert silent.recv(1) == b""
    assert gate.slots.open == 1
    started.setblocking(False)
    with pytest.raises(BlockingIOError):
        started.recv(1)


def test_connections_let_go_leave_nothing_to_the_cyclic_collector(
    worker: tuple[HeadGate, Recorder], garbage: Callable[[], int]
) -> None:
    gate, _ = worker
    for _ in range(50):
        connect(worker, b"GET / HT")
    turn()
    for waiting in gate.waiting:
        gate.drop(waiting)
    # fewer than one object a connection (a cycle between it and its holder is several)
    assert garbage() < 50


def test_the_listener_is_never_told_the_pool_is_full(worker: tuple[HeadGate, Recorder]) -> None:
    gate, recorder = worker
    recorder.hold.clear()
    for _ in range(3):
        connect(worker, HEAD)
    turn()
    assert not gate.full()
