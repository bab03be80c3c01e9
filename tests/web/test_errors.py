import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("path", ["/nope", "/status/", "/..%2f..%2fetc%2fpasswd", "/%00"])
def test_unknown_path_is_a_plain_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert response.data.startswith(b"404 Not Found")
    assert b"<" not in response.data


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_are_a_plain_405_with_allow(client: FlaskClient, method: str) -> None:
    # OPTIONS too: the README's "other methods 405", with Allow saying what a path takes
    response = client.open("/", method=method)
    assert response.status_code == 405
    assert response.mimetype == "text/plain"
    assert response.data.startswith(b"405 Method Not Allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_errors_carry_nosniff(client: FlaskClient) -> None:
    assert client.get("/nope").headers["X-Content-Type-Options"] == "nosniff"


def test_status_lines_carry_rfc_9110s_reason_phrases(client: FlaskClient) -> None:
    # werkzeug's are in capitals ("404 NOT FOUND"); the server's own are title case
    assert client.get("/nope").status == "404 Not Found"
    assert client.post("/").status == "405 Method Not Allowed"
    assert client.get("/?format=yaml").status == "400 Bad Request"
    # and the line in the body names the same phrase
    assert client.get("/nope").data.startswith(b"404 Not Found: ")


def test_options_asterisk_is_a_question_to_the_server(client: FlaskClient) -> None:
    response = client.open("*", method="OPTIONS")
    assert response.status == "200 OK"
    assert response.data == b""
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_there_are_no_static_files_to_take_options(client: FlaskClient) -> None:
    # Flask's static route took OPTIONS, against the 405 every path answers it with
    assert client.open("/static/x", method="OPTIONS").status_code == 404
