"""The introspection API on the compose stack: JSON view, probes, version, metrics, OpenAPI."""

import json
import re
import uuid

import pytest
import requests
from docker.models.containers import Container
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from integration.helpers import ROOT, SOURCE_REVISION, access_lines, root_requests_served
from tests.known_values import IMAGE_UID

OPENAPI_DOCUMENT = json.loads((ROOT / "service" / "web" / "openapi.json").read_text())


def test_json_view_by_accept_header(server_url: str) -> None:
    response = requests.get(server_url, headers={"Accept": "application/json"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert document["Name"] == "gunicorn"
    assert document["Pid"] == 1
    assert document["Uid"]["effective"] == IMAGE_UID
    assert document["CapEff"]["names"] == []
    assert document["Seccomp"]["mode"] == "filter"
    assert isinstance(document["VmRSS"], int)


def test_json_view_by_format_parameter(server_url: str) -> None:
    response = requests.get(server_url, params={"format": "json"}, timeout=5)
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["Pid"] == 1


def test_text_stays_the_default(server_url: str) -> None:
    response = requests.get(server_url, headers={"Accept": "*/*"}, timeout=5)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_unacceptable_accept_is_406(server_url: str) -> None:
    response = requests.get(server_url, headers={"Accept": "image/png"}, timeout=5)
    assert response.status_code == 406
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_healthz(server_url: str, broken_url: str) -> None:
    for url in (server_url, broken_url):
        response = requests.get(f"{url}/healthz", timeout=5)
        assert (response.status_code, response.text) == (200, "ok\n")


def test_readyz_200_when_ready_and_503_when_not(server_url: str, broken_url: str) -> None:
    assert requests.get(f"{server_url}/readyz", timeout=5).status_code == 200
    response = requests.get(f"{broken_url}/readyz", timeout=5)
    assert response.status_code == 503
    assert "cannot read the status file: No such file or directory" in response.text


def test_version_reports_the_build_revision(server_url: str) -> None:
    response = requests.get(f"{server_url}/version", timeout=5)
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert document["revision"] == SOURCE_REVISION
    assert document["version"] == OPENAPI_DOCUMENT["info"]["version"]


def access_log_workers(container: Container, agent: str, expected: int) -> list[str]:
    """The worker PIDs of the access lines for `agent`, once all `expected` are written."""
    lines = access_lines(container, f'"{agent}"', expected)
    return [re.findall(r" pid=<(\d+)>$", line)[0] for line in lines]


def test_metrics_sum_requests_served_by_different_workers(
    server_url: str, server_container: Container
) -> None:
    agent = f"metrics-test-{uuid.uuid4().hex}"
    before = root_requests_served(server_url)
    sent = 0
    workers: list[str] = []
    # a new connection each time, so that the workers share them; bounded at 400
    while len(set(workers)) < 2 and sent < 400:
        for _ in range(20):
            headers = {"Connection": "close", "User-Agent": agent}
            assert requests.get(server_url, headers=headers, timeout=5).status_code == 200
        sent += 20
        workers = access_log_workers(server_container, agent, sent)
        assert len(workers) == sent, "an access line per request"
    assert len(set(workers)) >= 2, "every request went to one worker"
    assert root_requests_served(server_url) == before + sent


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    """The checked-in OpenAPI document, ready to validate live exchanges."""
    return OpenAPI.from_dict(OPENAPI_DOCUMENT)


@pytest.mark.parametrize(
    ("service", "path", "headers"),
    [
        ("server", "/", {}),
        ("server", "/", {"Accept": "application/json"}),
        ("server", "/?format=json", {}),
        ("server", "/?format=text", {}),
        ("server", "/?format=yaml", {}),
        ("server", "/", {"Accept": "image/png"}),
        ("server", "/healthz", {}),
        ("server", "/readyz", {}),
        ("server", "/version", {}),
        ("server", "/metrics", {}),
        ("server", "/openapi.json", {}),
        ("server", "/posture", {}),
        ("server", "/posture?format=json", {}),
        ("server", "/posture", {"Accept": "text/html"}),
        ("broken", "/", {}),
        ("broken", "/readyz", {}),
    ],
)
def test_live_responses_match_the_openapi_document(
    openapi: OpenAPI,
    server_url: str,
    broken_url: str,
    service: str,
    path: str,
    headers: dict[str, str],
) -> None:
    base = server_url if service == "server" else broken_url
    response = requests.get(f"{base}{path}", headers=headers, timeout=5)
    openapi.validate_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )


def test_served_openapi_document_is_the_checked_in_one(server_url: str) -> None:
    assert requests.get(f"{server_url}/openapi.json", timeout=5).json() == OPENAPI_DOCUMENT
