"""Fixtures for the server room: one gunicorn with the shipped config, shared."""

from collections.abc import Iterator

import pytest

from tests.paths import SAMPLES
from tests.servers import Served, gunicorn_serving


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One gunicorn as the image runs it, serving a known status file, for every test that
    only reads from it: its URL, the file and its log."""
    folder = tmp_path_factory.mktemp("gunicorn")
    status_file = folder / "status"
    status_file.write_bytes((SAMPLES / "linux-6.6-container.txt").read_bytes())
    with gunicorn_serving(status_file, folder / "gunicorn.log") as url:
        yield Served(url, status_file, folder / "gunicorn.log")
