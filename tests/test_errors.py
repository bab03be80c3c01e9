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
