"""service/server/worker.py's Worker.serve in-process: a real listener on loopback in this
process's gevent hub, the worker never started. In mutmut's selection, which runs each
mutant in a fork of a process whose hub never ran (setup.cfg's process_isolation)."""

from typing import Any

import gevent
import gevent.socket
import pytest
from gevent.server import StreamServer

from service.server.linger import Lingerer
from service.server.slots import Slots
from service.server.worker import Worker
from tests.server.workers import unstarted


def listening() -> Any:
    listener = gevent.socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


def serving_on(listeners: list[Any], workers: int = 1) -> tuple[Worker, list[Any]]:
    """A worker on `listeners`, whose handle answers `ok`, closes and stops the worker."""
    made = unstarted(10, workers=workers, graceful_timeout=5)
    made.sockets = listeners
    made.slots = made.greenlet_slots = Slots(10)
    made.header_timeout = made.body_timeout = 2.0
    made.alive = True
    handled: list[Any] = []
    made.notify = lambda: handled.append("notified")  # type: ignore[method-assign]

    def handle(listener: Any, client: Any, addr: Any, **gate: Any) -> None:
        handled.append((listener.getsockname(), gate["prefix"]))
        client.sendall(b"ok")
        client.close()
        made.alive = False

    made.handle = handle  # type: ignore[method-assign,assignment]
    return made, handled


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_hands_each_whole_head_on_through_the_gate_and_stops_when_told(
    workers: int,
) -> None:
    listener = listening()
    address = listener.getsockname()
    made, handled = serving_on([listener], workers)
    accepts: list[int] = []
    real_start = StreamServer.start

    def start(server: Any) -> None:
        accepts.append(server.max_accept)
        real_start(server)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StreamServer, "start", start)
        served = gevent.spawn(made.serve)
        with gevent.socket.create_connection(address, timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert client.recv(2) == b"ok"
        served.join(timeout=5)
    assert served.successful()
    assert handled[0] == "notified"
    assert (address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") in handled
    assert isinstance(made.lingerer, Lingerer)
    # one accept a wakeup when workers share the listener, as gunicorn's
    assert accepts == [1 if workers > 1 else StreamServer.max_accept]
    # the listener is closed: no new connection is taken
    with pytest.raises(ConnectionRefusedError):
        gevent.socket.create_connection(address, timeout=5)
