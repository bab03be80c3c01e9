"""Malformed and hostile requests over raw sockets: a 4xx or a closed connection, never a 5xx.

Each case is one connection: send the bytes, half-close, read until the server closes
(bounded by a timeout: a hang fails the test). Afterwards the service must be healthy.
"""

import re
import socket
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

READ_TIMEOUT = 5.0
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
HOST = b"Host: ibdevserver\r\n"


def exchange(url: str, payload: bytes) -> bytes:
    """Send `payload` on a new connection, half-close it, and read all the server says."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=READ_TIMEOUT) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse to read the rest: an answer in itself
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # closed without an answer
    return received


def statuses(answer: bytes) -> list[int]:
    """The status codes of every response in `answer`, in order."""
    return [int(code) for code in STATUS_LINE.findall(answer)]


def request(line: bytes, headers: bytes = HOST) -> bytes:
    return line + b"\r\n" + headers + b"\r\n"


MALFORMED = {
    "request line over the limit": request(b"GET /" + b"a" * 8000 + b" HTTP/1.1"),
    "too many headers": request(
        b"GET / HTTP/1.1", HOST + b"".join(b"X-%d: 1\r\n" % n for n in range(200))
    ),
    "one huge header": request(b"GET / HTTP/1.1", HOST + b"X-Big: " + b"b" * 20000 + b"\r\n"),
    "NUL in the method": request(b"G\x00T / HTTP/1.1"),
    "control byte in the method": request(b"GE\x07T / HTTP/1.1"),
    "NUL in the path": request(b"GET /\x00 HTTP/1.1"),
    "control bytes in the path": request(b"GET /\x01\x1b[2J HTTP/1.1"),
    "lowercase method": request(b"get / HTTP/1.1"),
    "HTTP/0.9 request line": b"GET /\r\n",
    "HTTP/2.0 request line": request(b"GET / HTTP/2.0"),
    "Content-Length with Transfer-Encoding": request(
        b"POST / HTTP/1.1",
        HOST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    )
    + b"0\r\n\r\n",
    "negative Content-Length": request(b"POST / HTTP/1.1", HOST + b"Content-Length: -5\r\n"),
    "duplicated Content-Length": request(
        b"POST / HTTP/1.1", HOST + b"Content-Length: 1\r\nContent-Length: 2\r\n"
    )
    + b"xx",
    "unknown method": request(b"BREW / HTTP/1.1"),
    "non-UTF-8 path": request(b"GET /\xff\xfe HTTP/1.1"),
    "percent-encoded NUL path": request(b"GET /%00 HTTP/1.1"),
    "dot-dot path": request(b"GET /../../etc/passwd HTTP/1.1"),
    "encoded dot-dot path": request(b"GET /..%2f..%2fetc%2fpasswd HTTP/1.1"),
    "absolute-form to a file": request(b"GET http://ibdevserver/../../etc/passwd HTTP/1.1"),
    "asterisk target": request(b"GET * HTTP/1.1"),
    "OPTIONS asterisk": request(b"OPTIONS * HTTP/1.1"),
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_gets_a_4xx_or_a_closed_connection(
    server_url: str, payload: bytes
) -> None:
    answer = exchange(server_url, payload)
    assert b"root:" not in answer
    assert all(400 <= code < 500 for code in statuses(answer)), answer[:200]
    assert answer == b"" or statuses(answer), answer[:200]


def test_absolute_form_for_the_page_itself_is_served(server_url: str) -> None:
    # servers must accept absolute-form (RFC 9112, 3.2.2): it is not bad input
    answer = exchange(server_url, request(b"GET http://ibdevserver/ HTTP/1.1"))
    assert statuses(answer) == [200]


def test_healthy_after_bad_input(server_url: str) -> None:
    for payload in MALFORMED.values():
        exchange(server_url, payload)
    assert requests.get(f"{server_url}/healthz", timeout=5).status_code == 200
    assert requests.get(server_url, timeout=5).status_code == 200


methods = st.one_of(
    st.sampled_from([b"GET", b"HEAD", b"POST", b"get", b"PRI"]), st.binary(max_size=12)
)
targets = st.one_of(
    st.sampled_from([b"/", b"*", b"/readyz", b"/metrics", b"http://x/"]),
    st.binary(max_size=64).map(lambda raw: b"/" + raw),
)
versions = st.one_of(
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b""]), st.binary(max_size=10)
)
header_lines = st.lists(
    st.tuples(st.binary(min_size=1, max_size=20), st.binary(max_size=40)).map(
        lambda pair: pair[0] + b": " + pair[1] + b"\r\n"
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    target=targets,
    version=versions,
    headers=header_lines,
    tail=st.binary(max_size=32),
)
def test_generated_requests_never_get_a_5xx_or_a_hang(
    server_url: str, method: bytes, target: bytes, version: bytes, headers: list[bytes], tail: bytes
) -> None:
    payload = method + b" " + target + b" " + version + b"\r\n" + b"".join(headers) + b"\r\n" + tail
    answer = exchange(server_url, payload)
    assert all(code < 500 for code in statuses(answer)), answer[:200]
    assert b"root:" not in answer


def test_generated_bytes_never_get_a_5xx_or_a_hang(server_url: str) -> None:
    @settings(max_examples=200, deadline=None)
    @given(st.binary(min_size=1, max_size=512))
    def any_bytes(payload: bytes) -> None:
        answer = exchange(server_url, payload)
        assert all(code < 500 for code in statuses(answer)), answer[:200]

    any_bytes()
    assert requests.get(f"{server_url}/healthz", timeout=5).status_code == 200
