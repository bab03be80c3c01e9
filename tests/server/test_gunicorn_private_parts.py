"""The parts of gunicorn the server room leans on that gunicorn does not promise: each
test names the attribute, so that an upgrade that moves one fails here, in the fast
loop, before a flood finds it (setup.cfg bounds gunicorn to the major version tested)."""

import hashlib
import inspect
import socket
from collections.abc import Iterator

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http.body import LengthReader
from gunicorn.http.parser import RequestParser
from gunicorn.workers.ggevent import GeventWorker

# the sha256 of GeventWorker.run's source, of which service/server/worker.py's serve()
# is a changed copy: a new one must be read against serve() before this is updated
GEVENT_WORKER_RUN = "50119854ef8be38caa6e96a5978978de9c42bc0b24ac22228101399e7ef3005d"


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected client and server socket."""
    client, server = socket.socketpair()
    yield client, server
    client.close()
    server.close()


def test_gevent_worker_run_is_the_one_serve_was_copied_from() -> None:
    source = inspect.getsource(GeventWorker.run)
    assert hashlib.sha256(source.encode()).hexdigest() == GEVENT_WORKER_RUN, (
        "GeventWorker.run changed: re-read service/server/worker.py's serve() against it"
    )


def test_the_loggers_get_user_is_there() -> None:
    # service/server/access_log.py's %(u)s atom calls it
    assert callable(getattr(Logger, "_get_user", None))


def test_a_bodys_reader_shows_its_length_and_what_has_come(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # service/server/worker.py's body_left reads req.body.reader.length and
    # req.body.reader.unreader.buf: what of the body came with the head
    client, server = pair
    client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    assert request.body is not None
    reader = request.body.reader
    assert isinstance(reader, LengthReader)
    assert reader.length == 10
    assert reader.unreader.buf.getvalue() == b"abc"


def test_the_parser_stops_when_the_client_has_gone(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # the server's close of a connection relies on StopIteration from the parser
    client, server = pair
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    client.shutdown(socket.SHUT_WR)
    parser = RequestParser(Config(), server, ("127.0.0.1", 1))
    next(parser)
    with pytest.raises(StopIteration):
        next(parser)
