import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "text/plain"),
        ("*/*", "text/plain"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/plain"),
        ("text/plain", "text/plain"),
        ("application/json", "application/json"),
        ("application/json, text/plain;q=0.5", "application/json"),
        ("text/*;q=0.1, application/*", "application/json"),
    ],
)
def test_accept_header_picks_the_format(
    client: FlaskClient, accept: str | None, media_type: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("name", "media_type"), [("text", "text/plain"), ("json", "application/json")]
)
def test_format_parameter_wins_over_accept(client: FlaskClient, name: str, media_type: str) -> None:
    response = client.get(f"/?format={name}", headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.mimetype == media_type


def test_json_view_is_the_parsed_document(client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept": "application/json"})
    document = response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert document["Name"] == "gunicorn"
    assert document["Uid"]["effective"] == 10001
    assert document["CapEff"] == {
        "mask": "0000000000000000",
        "names": [],
        "beyond_docker_default": [],
    }
    assert document["Seccomp"] == {"value": 2, "mode": "filter"}
    assert list(document)[:3] == ["Name", "Umask", "State"]


@pytest.mark.parametrize("accept", ["image/png", "application/xml", "text/html"])
def test_unacceptable_accept_is_406(client: FlaskClient, accept: str) -> None:
    response = client.get("/", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.mimetype == "text/plain"
    assert b"text/plain, application/json" in response.data


@pytest.mark.parametrize("name", ["xml", "", "JSON", "json\x00"])
def test_unknown_format_is_400_and_says_which_exist(client: FlaskClient, name: str) -> None:
    response = client.get("/", query_string={"format": name})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert b"format must be one of: text, json" in response.data


def test_json_error_path_is_still_500(broken_client: FlaskClient) -> None:
    response = broken_client.get("/?format=json")
    assert response.status_code == 500
    assert response.data == b"error occurred"
