"""What the server answers by itself, case by case, from a real gunicorn (tests/http_cases.py)."""

import json
import re

import pytest

from service.server import answers
from service.server.answers import ANSWERS, answer, classify
from tests.http_cases import (
    CASES,
    HOST,
    Case,
    assert_answers,
    exchange,
    reason_of,
    rfc_9110_phrase,
    status_of,
)
from tests.paths import ROOT
from tests.servers import Served


def allowed(answer: bytes) -> set[str]:
    """The methods an answer's Allow header lists."""
    match = re.search(rb"\r\nAllow: ([^\r]*)\r\n", answer)
    assert match is not None, answer[:300]
    return set(match[1].decode().split(", "))


@pytest.fixture
def address(served: Served) -> tuple[str, int]:
    """The shared gunicorn's host and port (tests/server/conftest.py)."""
    host, port = served.url.removeprefix("http://").split(":")
    return host, int(port)


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.rfc}: {case.name}")
def test_each_case_gets_what_the_rfc_says(address: tuple[str, int], case: Case) -> None:
    assert_answers(case, exchange(address, case.request))


def test_options_asterisk_says_what_the_server_takes(address: tuple[str, int]) -> None:
    answer = exchange(address, b"OPTIONS * HTTP/1.1\r\n" + HOST + b"\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == ("1.1", 200)
    assert allowed(answer) == {"GET", "HEAD"}
    assert b"\r\nContent-Length: 0\r\n" in head
    assert body == b""


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"get /healthz", 405),
        (b"Get /", 405),
        (b"head /version", 405),
        (b"get /nope", 404),
    ],
)
def test_a_method_with_lower_case_is_not_its_upper_case(
    address: tuple[str, int], line: bytes, status: int
) -> None:
    # RFC 9110 9.1: case-sensitive, so `get` is a method no path takes
    answer = exchange(address, line + b" HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status_of(answer) == ("1.1", status), answer[:200]
    if status == 405:
        assert allowed(answer) == {"GET", "HEAD"}


@pytest.mark.parametrize(
    "request_",
    [
        b"GET /nope HTTP/1.1\r\n" + HOST + b"\r\n",
        b"GET /?format=yaml HTTP/1.1\r\n" + HOST + b"\r\n",
        b"GET / HTTP/1.1\r\n" + HOST + b"Accept: image/png\r\n\r\n",
        b"BREW / HTTP/1.1\r\n" + HOST + b"\r\n",
    ],
    ids=["404", "400", "406", "405"],
)
def test_the_apps_reason_phrases_are_rfc_9110s(address: tuple[str, int], request_: bytes) -> None:
    # werkzeug's own are in capitals (404 NOT FOUND); the server's are title case
    answer = exchange(address, request_)
    assert reason_of(answer) == rfc_9110_phrase(status_of(answer)[1]), answer[:200]


def test_every_answer_is_one_plain_line_with_its_headers() -> None:
    for kind, status, cause in ANSWERS:
        verdict = classify(kind.__new__(kind))
        assert verdict == (status, cause)
        whole = answer(status, cause)
        head, _, body = whole.partition(b"\r\n\r\n")
        assert body.startswith(f"{status.value} ".encode())
        assert body.endswith(f": {cause}\n".encode())
        assert f"Content-Length: {len(body)}".encode() in head


def test_an_error_of_the_server_itself_is_not_a_clients() -> None:
    assert classify(RuntimeError("boom")) is None


def test_the_table_covers_what_the_worker_raises() -> None:
    # every exception class of service.server.answers has an answer
    raised = [value for value in vars(answers).values()
              if isinstance(value, type) and issubclass(value, Exception)
              and value.__module__ == answers.__name__]  # fmt: skip
    assert {kind for kind, _, _ in ANSWERS} >= set(raised)


def test_the_api_document_lists_every_answer_the_server_makes_by_itself() -> None:
    # 403 answers a PROXY line from an untrusted peer: PROXY protocol is not enabled here
    reachable = {str(status.value) for _, status, _ in ANSWERS} - {"403"}
    document = json.loads((ROOT / "service" / "web" / "openapi.json").read_text())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            missing = reachable - set(operation["responses"])
            assert missing == set(), (path, method)
