"""service/server/head.py in-process: check_head on heads gunicorn's own parser made,
from raw bytes over a socket pair."""

import pytest
from gunicorn.http.errors import UnsupportedTransferCoding

from service.server.answers import BadHost, MissingHost
from service.server.head import check_head
from tests.server.clients import parsed


@pytest.mark.parametrize(
    ("head", "body"),
    [
        (b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: [::1]:9999\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", True),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked \r\n\r\n0\r\n\r\n", True),
    ],
)
def test_a_head_the_server_may_serve_says_whether_a_body_follows(head: bytes, body: bool) -> None:
    assert check_head(parsed(head)) is body


@pytest.mark.parametrize(
    ("head", "refused"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BadHost),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", BadHost),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         UnsupportedTransferCoding),
    ],
)  # fmt: skip
def test_a_head_the_server_must_not_serve_is_refused(head: bytes, refused: type) -> None:
    with pytest.raises(refused):
        check_head(parsed(head))


@pytest.mark.parametrize("minor", [b"2", b"9"])
def test_a_later_1x_is_answered_as_1_1_and_held_to_its_host_rule(minor: bytes) -> None:
    request = parsed(b"GET / HTTP/1." + minor + b"\r\nHost: a\r\n\r\n")
    check_head(request)
    assert request.version == (1, 1)
    with pytest.raises(MissingHost):
        check_head(parsed(b"GET / HTTP/1.9\r\n\r\n"))


def test_1_0_keeps_its_version_and_needs_no_host() -> None:
    request = parsed(b"GET / HTTP/1.0\r\n\r\n")
    assert check_head(request) is False
    assert request.version == (1, 0)


@pytest.mark.parametrize("version", [b"1.0", b"1.1"])
def test_two_hosts_are_refused_whatever_the_version(version: bytes) -> None:
    # gunicorn 27 refuses a second Host itself; check_head does not count on it
    request = parsed(b"GET / HTTP/" + version + b"\r\nHost: a\r\n\r\n")
    request.headers.append(("HOST", "a"))
    with pytest.raises(BadHost):
        check_head(request)


def test_an_unsupported_coding_is_named_in_the_error_for_the_log() -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    with pytest.raises(UnsupportedTransferCoding) as refused:
        check_head(parsed(head))
    assert refused.value.hdr == "gzip, chunked"
