"""service/server/answers.py in-process: which status and cause each refusal gets, and
the bytes of the answer (tests/server/test_server_answers.py sends the raw cases to gunicorn)."""

import email.utils
import time
from http import HTTPStatus

import pytest
from gunicorn.http import errors

from service.server.answers import ANSWERS, Evicted, HeadTimeout, answer, classify


def bare(kind: type[BaseException]) -> BaseException:
    """An instance of `kind` as isinstance sees it, whatever its constructor asks."""
    return BaseException.__new__(kind)


@pytest.mark.parametrize(("kind", "status", "cause"), ANSWERS)
def test_each_refusal_gets_its_own_rows_answer(
    kind: type[BaseException], status: HTTPStatus, cause: str
) -> None:
    # subclasses come first: no earlier row takes a later row's refusal
    assert classify(bare(kind)) == (status, cause)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errors.InvalidHeader("HOST"), (HTTPStatus.BAD_REQUEST, "malformed Host header")),
        (errors.InvalidHeader("host"), (HTTPStatus.BAD_REQUEST, "malformed Host header")),
        (errors.InvalidHeader("X-A"), (HTTPStatus.BAD_REQUEST, "malformed header field")),
        (errors.InvalidHTTPVersion((2, 0)),
         (HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version")),
        (errors.InvalidHTTPVersion("HTTP/1.x"),
         (HTTPStatus.BAD_REQUEST, "malformed HTTP version")),
        (bare(errors.InvalidHTTPVersion), (HTTPStatus.BAD_REQUEST, "malformed HTTP version")),
        (errors.InvalidRequestLine("PRI * HTTP/2.0"),
         (HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version")),
        (errors.InvalidRequestLine("GET / HTTP/0.9"),
         (HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version")),
        (errors.InvalidRequestLine("GET / HTTP/1.1 x"),
         (HTTPStatus.BAD_REQUEST, "malformed request line")),
        (errors.InvalidRequestLine("x PRI * HTTP/2.0"),
         (HTTPStatus.BAD_REQUEST, "malformed request line")),
        (bare(errors.InvalidRequestLine), (HTTPStatus.BAD_REQUEST, "malformed request line")),
    ],
)  # fmt: skip
def test_what_gunicorn_says_in_its_arguments_decides_between_rows(
    error: BaseException, expected: tuple[HTTPStatus, str]
) -> None:
    assert classify(error) == expected


@pytest.mark.parametrize(
    ("kind", "arrived", "message"),
    [
        (HeadTimeout, True, "request head deadline passed"),
        (HeadTimeout, False, "no request arrived"),
        (Evicted, True, "connection slots are full"),
        (Evicted, False, "evicted while idle"),
    ],
)
def test_the_servers_own_refusals_say_whether_any_of_the_head_came(
    kind: type[HeadTimeout | Evicted], arrived: bool, message: str
) -> None:
    # the worker closes silently where nothing came, and answers where something did
    error = kind(arrived=arrived)
    assert error.arrived is arrived
    assert str(error) == message


def test_the_servers_own_failure_is_no_clients_mistake() -> None:
    assert classify(ValueError("a bug")) is None


def test_an_answer_is_one_plain_line_that_closes_the_connection() -> None:
    sent = answer(HTTPStatus.REQUEST_URI_TOO_LONG, "request line too long")
    head, _, body = sent.partition(b"\r\n\r\n")
    status, *fields = head.decode("ascii").split("\r\n")
    headers = dict(field.split(": ", 1) for field in fields)
    assert status == "HTTP/1.1 414 URI Too Long"
    assert body == b"414 URI Too Long: request line too long\n"
    assert headers.pop("Content-Length") == str(len(body))
    # RFC 9110 5.6.7: an IMF-fixdate, in GMT
    written = headers.pop("Date")
    assert written.endswith(" GMT")
    date = email.utils.parsedate_to_datetime(written)
    assert abs(date.timestamp() - time.time()) < 5
    assert headers == {
        "Content-Type": "text/plain; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Connection": "close",
    }
