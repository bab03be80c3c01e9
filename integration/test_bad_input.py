"""Malformed and hostile requests over raw sockets: a 4xx or a closed connection, never a 5xx.

Each case is one connection: send the bytes, half-close, read until the server closes
(bounded by a timeout: a hang fails the test). Afterwards the service must be healthy.
"""

import contextlib
import re
import select
import socket
import time

import pytest
import requests
from docker.models.containers import Container
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.helpers import address, container_settings, exchange

STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
HOST = b"Host: ibdevserver\r\n"


def statuses(answer: bytes) -> list[int]:
    """The status codes of every response in `answer`, in order."""
    return [int(code) for code in STATUS_LINE.findall(answer)]


def request(line: bytes, headers: bytes = HOST) -> bytes:
    return line + b"\r\n" + headers + b"\r\n"


# a request of HTTP/2.0 is no mistake but a version not supported: 505, held by the
# conformance table (tests/http_cases.py) with the rest of what RFC 9110 asks
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
}
# nor is `OPTIONS *` a mistake: a question to the server as a whole (RFC 9110 9.3.7),
# answered 200 with Allow, in the conformance table too


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
    # the two 5xx the RFCs prescribe for a request, and only where they apply: 505 for
    # a well-formed version of another major (RFC 9110 15.6.6), 501 for a transfer
    # coding not implemented (RFC 9112 6.1)
    prescribed = set()
    if re.fullmatch(rb"HTTP/\d\.\d", version) and not version.startswith(b"HTTP/1."):
        prescribed.add(505)
    if any(line.lower().startswith(b"transfer-encoding:") for line in headers):
        prescribed.add(501)
    assert all(code < 500 or code in prescribed for code in statuses(answer)), answer[:200]
    assert b"root:" not in answer


def test_generated_bytes_never_get_a_5xx_or_a_hang(server_url: str) -> None:
    @settings(max_examples=200, deadline=None)
    @given(st.binary(min_size=1, max_size=512))
    def any_bytes(payload: bytes) -> None:
        answer = exchange(server_url, payload)
        assert all(code < 500 for code in statuses(answer)), answer[:200]

    any_bytes()
    assert requests.get(f"{server_url}/healthz", timeout=5).status_code == 200


# what a TLS 1.2 ClientHello begins with: a handshake record, no CR or LF anywhere
TLS_CLIENT_HELLO = (
    bytes.fromhex("16030100c4010000c00303") + bytes(range(32)) + b"\x00\x00\x02\x13\x01"
)
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"


@pytest.mark.parametrize(
    "payload", [TLS_CLIENT_HELLO, b"\x00\x00\x00\x00"], ids=["TLS ClientHello", "NUL bytes"]
)
def test_bytes_that_cannot_begin_a_request_get_a_400_within_a_second(
    server_url: str, payload: bytes
) -> None:
    host, port = address(server_url)
    with socket.create_connection((host, port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(payload)  # and no half-close: the server must not wait for more
        answer = sock.recv(4096)
        elapsed = time.monotonic() - started
    assert statuses(answer) == [400], answer[:200]
    assert b"\r\nConnection: close\r\n" in answer
    assert elapsed < 1.0


def test_ssh_banner_gets_a_400(server_url: str) -> None:
    answer = exchange(server_url, SSH_BANNER)
    assert statuses(answer) == [400], answer[:200]


@pytest.fixture(scope="module")
def header_timeout(server_container: Container) -> float:
    """The head deadline the stack's server runs with."""
    return container_settings(server_container).header_timeout


def stalled_connection_outcome(
    server_url: str, trickle: bytes, header_timeout: float
) -> tuple[bytes, float]:
    """Send `trickle` a byte a second (bounded by its length); return the answer and when."""
    host, port = address(server_url)
    with socket.create_connection((host, port), timeout=header_timeout + 5) as sock:
        started = time.monotonic()
        for byte in trickle:
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                break
            sock.sendall(bytes([byte]))
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(4096):
                answer += chunk
        return answer, time.monotonic() - started


def test_a_trickled_head_is_cut_off_with_408_at_the_deadline(
    server_url: str, header_timeout: float
) -> None:
    trickle = b"GET / HTTP/1.1\r\nHost: ibdevserver\r\nX-Slow: " + b"s" * 30
    answer, elapsed = stalled_connection_outcome(server_url, trickle, header_timeout)
    assert statuses(answer) == [408], answer[:200]
    assert b"\r\nConnection: close\r\n" in answer
    assert header_timeout - 0.5 < elapsed < header_timeout + 2


def test_an_empty_connection_is_closed_at_the_deadline(
    server_url: str, header_timeout: float
) -> None:
    answer, elapsed = stalled_connection_outcome(server_url, b"", header_timeout)
    assert answer == b""
    assert header_timeout - 0.5 < elapsed < header_timeout + 2


def test_healthy_after_hostile_clients(server_url: str) -> None:
    for payload in (TLS_CLIENT_HELLO, SSH_BANNER):
        exchange(server_url, payload)
    assert requests.get(f"{server_url}/healthz", timeout=5).status_code == 200
