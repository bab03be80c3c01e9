"""Fixtures for the fast tests: the app on a known status file."""

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.web.app import create_app
from tests.paths import SAMPLES


@pytest.fixture
def status_file(tmp_path: Path) -> Path:
    """A status file with known bytes, standing in for /proc/1/status."""
    path = tmp_path / "status"
    path.write_bytes((SAMPLES / "linux-6.6-container.txt").read_bytes())
    return path


@pytest.fixture
def app(status_file: Path) -> Flask:
    """The app, serving the known status file."""
    return create_app({"TESTING": True, "STATUS_PATH": str(status_file)})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def broken_client(tmp_path: Path) -> FlaskClient:
    """A test client for an app whose status file does not exist."""
    app = create_app({"TESTING": True, "STATUS_PATH": str(tmp_path / "missing")})
    return app.test_client()
