"""The lingering close: an answered request's body still on its way, read and dropped in
the hub (service/server/linger.py), against a real gunicorn on loopback (no Docker)."""

import re
import socket
import time
from pathlib import Path

import pytest

from service.server.linger import DISCARD_BYTES
from service.server.worker import EVICTION_HEADROOM, GREENLETS
from tests.server.clients import HEAD, allow_open_files, read_to_close, statuses
from tests.servers import SHORT, one_worker

BODY_TIMEOUT = SHORT.body
# a whole head that declares a body, as a slow-body (R.U.D.Y.) client sends it
SLOW_BODY = b"POST / HTTP/1.1\r\nHost: ibdevserver\r\nContent-Length: %d\r\n\r\n"
CHUNKED = b"POST / HTTP/1.1\r\nHost: ibdevserver\r\nTransfer-Encoding: chunked\r\n\r\n"
# lingering connections beyond every greenlet the worker has, and its headroom
MORE_THAN_GREENLETS = GREENLETS + EVICTION_HEADROOM + 100


@pytest.fixture
def server(short_deadlines: tuple[str, int]) -> tuple[str, int]:
    """The session's worker with SHORT deadlines (tests/server/conftest.py)."""
    return short_deadlines


def answer_of(sock: socket.socket) -> bytes:
    """The one answer the server sends first, whole, by its Content-Length."""
    answer = b""
    while True:
        head, blank, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head + b"\r\n")
        if blank and length is not None and len(body) >= int(length[1]):
            return answer
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk


def test_an_unsent_body_is_answered_at_once_and_closed_at_the_deadline(
    server: tuple[str, int],
) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(SLOW_BODY % 100_000 + b"a")
        answer = answer_of(sock)
        answered = time.monotonic() - started
        # a byte a second, as R.U.D.Y. sends it: nothing the server waits for
        sock.sendall(b"a")
        rest, closed = read_to_close(sock, started)
    assert statuses(answer) == [405], answer
    assert b"\r\nConnection: close\r\n" in answer
    assert answered < 0.5
    assert rest == b""
    assert BODY_TIMEOUT - 0.1 < closed < BODY_TIMEOUT + 0.6, closed


def test_a_body_that_comes_after_the_answer_is_closed_as_it_ends(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(SLOW_BODY % 10 + b"hello")
        answer = answer_of(sock)
        time.sleep(0.3)
        ended = time.monotonic()
        sock.sendall(b"world")
        _, closed = read_to_close(sock, ended)
    assert statuses(answer) == [405], answer
    assert closed < 0.3, closed


def test_a_chunked_body_that_has_come_is_closed_at_once(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(CHUNKED + b"5\r\nhello\r\n0\r\n\r\n")
        answer, closed = read_to_close(sock, started)
    assert statuses(answer) == [405], answer
    assert closed < 0.5, closed


def test_a_chunked_body_still_on_its_way_lingers(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(CHUNKED + b"5\r\nhel")
        answer = answer_of(sock)
        _, closed = read_to_close(sock, started)
    assert statuses(answer) == [405], answer
    assert BODY_TIMEOUT - 0.1 < closed < BODY_TIMEOUT + 0.6, closed


@pytest.mark.parametrize(
    ("sent", "lingers"), [(DISCARD_BYTES // 2, True), (2 * DISCARD_BYTES, False)]
)
def test_no_more_than_the_bound_is_read(server: tuple[str, int], sent: int, lingers: bool) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(SLOW_BODY % (10 * DISCARD_BYTES))
        answer = answer_of(sock)
        started = time.monotonic()
        # loopback's buffers take it all at once
        sock.sendall(b"a" * sent)
        try:
            _, closed = read_to_close(sock, started)
        except ConnectionResetError:
            # closed with the rest unread
            closed = time.monotonic() - started
    assert statuses(answer) == [405], answer
    if lingers:
        assert BODY_TIMEOUT - 0.1 < closed < BODY_TIMEOUT + 0.6, closed
    else:
        assert closed < 0.5, closed


def test_lingering_connections_hold_no_greenlet_and_go_first(tmp_path: Path) -> None:
    lingering = MORE_THAN_GREENLETS
    allow_open_files(lingering + 500)
    held: list[socket.socket] = []
    with one_worker(
        tmp_path,
        IBDEVSERVER_BODY_TIMEOUT="60",
        IBDEVSERVER_WORKER_CONNECTIONS=str(lingering),
    ) as (address, _):
        try:
            for _ in range(lingering):
                sock = socket.create_connection(address, timeout=5)
                sock.sendall(SLOW_BODY % 100_000)
                assert statuses(answer_of(sock)) == [405]
                held.append(sock)
            # as many as the worker has greenlets and more, each still held
            for sock in held:
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1)
            # the slots are full: an honest connection takes the oldest lingering one's
            with socket.create_connection(address, timeout=5) as first_honest:
                first_honest.sendall(HEAD)
                first = first_honest.recv(65536)
            with socket.create_connection(address, timeout=5) as second_honest:
                second_honest.sendall(HEAD)
                second = second_honest.recv(65536)
            held[0].settimeout(2)
            oldest = held[0].recv(1)
            held[-1].setblocking(False)
            with pytest.raises(BlockingIOError):
                held[-1].recv(1)
        finally:
            for sock in held:
                sock.close()
    assert statuses(first) == [200], first
    assert statuses(second) == [200], second
    assert oldest == b""


def stream(sock: socket.socket, most: int, seconds: float) -> tuple[bool, float]:
    """Send up to `most` bytes for up to `seconds`: whether the server cut it off, and when."""
    started, sent = time.monotonic(), 0
    sock.settimeout(0.5)
    try:
        while sent < most and time.monotonic() - started < seconds:
            sent += sock.send(b"a" * 65536)
    except (ConnectionResetError, BrokenPipeError, TimeoutError):
        return True, time.monotonic() - started
    return False, time.monotonic() - started


def test_a_chunked_body_streamed_fast_is_read_no_further_than_the_bound(
    server: tuple[str, int],
) -> None:
    # its end is in its own framing, so the worker reads what has come before it lets
    # go: never more than the bound, however fast the bytes come
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(CHUNKED + b"%x\r\n" % (100 * DISCARD_BYTES))
        cut, when = stream(sock, 80 * DISCARD_BYTES, 3 * BODY_TIMEOUT)
    assert cut, when
    assert when < BODY_TIMEOUT, when
