"""What the server answers by itself, before the app sees a request: one plain line.

Each answer is `<status> <reason>: <cause>` as text/plain, with Date,
Content-Length, X-Content-Type-Options, Cache-Control: no-store and Connection:
close, the way Go's net/http answers (RFC 9110 section 6.6.1 asks for Date). The
cause is ours, never an echo of what the client sent: nothing a client writes is
reflected back.
"""

import email.utils
import re
from http import HTTPStatus

from gunicorn.http import errors

from service.reason_phrases import reason_phrase


class HeadTimeout(Exception):
    """The request head did not arrive in time; `arrived` says whether any of it did."""

    def __init__(self, arrived: bool) -> None:
        super().__init__("request head deadline passed" if arrived else "no request arrived")
        self.arrived = arrived


class Evicted(Exception):
    """A newer connection took this one's slot; `arrived` says whether any of its head did."""

    def __init__(self, arrived: bool) -> None:
        super().__init__("connection slots are full" if arrived else "evicted while idle")
        self.arrived = arrived


# RFC 9110 5.6.2: a method is a token, and these are the bytes a token is made of
TOKEN_BYTES = frozenset(
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


class NotHttp(errors.InvalidRequestLine):
    """The first byte of a request cannot begin an HTTP method."""


class MissingHost(errors.ParseException):
    """An HTTP/1.1 request without a Host header (RFC 9112 section 3.2)."""


class BadHost(errors.ParseException):
    """More than one Host header, or one whose value is no host (RFC 9112 section 3.2)."""


class UnsupportedVersion(errors.ParseException):
    """A request of an HTTP major version other than 1 (RFC 9110 section 15.6.6)."""


# a request line as gunicorn splits it (method, target, version), of a major version
# other than 1
OTHER_MAJOR_LINE = re.compile(r"[^ ]* [^ ]* HTTP/[02-9]\.[0-9]")

# the first entry an exception is an instance of decides: subclasses first
ANSWERS: tuple[tuple[type[BaseException], HTTPStatus, str], ...] = (
    (HeadTimeout, HTTPStatus.REQUEST_TIMEOUT, "request head not received in time"),
    (NotHttp, HTTPStatus.BAD_REQUEST, "not an HTTP request"),
    (Evicted, HTTPStatus.SERVICE_UNAVAILABLE, "connection slots are full, try again"),
    (MissingHost, HTTPStatus.BAD_REQUEST, "missing required Host header"),
    (BadHost, HTTPStatus.BAD_REQUEST, "malformed Host header"),
    (UnsupportedVersion, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version"),
    (errors.LimitRequestLine, HTTPStatus.REQUEST_URI_TOO_LONG, "request line too long"),
    (errors.LimitRequestHeaders, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
     "header fields too many or too large"),
    (errors.InvalidRequestMethod, HTTPStatus.BAD_REQUEST, "malformed method"),
    (errors.InvalidRequestLine, HTTPStatus.BAD_REQUEST, "malformed request line"),
    (errors.InvalidHeaderName, HTTPStatus.BAD_REQUEST, "malformed header field name"),
    (errors.ObsoleteFolding, HTTPStatus.BAD_REQUEST, "obsolete line folding"),
    (errors.InvalidHeader, HTTPStatus.BAD_REQUEST, "malformed header field"),
    (errors.UnsupportedTransferCoding, HTTPStatus.NOT_IMPLEMENTED,
     "transfer coding not implemented"),
    (errors.ExpectationFailed, HTTPStatus.EXPECTATION_FAILED, "expectation not supported"),
    (errors.InvalidChunkSize, HTTPStatus.BAD_REQUEST, "malformed chunked body"),
    (errors.ChunkMissingTerminator, HTTPStatus.BAD_REQUEST, "malformed chunked body"),
    (errors.InvalidChunkExtension, HTTPStatus.BAD_REQUEST, "malformed chunked body"),
    (errors.InvalidSchemeHeaders, HTTPStatus.BAD_REQUEST, "conflicting scheme headers"),
    (errors.InvalidProxyLine, HTTPStatus.BAD_REQUEST, "malformed PROXY line"),
    (errors.ForbiddenProxyRequest, HTTPStatus.FORBIDDEN, "PROXY line from an untrusted address"),
    (errors.InvalidH2CPreface, HTTPStatus.BAD_REQUEST, "malformed HTTP/2 preface"),
)  # fmt: skip


def classify(error: BaseException) -> tuple[HTTPStatus, str] | None:
    """The status and cause for a client's mistake, or None when it is the server's."""
    # a missing hdr, or a default of another value, is never "HOST" (equivalent mutants)
    header = str(getattr(error, "hdr", "")).upper()  # pragma: no mutate
    if isinstance(error, errors.InvalidHeader) and header == "HOST":
        # gunicorn refuses a second Host itself
        return HTTPStatus.BAD_REQUEST, "malformed Host header"
    if isinstance(error, errors.InvalidHTTPVersion):
        # gunicorn raises it with the parsed (major, minor) for a version outside 1.x,
        # with the text for one it cannot parse
        parsed = bool(error.args) and isinstance(error.args[0], tuple)
        if parsed:
            return HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version"
        return HTTPStatus.BAD_REQUEST, "malformed HTTP version"
    if isinstance(error, errors.InvalidRequestLine) and OTHER_MAJOR_LINE.fullmatch(
        str(error.args[0] if error.args else "")  # pragma: no mutate (no default matches)
    ):
        # gunicorn reads the version last, so it refuses the HTTP/2 preface
        # (`PRI * HTTP/2.0`) for its target: the version is what the client got wrong
        return HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version"
    for kind, status, cause in ANSWERS:
        if isinstance(error, kind):
            return status, cause
    return None


def answer(status: HTTPStatus, cause: str) -> bytes:
    """The whole response: status line, headers and the one-line body."""
    phrase = reason_phrase(status.value)
    body = f"{status.value} {phrase}: {cause}\n".encode()
    head = (
        f"HTTP/1.1 {status.value} {phrase}\r\n"
        f"Date: {email.utils.formatdate(usegmt=True)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body  # pragma: no mutate ("ASCII" is the same codec)
