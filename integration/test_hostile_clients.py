"""What a hostile client tried against the stack, each a regression test (issue 8).

Bounded metrics, uncacheable live answers, a health check that ignores proxies, a
parser that never answers 5xx, access lines that stay whole, and a connection
budget that a crowd of stalled clients cannot exhaust for good.
"""

import http.client
import random
import re
import shutil
import socket
import string
import subprocess
import threading
import time
from collections.abc import Iterator

import docker
import pytest
import requests
from docker.models.containers import Container
from prometheus_client.parser import text_string_to_metric_families
from testcontainers.compose import DockerCompose

from integration.helpers import (
    StackFactory,
    access_lines,
    address,
    container_settings,
    run_python,
    service_container,
    service_url,
    stack_up,
)
from tests.access_lines import whole_healthz_line

TIGHT_CONNECTIONS, TIGHT_HEADER_TIMEOUT = 50, 3.0

PROMTOOL = shutil.which("promtool")
SHM_USED = "import os; s = os.statvfs('/dev/shm'); print((s.f_blocks - s.f_bfree) * s.f_frsize)"
# the parser's worst inputs: numbers too large for any range, malformed fields
HOSTILE_STATUS = (
    "Name:\tgunicorn\n"
    "Pid:\t1\n"
    "Uid:\t10001\t10001\t10001\t10001\n"
    "Cpus_allowed_list:\t0-99999999999999999999\n"
    "Mems_allowed_list:\t99999999999999999999\n"
    "VmRSS:\t99999999999999999999999999999999 kB\n"
    "CapEff:\t" + "f" * 200 + "\n"
    "SigQ:\t1/99999999999999999999999999\n"
    "Seccomp:\t99999999999999999999999\n"
)


def send_many(url: str, requests_to_send: list[tuple[str, str]], connections: int = 8) -> int:
    """Send (method, path) pairs over keep-alive connections; return how many got a 4xx."""
    host, port = address(url)
    shares = [requests_to_send[index::connections] for index in range(connections)]
    client_errors = [0] * connections

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for method, path in shares[index]:
            conn.request(method, path)
            response = conn.getresponse()
            response.read()
            client_errors[index] += 400 <= response.status < 500
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return sum(client_errors)


def series(metrics_text: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
    }


def test_invented_methods_and_paths_add_a_bounded_number_of_series(
    server_url: str, server_container: Container
) -> None:
    # one of each kind first, so that `before` holds every series these can make
    send_many(server_url, [("WARMUP", "/"), ("GET", "/warm-up"), ("GET", "/metrics")], 1)
    before = requests.get(f"{server_url}/metrics", timeout=5).text
    shm_before = int(run_python(server_container, SHM_USED))
    rng = random.Random(8)
    invented = [("".join(rng.choices(string.ascii_uppercase, k=16)), "/") for _ in range(5000)]
    paths = [("GET", "/" + "".join(rng.choices(string.ascii_lowercase, k=12))) for _ in range(5000)]

    assert send_many(server_url, invented + paths) == 10000

    after = requests.get(f"{server_url}/metrics", timeout=5).text
    added = series(after) - series(before)
    # the counts change, the series do not
    assert added == set(), sorted(added)
    assert len(after) - len(before) < 8192
    shm_after = int(run_python(server_container, SHM_USED))
    assert shm_after - shm_before <= 1024 * 1024, (shm_before, shm_after)


def test_metrics_pass_promtool_check(server_url: str) -> None:
    assert PROMTOOL, "promtool is missing: apt-get install prometheus (scripts/test says so)"
    requests.get(server_url, timeout=5)
    text = requests.get(f"{server_url}/metrics", timeout=5).text
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def bucket(text: str, le: str) -> float:
    name = "ibdevserver_http_request_duration_seconds_bucket"
    found = re.search(rf'{name}\{{endpoint="/",le="{re.escape(le)}"\}} (\S+)', text)
    assert found, f"no bucket le={le}"
    return float(found[1])


def test_latency_buckets_resolve_sub_millisecond_requests(server_url: str) -> None:
    with requests.Session() as session:
        for _ in range(100):
            session.get(server_url, timeout=5)
    text = requests.get(f"{server_url}/metrics", timeout=5).text
    # the median lies in a bucket below a millisecond, not in the first of 5 ms
    assert bucket(text, "0.001") >= bucket(text, "+Inf") / 2


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/version", "/metrics"])
def test_live_answers_are_never_stored(server_url: str, path: str) -> None:
    response = requests.get(f"{server_url}{path}", timeout=5)
    assert response.headers["Cache-Control"] == "no-store"


def test_api_document_has_a_validator_and_answers_304(server_url: str) -> None:
    first = requests.get(f"{server_url}/openapi.json", timeout=5)
    assert first.status_code == 200
    assert "max-age=" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    again = requests.get(f"{server_url}/openapi.json", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304
    assert again.content == b""
    other = requests.get(
        f"{server_url}/openapi.json", headers={"If-None-Match": '"stale"'}, timeout=5
    )
    assert other.status_code == 200


def test_health_check_ignores_proxy_variables(server_container: Container) -> None:
    # a proxy that does not exist: a probe that went to it would fail
    proxy = "http://127.0.0.1:9"
    result = server_container.exec_run(
        ["python", "-m", "service.healthcheck"],
        environment={"HTTP_PROXY": proxy, "http_proxy": proxy, "ALL_PROXY": proxy},
    )
    assert result.exit_code == 0, result.output


def test_access_lines_stay_whole_under_two_workers(
    server_url: str, server_container: Container
) -> None:
    marker = f"whole-{random.randrange(10**9)}"
    # long lines fill each worker's buffer fast: many writes from both at once
    agent = marker + "-" + "a" * 1500
    host, port = address(server_url)
    total, connections = 3000, 32

    def client(count: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(count):
            conn.request("GET", "/healthz", headers={"User-Agent": agent})
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=client, args=(total // connections,)) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    sent = total // connections * connections
    lines = access_lines(server_container, marker, sent)
    whole = whole_healthz_line(agent)
    torn = [line[:120] for line in lines if not whole.match(line)]
    assert torn == []
    assert len(lines) == sent


@pytest.fixture(scope="module")
def tight_stack(
    new_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DockerCompose]:
    """A server with few connections, a short head deadline and a hostile status file."""
    status = tmp_path_factory.mktemp("hostile") / "status"
    status.write_text(HOSTILE_STATUS)
    status.chmod(0o644)
    overlay = {
        "server": {
            "environment": {
                "IBDEVSERVER_WORKER_CONNECTIONS": str(TIGHT_CONNECTIONS),
                "IBDEVSERVER_HEADER_TIMEOUT": str(TIGHT_HEADER_TIMEOUT),
                "IBDEVSERVER_STATUS_PATH": "/hostile/status",
            },
            "volumes": [f"{status}:/hostile/status:ro"],
        }
    }
    with stack_up(new_stack(services=["server"], overlay=overlay)) as compose:
        yield compose


def test_a_hostile_status_file_never_gets_a_5xx(tight_stack: DockerCompose) -> None:
    url = service_url(tight_stack, "server")
    response = requests.get(url, params={"format": "json"}, timeout=5)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["Cpus_allowed_list"] == "0-99999999999999999999"
    assert document["Seccomp"] == "99999999999999999999999"
    assert document["Uid"]["effective"] == 10001


def test_stalled_clients_cannot_hold_every_connection(
    tight_stack: DockerCompose, docker_client: docker.DockerClient
) -> None:
    url = service_url(tight_stack, "server")
    host, port = address(url)
    settings = container_settings(service_container(tight_stack, docker_client, "server"))
    header_timeout = settings.header_timeout
    capacity = settings.workers * settings.worker_connections
    held: list[socket.socket] = []
    try:
        # more half-sent requests than both workers hold together
        for _ in range(capacity + capacity // 2):
            stalled = socket.create_connection((host, port), timeout=5)
            stalled.sendall(b"GET / HTTP/1.1\r\nHost: ibdevserver\r\nX-Stalled: ")
            held.append(stalled)
        started = time.monotonic()
        response = requests.get(url, timeout=header_timeout + 10)
        elapsed = time.monotonic() - started
    finally:
        for stalled in held:
            stalled.close()
    assert response.status_code == 200
    assert elapsed < header_timeout + 3


def test_hostile_status_file_is_the_one_served(tight_stack: DockerCompose) -> None:
    # the tests above would prove nothing if the overlay's file were not in use
    url = service_url(tight_stack, "server")
    assert requests.get(url, timeout=5).text == HOSTILE_STATUS
