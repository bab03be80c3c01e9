"""service/server/lifecycle.py in-process: the drain flag and the server's pid a worker keeps."""

import os

import pytest

from service.server import lifecycle


@pytest.fixture(autouse=True)
def fresh_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a worker that has not yet been told either."""
    monkeypatch.setattr(lifecycle, "_draining", False)
    monkeypatch.setattr(lifecycle, "_server_pid", None)


def test_a_worker_drains_once_told_and_for_good() -> None:
    assert lifecycle.is_draining() is False
    lifecycle.start_draining()
    assert lifecycle.is_draining() is True
    lifecycle.start_draining()
    assert lifecycle.is_draining() is True


def test_the_server_is_this_process_until_a_worker_is_told_its_master() -> None:
    assert lifecycle.server_pid() == os.getpid()
    lifecycle.serve_for(os.getpid() + 1)
    assert lifecycle.server_pid() == os.getpid() + 1
