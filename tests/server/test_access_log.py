"""The access log's chunking: whole lines, each write at most PIPE_BUF (atomic in a pipe)."""

import base64
from datetime import timedelta

import pytest
from gunicorn.config import Config as GunicornConfig
from hypothesis import given
from hypothesis import strategies as st

from service import gunicorn_conf
from service.server.access_log import CUT_MARK, PIPE_BUF, BufferedAccessLogger, line_aligned_chunks

lines = st.lists(
    st.binary(min_size=0, max_size=3 * PIPE_BUF).map(lambda raw: raw.replace(b"\n", b"") + b"\n")
)


def test_a_full_buffer_goes_out_in_pipe_buf_chunks() -> None:
    written = [b"x" * 999 + b"\n"] * 66
    chunks = line_aligned_chunks(written)
    assert [len(chunk) for chunk in chunks] == [4000] * 16 + [2000]


@given(lines)
def test_chunks_are_whole_lines_no_larger_than_pipe_buf(written: list[bytes]) -> None:
    chunks = line_aligned_chunks(written)
    assert all(0 < len(chunk) <= PIPE_BUF for chunk in chunks)
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    out = [line + b"\n" for line in b"".join(chunks).split(b"\n")[:-1]]
    assert len(out) == len(written)
    for before, after in zip(written, out, strict=True):
        assert after == before if len(before) <= PIPE_BUF else after.endswith(CUT_MARK)


class Answer:
    def __init__(self, status: str, sent: int | None) -> None:
        self.status, self.sent, self.headers = status, sent, [("Content-Type", "text/plain")]


class Asked:
    def __init__(self) -> None:
        self.headers = [("HOST", "ibdevserver"), ("USER-AGENT", 'curl "quoted"')]


@pytest.mark.parametrize(
    "environ",
    [
        {"REMOTE_ADDR": "172.17.0.1", "HTTP_USER_AGENT": 'curl "quoted"', "HTTP_REFERER": "x"},
        {
            "REMOTE_ADDR": "10.0.0.2",
            "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"ann:pw").decode(),
        },
        {},
    ],
)
@pytest.mark.parametrize("sent", [1234, None])
def test_the_cheap_line_is_the_line_gunicorn_would_log(
    environ: dict[str, str], sent: int | None
) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/?format=json",
        "SERVER_PROTOCOL": "HTTP/1.1",
        **environ,
    }
    config = GunicornConfig()
    config.set("access_log_format", gunicorn_conf.access_log_format)
    config.set("accesslog", gunicorn_conf.accesslog)
    logger = BufferedAccessLogger(config)
    assert logger.cheap_atoms is not None, "the shipped format is all cheap atoms"
    took = timedelta(seconds=1, microseconds=2345)
    cheap = logger.format_line(Answer("200 OK", sent), Asked(), environ, took)
    logger.cheap_atoms = None
    assert cheap == logger.format_line(Answer("200 OK", sent), Asked(), environ, took)
