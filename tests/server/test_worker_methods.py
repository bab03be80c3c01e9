"""service/server/worker.py's Worker, its methods called in-process on a worker never
started: what it answers by itself, the drain on SIGTERM, the fairness yield's watcher
and the access log's flushing (tests/server/test_worker.py proves the whole worker on a
real gunicorn)."""

import signal
import time
from http import HTTPStatus
from typing import Any

import gevent
import gevent.socket
import pytest
from gunicorn.http import errors
from gunicorn.workers.ggevent import GeventWorker

from service.server import answers, lifecycle, worker
from service.server.answers import Evicted, HeadTimeout, MissingHost
from service.server.connection import CLOSED
from service.server.slots import Slots
from service.server.worker import EVICTION_HEADROOM, GREENLETS, HeadDeadlineSocket, Worker
from tests.server.clients import parsed
from tests.server.holders import Holder, held
from tests.server.workers import Log, unstarted


class Client:
    """A client socket that keeps what the worker sends it, or fails as a reset one does."""

    def __init__(self, fails: bool = False) -> None:
        self.sent = b""
        self.fails = fails

    def sendall(self, data: bytes) -> None:
        if self.fails:
            raise ConnectionResetError
        self.sent += data


@pytest.fixture
def bare() -> Worker:
    """A Worker as init_process leaves its own fields, but never started."""
    made = Worker.__new__(Worker)
    made.log = Log()  # type: ignore[assignment]
    made.drain_seconds = 0
    made.fairness_yield = True
    return made


@pytest.fixture(autouse=True)
def not_draining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "_draining", False)


def log_of(made: Worker) -> list[tuple[str, str]]:
    assert isinstance(made.log, Log)
    return made.log.calls


@pytest.mark.parametrize("kind", [HeadTimeout, Evicted])
def test_a_connection_that_sent_nothing_gets_nothing(bare: Worker, kind: type[Exception]) -> None:
    client = Client()
    bare.handle_error(None, client, ("10.0.0.1", 5), kind(False))
    assert client.sent == b""
    assert log_of(bare) == []


def test_a_clients_mistake_is_answered_and_logged_as_a_warning(bare: Worker) -> None:
    client = Client()
    mistake = errors.InvalidRequestLine("GET")
    bare.handle_error(None, client, ("10.0.0.1", 5), mistake)
    verdict = answers.classify(mistake)
    assert verdict is not None
    assert client.sent == answers.answer(*verdict)
    assert log_of(bare) == [("warning", f"Invalid request from ip=10.0.0.1: {verdict[1]}")]


def test_a_late_head_is_answered_408_even_with_no_address(bare: Worker) -> None:
    client = Client()
    bare.handle_error(None, client, None, HeadTimeout(True))
    verdict = answers.classify(HeadTimeout(True))
    assert verdict is not None
    assert verdict[0] == HTTPStatus.REQUEST_TIMEOUT
    assert client.sent == answers.answer(*verdict)
    assert log_of(bare) == [("warning", f"Invalid request from ip=: {verdict[1]}")]


def test_an_evicted_head_is_answered_and_logged_at_debug_only(bare: Worker) -> None:
    client = Client()
    bare.handle_error(None, client, ("10.0.0.2", 5), Evicted(True))
    verdict = answers.classify(Evicted(True))
    assert verdict is not None
    assert client.sent == answers.answer(*verdict)
    assert log_of(bare) == [("debug", "Evicted a connection from ip=10.0.0.2")]


def test_the_servers_own_failure_is_a_500_and_its_traceback(bare: Worker) -> None:
    client = Client()
    bare.handle_error(None, client, ("10.0.0.1", 5), ValueError("a bug"))
    assert client.sent == answers.answer(HTTPStatus.INTERNAL_SERVER_ERROR, "the server failed")
    assert log_of(bare) == [("exception", "Error handling request")]


def test_a_client_gone_before_its_answer_is_no_error(bare: Worker) -> None:
    bare.handle_error(None, Client(fails=True), ("10.0.0.1", 5), HeadTimeout(True))
    assert [level for level, _ in log_of(bare)] == ["warning"]


def test_the_gates_refusal_is_the_workers_own_answer(bare: Worker) -> None:
    refused, answered = Client(), Client()
    bare.refuse(refused, ("10.0.0.1", 5), HeadTimeout(True))
    bare.handle_error(None, answered, ("10.0.0.1", 5), HeadTimeout(True))
    assert refused.sent == answered.sent != b""
    refusal, answer = log_of(bare)
    assert refusal == answer
    assert answer[1].startswith("Invalid request from ip=10.0.0.1: ")


@pytest.fixture
def stops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, Any]]:
    """gunicorn's own SIGTERM handling, as called: each (signal, frame)."""
    called: list[tuple[int, Any]] = []
    monkeypatch.setattr(
        GeventWorker, "handle_exit", lambda self, sig, frame: called.append((sig, frame))
    )
    return called


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """What the worker asks gevent to run later: each (seconds, function, arguments)."""
    asked: list[tuple[Any, ...]] = []
    monkeypatch.setattr(gevent, "spawn_later", lambda *args: asked.append(args))
    return asked


def test_the_signals_held_since_the_fork_are_taken_once_the_handlers_are_set(
    bare: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    held_while_set: list[set[int]] = []

    def set_handlers(self: Worker) -> None:
        held_while_set.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    monkeypatch.setattr(GeventWorker, "init_signals", set_handlers)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, Worker.SIGNALS)  # as pre_fork leaves it
    try:
        bare.init_signals()
        held_after = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert set(Worker.SIGNALS) <= held_while_set[0]
    assert set(Worker.SIGNALS) & held_after == set()


def test_without_a_drain_sigterm_stops_at_once(
    bare: Worker, stops: list[tuple[int, Any]], later: list[tuple[Any, ...]]
) -> None:
    bare.handle_exit(15, "frame")
    assert stops == [(15, "frame")]
    assert later == []
    assert lifecycle.is_draining() is False


def test_sigterm_drains_then_stops(
    bare: Worker, stops: list[tuple[int, Any]], later: list[tuple[Any, ...]]
) -> None:
    bare.drain_seconds = 3
    bare.handle_exit(15, "frame")
    assert lifecycle.is_draining() is True
    assert stops == []
    ((seconds, stop, *arguments),) = later
    assert (seconds, arguments) == (3, [15, "frame"])
    stop(*arguments)
    assert stops == [(15, "frame")]
    assert log_of(bare) == [("info", "Draining for 3 s before stopping")]


def test_a_second_sigterm_while_draining_stops_at_once(
    bare: Worker, stops: list[tuple[int, Any]], later: list[tuple[Any, ...]]
) -> None:
    bare.drain_seconds = 3
    bare.handle_exit(15, "frame")
    bare.handle_exit(15, "again")
    assert stops == [(15, "again")]
    assert len(later) == 1


class Waiting:
    """A connection as the fairness yield sees it: its idle watcher, made on first use."""

    turn: Any = None


def test_the_fairness_yield_waits_for_the_loop_to_idle_with_one_watcher() -> None:
    sock, others = Waiting(), []
    ran = gevent.spawn(lambda: others.append("served"))
    Worker.yield_to_others(sock)  # type: ignore[arg-type]
    assert others == ["served"]
    first = sock.turn
    assert first is not None
    Worker.yield_to_others(sock)  # type: ignore[arg-type]
    assert sock.turn is first
    ran.join()


class FlushingLog(Log):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush_access_log(self) -> None:
        self.flushes += 1


def test_the_access_log_is_flushed_while_serving_and_once_at_the_end(
    bare: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "ACCESS_LOG_FLUSH_SECONDS", 0.01)
    log = FlushingLog()
    bare.log = log  # type: ignore[assignment]
    seen: list[int] = []

    def serve() -> None:
        # serving until the flusher has flushed twice
        deadline = time.monotonic() + 5
        while log.flushes < 2:
            assert time.monotonic() < deadline, "no flush while serving"
            gevent.sleep(0.001)
        seen.append(log.flushes)

    monkeypatch.setattr(bare, "serve", serve)
    bare.run()
    (while_serving,) = seen
    assert log.flushes == while_serving + 1
    # the flusher is gone: no flush comes after the end
    gevent.sleep(0.03)
    assert log.flushes == while_serving + 1


def test_a_log_without_a_buffer_is_only_served(
    bare: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    monkeypatch.setattr(bare, "serve", lambda: served.append("served"))
    monkeypatch.setattr(gevent, "spawn", pytest.fail)
    bare.run()
    assert served == ["served"]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Worker]:
    """gunicorn's own init_process, as called: each worker it was called for."""
    called: list[Worker] = []
    monkeypatch.setattr(GeventWorker, "init_process", lambda self: called.append(self))
    monkeypatch.setattr(lifecycle, "_server_pid", None)
    for variable, value in {
        "IBDEVSERVER_HEADER_TIMEOUT": "3.5",
        "IBDEVSERVER_BODY_TIMEOUT": "7",
        "IBDEVSERVER_DRAIN_SECONDS": "2",
        "IBDEVSERVER_FAIRNESS_YIELD": "0",
    }.items():
        monkeypatch.setenv(variable, value)
    return called


def test_a_worker_starts_with_the_settings_and_its_two_kinds_of_slots(
    started: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "connections_within_file_limit", lambda wanted: wanted)
    made = unstarted(5000)
    made.init_process()
    assert started == [made]
    assert made.cfg.permit_unconventional_http_method is True
    assert (made.header_timeout, made.body_timeout) == (3.5, 7.0)
    assert (made.drain_seconds, made.fairness_yield) == (2.0, False)
    assert made.lingerer is None
    assert lifecycle.server_pid() == 4321
    connections, greenlets = made.slots, made.greenlet_slots
    assert (connections.limit, connections.headroom) == (5000, EVICTION_HEADROOM)
    assert greenlets.limit == GREENLETS
    # gevent's pool: the greenlets, and room for the evicted on their way out
    assert made.worker_connections == GREENLETS + EVICTION_HEADROOM
    assert log_of(made) == []


def test_a_low_file_limit_holds_fewer_connections_and_says_so(
    started: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "connections_within_file_limit", lambda wanted: 300)
    made = unstarted(5000)
    made.init_process()
    connections, greenlets = made.slots, made.greenlet_slots
    assert (connections.limit, greenlets.limit) == (300, 300)
    assert made.worker_connections == 300 + EVICTION_HEADROOM
    assert log_of(made) == [("warning", "The open-file limit allows 300 connections a worker")]


def test_with_tls_a_connection_holds_a_greenlet_from_accept(
    started: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "connections_within_file_limit", lambda wanted: wanted)
    made = unstarted(5000, certfile="/etc/ssl/certs/x.pem", keyfile="/etc/ssl/private/x.key")
    assert made.cfg.is_ssl
    made.init_process()
    # one kind of slot: a connection's is its greenlet's
    greenlets = made.greenlet_slots
    assert greenlets is made.slots
    assert (greenlets.limit, greenlets.headroom) == (GREENLETS, 0)


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """gunicorn's own handle, as called: each (listener, client, addr, slots open then)."""
    called: list[tuple[Any, ...]] = []

    def handle(self: Worker, listener: Any, client: Any, addr: Any) -> None:
        called.append((listener, client, addr, [self.slots.open, self.greenlet_slots.open]))

    monkeypatch.setattr(GeventWorker, "handle", handle)
    return called


def serving(connections: Slots, greenlets: Slots) -> Worker:
    made = unstarted(10)
    made.header_timeout = 2.0
    made.slots, made.greenlet_slots = connections, greenlets
    return made


def test_a_connection_holds_each_slot_while_handled_and_leaves_them_after(
    handled: list[tuple[Any, ...]],
) -> None:
    made = serving(Slots(10), Slots(10))
    client = Client()
    before = time.monotonic()
    # as StreamServer calls it where no gate comes before (TLS)
    made.handle("listener", client, ("10.0.0.1", 5))
    ((listener, wrapped, addr, held),) = handled
    assert (listener, addr, held) == ("listener", ("10.0.0.1", 5), [1, 1])
    assert isinstance(wrapped, HeadDeadlineSocket)
    assert wrapped._sock is client
    assert wrapped._prefix == b""
    assert wrapped._header_timeout == 2.0
    assert wrapped._keepalive == made.cfg.keepalive
    # a connection of its own, closed with the greenlet
    assert before <= wrapped.connection.accepted <= time.monotonic()
    assert wrapped._deadline == wrapped.connection.accepted + 2.0
    assert [made.slots.open, made.greenlet_slots.open] == [0, 0]
    assert wrapped.connection.holder is CLOSED


def test_the_gates_connection_keeps_its_slot_and_takes_a_greenlet(
    handled: list[tuple[Any, ...]],
) -> None:
    connections, greenlets = Slots(1), Slots(1)
    connection, gate = held(connections)
    _, other = held(greenlets)
    made = serving(connections, greenlets)
    made.handle("listener", Client(), ("10.0.0.1", 5), connection=connection, prefix=b"G")
    # the gate's slot stays its own, nobody evicted for it; the greenlet slot was full
    assert gate.evictions == 0
    assert other.evictions == 1
    ((_, wrapped, _, held_then),) = handled
    assert (wrapped.connection, wrapped._prefix) == (connection, b"G")
    assert held_then == [1, 1]
    assert [connections.open, greenlets.open] == [0, 0]


def test_a_lingering_connection_keeps_its_slot_and_gives_up_its_greenlet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lingerer = Holder()

    def handle(self: Worker, listener: Any, client: Any, addr: Any) -> None:
        client.connection.linger(lingerer)

    monkeypatch.setattr(GeventWorker, "handle", handle)
    made = serving(Slots(10), Slots(10))
    made.handle("listener", Client(), ("10.0.0.1", 5))
    assert [made.slots.open, made.greenlet_slots.open] == [1, 0]


def test_the_fairness_yields_watcher_is_closed_with_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[str] = []

    class Turn:
        def close(self) -> None:
            closed.append("turn")

    def handle(self: Worker, listener: Any, client: Any, addr: Any) -> None:
        client.turn = Turn()

    monkeypatch.setattr(GeventWorker, "handle", handle)
    made = serving(Slots(10), Slots(10))
    made.handle("listener", Client(), ("10.0.0.1", 5))
    assert closed == ["turn"]


def test_a_failing_handle_still_leaves_every_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    def handle(self: Worker, listener: Any, client: Any, addr: Any) -> None:
        raise ConnectionResetError

    monkeypatch.setattr(GeventWorker, "handle", handle)
    made = serving(Slots(10), Slots(10))
    with pytest.raises(ConnectionResetError):
        made.handle("listener", Client(), ("10.0.0.1", 5))
    assert [made.slots.open, made.greenlet_slots.open] == [0, 0]


class Answering:
    """The connection handle_request is given: each call the worker makes on it, kept."""

    def __init__(self, fileno: int = 5) -> None:
        self.calls: list[Any] = []
        self._fileno = fileno

    def head_done(self) -> None:
        self.calls.append("head_done")

    def await_next_head(self) -> None:
        self.calls.append("await_next_head")

    def linger_in(self, lingerer: object, left: int) -> None:
        self.calls.append(("linger_in", lingerer, left))

    def fileno(self) -> int:
        return self._fileno


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """gunicorn's own handle_request, as called (each request), and the fairness yields."""
    called: list[Any] = []

    def handle_request(self: Worker, name: Any, req: Any, sock: Any, addr: Any) -> None:
        called.append(req)
        if req.must_close:
            raise StopIteration  # gunicorn's way to say: close this connection

    monkeypatch.setattr(GeventWorker, "handle_request", handle_request)
    monkeypatch.setattr(Worker, "yield_to_others", staticmethod(lambda sock: called.append(sock)))
    monkeypatch.setattr(worker, "body_left", lambda req, sock: 7)
    return called


def answering(fairness_yield: bool = True) -> Worker:
    made = unstarted(10)
    made.fairness_yield = fairness_yield
    made.lingerer = "lingerer"  # type: ignore[assignment]
    made.alive = True
    return made


def test_a_head_without_a_body_is_answered_and_kept_alive(answered: list[Any]) -> None:
    sock = Answering()
    request = parsed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    answering().handle_request("listener", request, sock, ("10.0.0.1", 5))
    assert answered == [request, sock]
    assert request.must_close is False
    assert sock.calls == ["head_done", "await_next_head"]


def test_without_the_fairness_yield_the_next_head_is_awaited_at_once(answered: list[Any]) -> None:
    sock = Answering()
    request = parsed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    answering(fairness_yield=False).handle_request("listener", request, sock, None)
    assert answered == [request]
    assert sock.calls == ["head_done", "await_next_head"]


def test_a_head_the_server_refuses_is_not_handed_on(answered: list[Any]) -> None:
    sock = Answering()
    with pytest.raises(MissingHost):
        answering().handle_request("listener", parsed(b"GET / HTTP/1.1\r\n\r\n"), sock, None)
    assert answered == []
    assert sock.calls == ["head_done"]


def test_a_body_closes_after_its_answer_and_what_is_left_lingers(answered: list[Any]) -> None:
    sock = Answering()
    request = parsed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
    with pytest.raises(StopIteration):
        answering().handle_request("listener", request, sock, None)
    assert request.must_close is True
    assert sock.calls == ["head_done", ("linger_in", "lingerer", 7)]


@pytest.mark.parametrize(
    ("change", "left"),
    [
        ({"lingerer": None}, 7),
        ({"alive": False}, 7),
        ({}, 0),
    ],
)
def test_nothing_lingers_without_a_lingerer_a_live_worker_or_a_body_left(
    answered: list[Any], monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], left: int
) -> None:
    monkeypatch.setattr(worker, "body_left", lambda req, sock: left)
    made = answering()
    for name, value in change.items():
        setattr(made, name, value)
    sock = Answering()
    request = parsed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
    with pytest.raises(StopIteration):
        made.handle_request("listener", request, sock, None)
    assert sock.calls == ["head_done"]


def test_a_closed_socket_does_not_linger(answered: list[Any]) -> None:
    sock = Answering(fileno=-1)
    request = parsed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
    with pytest.raises(StopIteration):
        answering().handle_request("listener", request, sock, None)
    assert sock.calls == ["head_done"]


def test_a_draining_worker_closes_each_connection_after_its_answer(answered: list[Any]) -> None:
    lifecycle.start_draining()
    sock = Answering()
    request = parsed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    with pytest.raises(StopIteration):
        answering().handle_request("listener", request, sock, None)
    assert request.must_close is True
    # no body: nothing lingers
    assert sock.calls == ["head_done"]
