from flask.testing import FlaskClient

from tests.prometheus_text import requests_counted

OK = {"endpoint": "/", "method": "GET", "status": "200"}
MISSING = {"endpoint": "unmatched", "method": "GET", "status": "404"}


def counted(client: FlaskClient, labels: dict[str, str]) -> float:
    return requests_counted(client.get("/metrics").get_data(as_text=True), **labels)


def test_requests_are_counted_by_endpoint_and_status(client: FlaskClient) -> None:
    ok_before = counted(client, OK)
    missing_before = counted(client, MISSING)
    for _ in range(3):
        client.get("/")
    client.get("/no/such/page/3f9c")
    assert counted(client, OK) == ok_before + 3
    assert counted(client, MISSING) == missing_before + 1


def test_latency_is_a_histogram(client: FlaskClient) -> None:
    client.get("/")
    response = client.get("/metrics")
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'ibdevserver_http_request_duration_seconds_bucket{endpoint="/",le="+Inf"}' in text
