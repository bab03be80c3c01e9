"""Read request counts out of the service's /metrics text, for the tests of both suites."""

from prometheus_client.parser import text_string_to_metric_families


def requests_counted(metrics_text: str, **labels: str) -> float:
    """Sum ibdevserver_http_requests_total over the samples that carry all of `labels`."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "ibdevserver_http_requests_total"
        and labels.items() <= sample.labels.items()
    )
