"""The access log's chunking: whole lines, each write at most PIPE_BUF (atomic in a pipe)."""

import atexit
import base64
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config as GunicornConfig
from gunicorn.glogging import Logger
from hypothesis import given
from hypothesis import strategies as st

from service import gunicorn_conf
from service.server import access_log
from service.server.access_log import (
    BUFFER_BYTES,
    CUT_MARK,
    PIPE_BUF,
    BufferedAccessLogger,
    line_aligned_chunks,
    write_all,
)

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


def shipped_config(accesslog: str | None) -> GunicornConfig:
    config = GunicornConfig()
    config.set("access_log_format", gunicorn_conf.access_log_format)
    config.set("accesslog", accesslog)
    return config


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[BufferedAccessLogger, Path]]:
    """The shipped logger, its access log written into a file rather than stdout."""
    logger = BufferedAccessLogger(shipped_config("-"))
    path = tmp_path / "access.log"
    logger.access_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        yield logger, path
    finally:
        os.close(logger.access_fd)
        atexit.unregister(logger.flush_access_log)


def request_of(length: int) -> dict[str, str]:
    """An environ whose access line, as the shipped format makes it, is `length` bytes."""
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"}
    took = timedelta(microseconds=5)
    logger = BufferedAccessLogger(shipped_config(None))
    short = len(logger.format_line(Answer("200 OK", 3), Asked(), environ, took)) + 1
    return {**environ, "HTTP_USER_AGENT": "a" * (length - short + 1)}


def log_one(logger: BufferedAccessLogger, environ: dict[str, str]) -> None:
    logger.access(Answer("200 OK", 3), Asked(), environ, timedelta(microseconds=5))


def test_the_shipped_config_buffers_its_access_log_on_stdout() -> None:
    logger = BufferedAccessLogger(shipped_config("-"))
    atexit.unregister(logger.flush_access_log)
    assert logger.access_fd == sys.stdout.fileno()
    assert (logger.pending, logger.pending_bytes) == ([], 0)
    assert BufferedAccessLogger(shipped_config(None)).access_fd is None


def test_lines_wait_in_the_buffer_until_it_fills_then_go_out_whole(
    logged: tuple[BufferedAccessLogger, Path],
) -> None:
    logger, path = logged
    environ = request_of(1024)
    for _ in range(BUFFER_BYTES // 1024 - 1):
        log_one(logger, environ)
    assert path.read_bytes() == b""
    assert logger.pending_bytes == BUFFER_BYTES - 1024
    log_one(logger, environ)
    written = path.read_bytes().splitlines(keepends=True)
    assert [len(line) for line in written] == [1024] * (BUFFER_BYTES // 1024)
    assert (logger.pending, logger.pending_bytes) == ([], 0)


def test_a_flush_writes_what_is_pending_once(logged: tuple[BufferedAccessLogger, Path]) -> None:
    logger, path = logged
    for agent in ("one", "two"):
        log_one(logger, {**request_of(200), "HTTP_USER_AGENT": agent})
    logger.flush_access_log()
    logger.flush_access_log()
    lines = path.read_text().splitlines()
    assert [line.split('"')[-2] for line in lines] == ["one", "two"]
    assert (logger.pending, logger.pending_bytes) == ([], 0)


def test_a_line_that_cannot_be_made_is_an_error_not_a_line(
    logged: tuple[BufferedAccessLogger, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, path = logged
    errors: list[str] = []
    monkeypatch.setattr(logger, "error", errors.append)
    log_one(logger, {"REQUEST_METHOD": "GET"})  # no RAW_URI: the r atom fails
    logger.flush_access_log()
    assert path.read_bytes() == b""
    assert (logger.pending, logger.pending_bytes) == ([], 0)
    (error,) = errors
    assert "KeyError: 'RAW_URI'" in error


def test_without_an_access_log_on_stdout_gunicorn_logs_the_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logger = BufferedAccessLogger(shipped_config(None))
    handed: list[object] = []
    monkeypatch.setattr(Logger, "access", lambda self, *args: handed.append(args))
    log_one(logger, request_of(200))
    logger.flush_access_log()
    assert len(handed) == 1
    assert logger.pending == []


def test_a_write_the_pipe_takes_in_part_is_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = bytearray()

    def write_three(fd: int, data: bytes) -> int:
        written.extend(bytes(data[:3]))
        return min(len(data), 3)

    monkeypatch.setattr(access_log, "os", SimpleNamespace(write=write_three))
    write_all(7, b"0123456789")
    assert bytes(written) == b"0123456789"


def test_the_time_is_made_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = BufferedAccessLogger(shipped_config(None))
    made: list[str] = []

    def gunicorns_now(self: object) -> str:
        made.append(f"[{len(made) + 1}]")
        return made[-1]

    monkeypatch.setattr(Logger, "now", gunicorns_now)
    clock = iter([100.2, 100.9, 101.0, 101.5])
    monkeypatch.setattr(access_log, "time", SimpleNamespace(time=lambda: next(clock)))
    assert [logger.now() for _ in range(4)] == ["[1]", "[1]", "[2]", "[2]"]
