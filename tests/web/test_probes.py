import json
from importlib.metadata import version
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from service.web.app import create_app
from service.web.probes import OPENAPI_ETAG
from tests.paths import ROOT


def test_healthz_answers_while_the_status_file_is_missing(broken_client: FlaskClient) -> None:
    response = broken_client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok\n"


def test_readyz_is_200_when_the_status_file_reads(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"


def test_readyz_is_503_with_the_reason(broken_client: FlaskClient) -> None:
    response = broken_client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert response.data == b"not ready: cannot read the status file: No such file or directory\n"


def test_version_reports_package_and_revision(status_file: Path) -> None:
    app = create_app({"STATUS_PATH": str(status_file), "SOURCE_REVISION": "abc123"})
    response = app.test_client().get("/version")
    assert response.mimetype == "application/json"
    assert response.get_json() == {"version": version("ibdevserver"), "revision": "abc123"}


def test_version_revision_defaults_to_unknown(client: FlaskClient) -> None:
    assert client.get("/version").get_json()["revision"] == "unknown"


def test_openapi_document_is_served_as_checked_in(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.mimetype == "application/json"
    shipped = ROOT / "service" / "web" / "openapi.json"
    assert json.loads(response.data) == json.loads(shipped.read_text())


@pytest.mark.parametrize("if_match", ['"nope"', f'W/"{OPENAPI_ETAG}"'])
def test_a_failed_precondition_is_a_short_plain_412(client: FlaskClient, if_match: str) -> None:
    response = client.get("/openapi.json", headers={"If-Match": if_match})
    assert response.status_code == 412
    assert response.mimetype == "text/plain"
    assert response.data == b"412 Precondition Failed: If-Match matches no current version\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


@pytest.mark.parametrize("if_match", ["*", f'"{OPENAPI_ETAG}"', f'"x", "{OPENAPI_ETAG}"'])
def test_a_precondition_that_holds_gets_the_document(client: FlaskClient, if_match: str) -> None:
    # RFC 9110 13.1.1: `*` holds whenever the document exists
    response = client.get("/openapi.json", headers={"If-Match": if_match})
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{OPENAPI_ETAG}"'
    with_none_match = {"If-Match": if_match, "If-None-Match": f'"{OPENAPI_ETAG}"'}
    assert client.get("/openapi.json", headers=with_none_match).status_code == 304
