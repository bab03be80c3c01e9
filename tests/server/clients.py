"""A client over a raw socket: the heads it sends, what it reads back, and what gunicorn's
parser makes of a head."""

import re
import resource
import socket
import time

from gunicorn.config import Config
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser

# what a request head looks like when it arrives whole
HEAD = b"GET /healthz HTTP/1.1\r\nHost: ibdevserver\r\n\r\n"
PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: ibdevserver\r\nX-Slow: "
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ", re.M)


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in STATUS_LINE.findall(answer)]


def read_to_close(sock: socket.socket, started: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and when it closed (from `started`)."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer, time.monotonic() - started


def answer_one(sock: socket.socket) -> bytes:
    """Send a whole head on a kept-alive connection and read its answer (Content-Length 3)."""
    sock.sendall(HEAD)
    answer = b""
    while not answer.endswith(b"\r\n\r\nok\n"):
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    return answer


def allow_open_files(count: int) -> None:
    """Let this process, and the gunicorn it starts, open `count` files (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count)), hard))


def parsed(head: bytes) -> Request:
    """The request gunicorn parses from `head`."""
    client, server = socket.socketpair()
    try:
        client.sendall(head)
        client.shutdown(socket.SHUT_WR)
        request: Request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
        return request
    finally:
        client.close()
        server.close()
