"""Raw requests and what RFC 9110 and 9112 say the server must answer, for both suites.

Each case is sent as bytes on a fresh connection (REDbot-style): what comes back is
held to the status, the status line's version and, for the answers the server makes
by itself, to the plain-text rules of service/server/answers.py.
"""

import contextlib
import re
import socket
from dataclasses import dataclass
from http import HTTPStatus

HOST = b"Host: ibdevserver\r\n"
STATUS_LINE = re.compile(rb"^HTTP/(\d\.\d) (\d{3}) ([^\r\n]*)\r\n")
# RFC 9110's reason phrases, where Python's are older
RFC_9110_PHRASES = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}
# what every answer the server makes by itself carries
SERVER_ANSWER_HEADERS = (
    b"\r\nContent-Type: text/plain; charset=utf-8\r\n",
    b"\r\nX-Content-Type-Options: nosniff\r\n",
    b"\r\nCache-Control: no-store\r\n",
    b"\r\nConnection: close\r\n",
    b"\r\nDate: ",
)


@dataclass(frozen=True)
class Case:
    name: str
    request: bytes
    status: int
    version: str
    rfc: str
    # answered by the server itself, not the app (the plain-text rules apply)
    by_server: bool = True
    # the Go original answers it alike (same status and version)
    go_agrees: bool = False


CASES = (
    Case("no Host on HTTP/1.1", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "1.1",
         "RFC 9112 3.2", go_agrees=True),
    Case("a malformed Host", b"GET /healthz HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400, "1.1",
         "RFC 9112 3.2", go_agrees=True),
    Case("two Host fields", b"GET /healthz HTTP/1.1\r\n" + HOST + b"Host: other\r\n\r\n", 400,
         "1.1", "RFC 9112 3.2", go_agrees=True),
    Case("no Host on HTTP/1.0", b"GET /healthz HTTP/1.0\r\n\r\n", 200, "1.0",
         "RFC 9112 3.2", by_server=False, go_agrees=True),
    Case("a higher 1.x answered as 1.1", b"GET /healthz HTTP/1.9\r\n" + HOST + b"\r\n", 200,
         "1.1", "RFC 9110 2.5", by_server=False, go_agrees=True),
    Case("major version 2", b"GET /healthz HTTP/2.0\r\n" + HOST + b"\r\n", 505, "1.1",
         "RFC 9110 15.6.6", go_agrees=True),
    Case("major version 0", b"GET /healthz HTTP/0.9\r\n" + HOST + b"\r\n", 505, "1.1",
         "RFC 9110 15.6.6"),
    Case("a malformed version", b"GET /healthz HTTP/one\r\n" + HOST + b"\r\n", 400, "1.1",
         "RFC 9112 2.3"),
    Case("a malformed request line", b"GET /a b HTTP/1.1\r\n" + HOST + b"\r\n", 400, "1.1",
         "RFC 9112 3"),
    Case("a method token nobody here implements", b"BREW /healthz HTTP/1.1\r\n" + HOST
         + b"\r\n", 405, "1.1", "RFC 9110 15.5.6", by_server=False),
    Case("QUERY, a method of its own RFC", b"QUERY /healthz HTTP/1.1\r\n" + HOST + b"\r\n",
         405, "1.1", "RFC 9110 15.5.6", by_server=False),
    Case("a transfer coding nobody here implements", b"GET /healthz HTTP/1.1\r\n" + HOST
         + b"Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n", 501, "1.1", "RFC 9112 6.1"),
    *(Case(f"{coding} before chunked, a coding not implemented here", b"GET /healthz HTTP/1.1\r\n"
           + HOST + b"Transfer-Encoding: %s, chunked\r\n\r\n0\r\n\r\n" % coding.encode(), 501,
           "1.1", "RFC 9112 6.1", go_agrees=True)
      for coding in ("gzip", "deflate", "compress", "identity")),
    Case("gzip and chunked in two Transfer-Encoding fields", b"GET /healthz HTTP/1.1\r\n" + HOST
         + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, "1.1",
         "RFC 9112 6.1", go_agrees=True),
    Case("chunked alone", b"GET /healthz HTTP/1.1\r\n" + HOST
         + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "1.1", "RFC 9112 7.1",
         by_server=False, go_agrees=True),
    # the app reads no body: the answer closes the connection (tests/server/test_worker.py)
    *(Case(f"a chunk size {size.decode()}, in a body never read", b"GET /healthz HTTP/1.1\r\n"
           + HOST + b"Transfer-Encoding: chunked\r\n\r\n%s\r\nabc\r\n0\r\n\r\n" % size, 200, "1.1",
           "RFC 9112 7.1", by_server=False)
      for size in (b"zz", b"ffffffffffffffffff1")),
    Case("the HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "1.1", "RFC 9113 3.4"),
    Case("an asterisk-form GET of major version 2",
         b"GET * HTTP/2.0\r\n" + HOST + b"\r\n", 505, "1.1", "RFC 9110 15.6.6"),
    Case("a lower-case method, a token no path takes",
         b"get /healthz HTTP/1.1\r\n" + HOST + b"\r\n", 405, "1.1", "RFC 9110 9.1",
         by_server=False),
    Case("a method of one byte", b"G /healthz HTTP/1.1\r\n" + HOST + b"\r\n", 405, "1.1",
         "RFC 9110 9.1", by_server=False),
    Case("OPTIONS, like any method a path lacks",
         b"OPTIONS /healthz HTTP/1.1\r\n" + HOST + b"\r\n", 405, "1.1", "RFC 9110 15.5.6",
         by_server=False),
    Case("OPTIONS on a path nobody serves", b"OPTIONS /static/x HTTP/1.1\r\n" + HOST
         + b"\r\n", 404, "1.1", "RFC 9110 15.5.5", by_server=False),
    Case("OPTIONS * asks about the server as a whole", b"OPTIONS * HTTP/1.1\r\n" + HOST
         + b"\r\n", 200, "1.1", "RFC 9110 9.3.7", by_server=False, go_agrees=True),
    Case("a request line too long", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
         414, "1.1", "RFC 9110 15.5.15"),
    Case("a header field too large", b"GET /healthz HTTP/1.1\r\n" + HOST + b"X-Big: "
         + b"b" * 9000 + b"\r\n\r\n", 431, "1.1", "RFC 6585 5"),
    Case("a head too large for anyone", b"GET /healthz HTTP/1.1\r\n" + HOST
         + b"".join(b"X-Big-%d: %s\r\n" % (n, b"b" * 8000) for n in range(200)) + b"\r\n",
         431, "1.1", "RFC 6585 5", go_agrees=True),
    Case("an expectation not supported", b"GET /healthz HTTP/1.1\r\n" + HOST
         + b"Expect: teapot\r\n\r\n", 417, "1.1", "RFC 9110 10.1.1"),
    Case("Content-Length twice, differing", b"GET /healthz HTTP/1.1\r\n" + HOST
         + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "1.1", "RFC 9112 6.3"),
    Case("an absolute-form target", b"GET http://ibdevserver/healthz HTTP/1.1\r\n" + HOST
         + b"\r\n", 200, "1.1", "RFC 9112 3.2.2", by_server=False),
)  # fmt: skip


def told_to_close(answer: bytes) -> bool:
    """Whether `answer` holds a whole answer, its body included, that says Connection: close."""
    head, whole, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head + b"\r\n")
    return (
        bool(whole)
        and b"\r\nConnection: close\r\n" in head + b"\r\n"
        and length is not None
        and len(body) >= int(length[1])
    )


def exchange(address: tuple[str, int], request: bytes, timeout: float = 5.0) -> bytes:
    """Send `request` on a new connection and read the first answer (to close or 5 s).

    Told to close, the client closes its side, as a client does, and reads on to the
    server's close: a body the server lingers on then ends, and an answer more is seen.
    """
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        closing = False
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and b"Connection: keep-alive" in answer:
                    break
                if not closing and told_to_close(answer):
                    closing = True
                    # the server may have closed first, and reset the connection
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def status_of(answer: bytes) -> tuple[str, int]:
    """The version and status of an answer's status line."""
    match = STATUS_LINE.match(answer)
    assert match is not None, answer[:200]
    return match[1].decode(), int(match[2])


def reason_of(answer: bytes) -> str:
    """The reason phrase of an answer's status line."""
    match = STATUS_LINE.match(answer)
    assert match is not None, answer[:200]
    return match[3].decode()


def rfc_9110_phrase(status: int) -> str:
    return RFC_9110_PHRASES.get(status, HTTPStatus(status).phrase)


def assert_answers(case: Case, answer: bytes) -> None:
    """`answer` is what `case` must get; the server's own answers are one plain line."""
    assert status_of(answer) == (case.version, case.status), (case.name, answer[:300])
    # one style of reason phrase, the app's and the server's alike
    assert reason_of(answer) == rfc_9110_phrase(case.status), (case.name, answer[:300])
    if not case.by_server:
        return
    head, _, body = answer.partition(b"\r\n\r\n")
    for header in SERVER_ANSWER_HEADERS:
        assert header in head + b"\r\n", (case.name, header, head)
    assert re.fullmatch(rb"%d [A-Za-z -]+: [A-Za-z0-9 ./-]+\n" % case.status, body), body
    assert f"Content-Length: {len(body)}\r\n".encode() in head + b"\r\n"
    # no echo of what the client sent
    assert b"healthz" not in body
    assert b"ibdevserver" not in body
