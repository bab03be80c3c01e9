"""Fixtures for the server room: gunicorns that tests share, each started once a session."""

import gc
from collections.abc import Callable, Iterator

import pytest

from tests.paths import SAMPLES
from tests.servers import SHORT, Served, gunicorn_serving, one_worker, wait_until_closed


@pytest.fixture
def garbage() -> Iterator[Callable[[], int]]:
    """The cyclic collector off for the test; a call collects, and says how many objects
    only it could free (what a flood would leave behind until it runs)."""
    gc.collect()
    gc.disable()
    try:
        yield gc.collect
    finally:
        gc.enable()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One gunicorn as the image runs it, serving a known status file, for every test that
    only reads from it: its URL, the file and its log."""
    folder = tmp_path_factory.mktemp("gunicorn")
    status_file = folder / "status"
    status_file.write_bytes((SAMPLES / "linux-6.6-container.txt").read_bytes())
    with gunicorn_serving(status_file, folder / "gunicorn.log") as url:
        yield Served(url, status_file, folder / "gunicorn.log")


@pytest.fixture(scope="session")
def short_deadline_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One worker with SHORT deadlines, for the session; its address."""
    with one_worker(
        tmp_path_factory.mktemp("short"),
        IBDEVSERVER_HEADER_TIMEOUT=str(SHORT.header),
        IBDEVSERVER_BODY_TIMEOUT=str(SHORT.body),
        GUNICORN_CMD_ARGS=f"--keep-alive {SHORT.keepalive:g}",
    ) as (address, _):
        yield address


@pytest.fixture
def short_deadlines(short_deadline_worker: tuple[str, int]) -> tuple[str, int]:
    """The worker with SHORT deadlines, once it has closed every connection an earlier test
    left: what a test measures is its own."""
    wait_until_closed(short_deadline_worker[1])
    return short_deadline_worker
