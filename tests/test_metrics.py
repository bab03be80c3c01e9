from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families


def sample_value(client: FlaskClient, name: str, labels: dict[str, str]) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_requests_are_counted_by_endpoint_and_status(client: FlaskClient) -> None:
    ok = {"endpoint": "/", "method": "GET", "status": "200"}
    missing = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    ok_before = sample_value(client, "ibdevserver_http_requests_total", ok)
    missing_before = sample_value(client, "ibdevserver_http_requests_total", missing)
    for _ in range(3):
        client.get("/")
    client.get("/no/such/page/3f9c")
    assert sample_value(client, "ibdevserver_http_requests_total", ok) == ok_before + 3
    assert sample_value(client, "ibdevserver_http_requests_total", missing) == missing_before + 1


def test_latency_is_a_histogram(client: FlaskClient) -> None:
    client.get("/")
    response = client.get("/metrics")
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'ibdevserver_http_request_duration_seconds_bucket{endpoint="/",le="+Inf"}' in text
