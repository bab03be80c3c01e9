"""The worker class's mechanisms, each against a real gunicorn on loopback (no Docker).

Deadlines are made small (a 1 s head deadline, a 2 s keepalive) so that each test
takes seconds; what is measured is when the server answers or closes, and what.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from service.server.worker import STOP_CHECK_SECONDS
from tests.server.clients import HEAD, PARTIAL_HEAD, answer_one, read_to_close, statuses
from tests.servers import SHORT, gunicorn_process, one_worker

HEADER_TIMEOUT = SHORT.header
KEEPALIVE = SHORT.keepalive


@pytest.fixture
def server(short_deadlines: tuple[str, int]) -> tuple[str, int]:
    """The session's worker with SHORT deadlines (tests/server/conftest.py)."""
    return short_deadlines


def connect(address: tuple[str, int]) -> tuple[socket.socket, float]:
    sock = socket.create_connection(address, timeout=HEADER_TIMEOUT + KEEPALIVE + 5)
    return sock, time.monotonic()


def send_at(sock: socket.socket, started: float, when: float, data: bytes) -> None:
    time.sleep(max(started + when - time.monotonic(), 0))
    sock.sendall(data)


def test_a_new_connections_head_is_due_within_the_deadline_of_accept(
    server: tuple[str, int],
) -> None:
    # the first byte just before the deadline must not start a second deadline
    sock, started = connect(server)
    with sock:
        send_at(sock, started, 0.9 * HEADER_TIMEOUT, PARTIAL_HEAD[:1])
        send_at(sock, started, 0.95 * HEADER_TIMEOUT, PARTIAL_HEAD[1:])
        answer, closed = read_to_close(sock, started)
    assert statuses(answer) == [408], answer
    assert b"\r\nConnection: close\r\n" in answer
    assert HEADER_TIMEOUT - 0.1 < closed < HEADER_TIMEOUT + 0.4


def test_a_silent_new_connection_is_closed_without_an_answer(server: tuple[str, int]) -> None:
    sock, started = connect(server)
    with sock:
        answer, closed = read_to_close(sock, started)
    assert answer == b""
    assert HEADER_TIMEOUT - 0.1 < closed < HEADER_TIMEOUT + 0.4


def test_a_whole_head_just_inside_the_deadline_is_answered(server: tuple[str, int]) -> None:
    sock, started = connect(server)
    with sock:
        time.sleep(max(started + 0.8 * HEADER_TIMEOUT - time.monotonic(), 0))
        assert statuses(answer_one(sock)) == [200]


def test_a_kept_alive_connection_idles_for_keepalive_then_has_the_head_deadline(
    server: tuple[str, int],
) -> None:
    sock, _ = connect(server)
    with sock:
        answer_one(sock)
        # idle longer than the head deadline, within keepalive: still served
        time.sleep(HEADER_TIMEOUT + 0.3)
        assert statuses(answer_one(sock)) == [200]
        # idle again, then a head that starts and stalls: 408 a head deadline after its first byte
        time.sleep(HEADER_TIMEOUT + 0.3)
        first_byte = time.monotonic()
        sock.sendall(PARTIAL_HEAD)
        answer, closed = read_to_close(sock, first_byte)
    assert statuses(answer) == [408], answer
    assert HEADER_TIMEOUT - 0.1 < closed < HEADER_TIMEOUT + 0.4


def test_an_idle_kept_alive_connection_is_closed_silently_after_keepalive(
    server: tuple[str, int],
) -> None:
    sock, _ = connect(server)
    with sock:
        answer_one(sock)
        idle = time.monotonic()
        answer, closed = read_to_close(sock, idle)
    assert answer == b""
    assert KEEPALIVE - 0.1 < closed < KEEPALIVE + 0.6


@pytest.mark.parametrize("first", [b"\x16\x03\x01\x02\x00", b"\x00", b"SSH-2.0-x\r\n"[3:]])
def test_a_first_byte_no_method_begins_with_gets_400_at_once(
    server: tuple[str, int], first: bytes
) -> None:
    sock, started = connect(server)
    with sock:
        sock.sendall(first)
        answer, closed = read_to_close(sock, started)
    assert statuses(answer) == [400], answer
    assert closed < 0.5


def test_a_request_with_a_body_is_answered_then_closed(server: tuple[str, int]) -> None:
    sock, started = connect(server)
    with sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: ibdevserver\r\nContent-Length: 5\r\n\r\nhello"
        )
        answer, closed = read_to_close(sock, started)
    assert statuses(answer) == [200], answer
    assert b"\r\nConnection: close\r\n" in answer
    assert closed < 0.5


@pytest.mark.parametrize("size", [b"zz", b"ffffffffffffffffff1"])
def test_a_malformed_chunked_body_is_never_read(server: tuple[str, int], size: bytes) -> None:
    # answered as if it had no body: nothing after the head is parsed as a request, so
    # the one hidden in the body is never served (docs/security.md). A size too large
    # to come lingers (server/linger.py) until the client, told to close, closes
    sock, _ = connect(server)
    with sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: ibdevserver\r\nTransfer-Encoding: chunked\r\n\r\n"
            + size
            + b"\r\n"
            + HEAD
        )
        time.sleep(0.3)
        done = time.monotonic()
        sock.shutdown(socket.SHUT_WR)
        answer, closed = read_to_close(sock, done)
    assert statuses(answer) == [200], answer
    assert b"\r\nConnection: close\r\n" in answer
    assert closed < 0.5


def test_sigterm_drains_readiness_fails_serving_goes_on(tmp_path: Path) -> None:
    drain = 2.0
    status = tmp_path / "status"
    status.write_text("Name:\tgunicorn\n")
    with (
        (tmp_path / "gunicorn.log").open("wb") as log,
        gunicorn_process(
            status, log, IBDEVSERVER_WORKERS="1", IBDEVSERVER_DRAIN_SECONDS=str(drain)
        ) as (url, process),
    ):
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(0.3)
        during = [
            (
                requests.get(f"{url}/readyz", timeout=5).status_code,
                requests.get(url, timeout=5).status_code,
            )
            for _ in range(5)
        ]
        assert time.monotonic() - signalled < drain
        process.wait(timeout=drain + 10)
        stopped = time.monotonic() - signalled
    assert during == [(503, 200)] * 5
    assert drain <= stopped < drain + 5


def test_a_head_on_its_way_at_sigterm_is_still_answered(tmp_path: Path) -> None:
    """gunicorn's worker serves what is in flight until graceful_timeout; a head on its
    way, not yet holding a greenlet (service/server/gate.py), is in flight too."""
    with one_worker(tmp_path) as (address, process):
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(PARTIAL_HEAD)
            time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
            # past the worker's next look at whether it is still alive
            time.sleep(5 * STOP_CHECK_SECONDS)
            sock.sendall(b"1\r\n\r\n")
            answer, _ = read_to_close(sock, time.monotonic())
        process.wait(timeout=30)
    assert statuses(answer) == [200], answer


def test_a_silent_connection_does_not_hold_a_stopping_worker(tmp_path: Path) -> None:
    """Nothing of it is in flight; waiting for its head deadline (10 s here) would take
    the worker past the master's graceful_timeout, and the master kills it."""
    with (
        one_worker(tmp_path) as (address, process),
        socket.create_connection(address, timeout=15) as sock,
    ):
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        answer, _ = read_to_close(sock, signalled)
        process.wait(timeout=30)
        stopped = time.monotonic() - signalled
    assert answer == b""
    # the worker looks whether it is still alive every STOP_CHECK_SECONDS
    assert stopped < 3, stopped


GREEDY_HEAD = HEAD.replace(b"\r\n\r\n", b"\r\nUser-Agent: greedy\r\n\r\n")


def served_order(log: Path) -> list[str]:
    """The access lines of the greedy client and of /version, in the order they were served."""
    lines = log.read_text().splitlines()
    return [line for line in lines if '"greedy"' in line or '"GET /version' in line]


def test_the_fairness_yield_serves_another_connection_between_pipelined_requests(
    tmp_path: Path,
) -> None:
    # one client pipelines many requests in one write; a second client's request,
    # sent right after, must not wait for all of them
    status = tmp_path / "status"
    status.write_text("Name:\tgunicorn\n")
    pipelined = 300
    log_path = tmp_path / "gunicorn.log"
    with (
        log_path.open("wb") as log,
        gunicorn_process(status, log, IBDEVSERVER_WORKERS="1") as (url, _),
    ):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as greedy:
            greedy.sendall(GREEDY_HEAD * pipelined)
            # closed once answered: a kept-alive one would hold the stop for its keepalive
            other = requests.get(f"{url}/version", headers={"Connection": "close"}, timeout=10)
            received = b""
            while received.count(b"\r\n\r\nok\n") < pipelined:
                received += greedy.recv(65536)
        assert other.status_code == 200
    order = served_order(log_path)
    served_before = next(index for index, line in enumerate(order) if "/version" in line)
    assert len(order) == pipelined + 1
    assert served_before < pipelined // 2, served_before


def test_the_fairness_yield_can_be_turned_off(tmp_path: Path) -> None:
    # the same exchange without the yield: the greedy connection goes first, whole
    status = tmp_path / "status"
    status.write_text("Name:\tgunicorn\n")
    log_path = tmp_path / "gunicorn.log"
    with (
        log_path.open("wb") as log,
        gunicorn_process(status, log, IBDEVSERVER_WORKERS="1", IBDEVSERVER_FAIRNESS_YIELD="0") as (
            url,
            _,
        ),
    ):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as greedy:
            greedy.sendall(GREEDY_HEAD * 300)
            assert requests.get(f"{url}/version", timeout=10).status_code == 200
    order = served_order(log_path)
    assert len(order) == 301
    assert "/version" in order[-1]


def test_a_bad_value_stops_gunicorn_at_start_naming_the_variable(status_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf"],
        env={**os.environ, "IBDEVSERVER_WORKERS": "many"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "IBDEVSERVER_WORKERS='many': expected a whole number" in result.stderr
