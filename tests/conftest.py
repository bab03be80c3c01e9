"""Fixtures for the fast tests: the app on a known status file, and a real gunicorn."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app

SAMPLES = Path(__file__).parent / "samples"


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn_serving(status_file: Path, log_file: Path) -> Iterator[str]:
    """Run gunicorn with the shipped config on a free loopback port, logging to `log_file`."""
    port = free_port()
    env = {
        **os.environ,
        "IBDEVSERVER_HOST": "127.0.0.1",
        "IBDEVSERVER_PORT": str(port),
        "IBDEVSERVER_STATUS_PATH": str(status_file),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_file.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start serving") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def gunicorn_log(tmp_path: Path) -> Path:
    """Where the test's gunicorn writes its output."""
    return tmp_path / "gunicorn.log"


@pytest.fixture
def gunicorn_url(status_file: Path, gunicorn_log: Path) -> Iterator[str]:
    """A real gunicorn serving the known status file; yield its URL."""
    with gunicorn_serving(status_file, gunicorn_log) as url:
        yield url
