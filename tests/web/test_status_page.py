from pathlib import Path

import pytest
from flask.testing import FlaskClient


def test_get_answers_the_file_unchanged(client: FlaskClient, status_file: Path) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.data == status_file.read_bytes()
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_request_reads_the_file_anew(client: FlaskClient, status_file: Path) -> None:
    client.get("/")
    status_file.write_bytes(b"Name:\tchanged\n")
    assert client.get("/").data == b"Name:\tchanged\n"


def test_head_has_headers_and_no_body(client: FlaskClient, status_file: Path) -> None:
    response = client.head("/")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(status_file.read_bytes())


def test_unreadable_file_answers_500_and_logs_why(
    broken_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = broken_client.get("/")
    assert response.status_code == 500
    assert response.data == b"error occurred"
    assert response.mimetype == "text/plain"
    assert "cannot read status file" in caplog.text
    assert "missing: [Errno 2] No such file or directory" in caplog.text


def test_serves_again_once_the_file_is_back(tmp_path: Path) -> None:
    from service.web.app import create_app

    path = tmp_path / "status"
    client = create_app({"TESTING": True, "STATUS_PATH": str(path)}).test_client()
    assert client.get("/").status_code == 500
    path.write_bytes(b"Name:\tback\n")
    assert client.get("/").data == b"Name:\tback\n"


def test_default_serves_pid_1() -> None:
    from service.web.app import create_app

    client = create_app().test_client()
    assert client.get("/").data.startswith(b"Name:\t")
    assert b"\nPid:\t1\n" in client.get("/").data
