"""The stack under load and faults, traffic to 127.0.0.1 only, every loop bounded.

The long tests are marked `slow`: `scripts/test -m "not slow"` leaves them out, CI runs them.
"""

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import docker
import pytest
import requests
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from integration.helpers import (
    StackFactory,
    address,
    container_settings,
    root_requests_served,
    run_python,
    service_container,
    service_url,
    stack_up,
    wait_until,
)
from integration.load import run_load

pytestmark = pytest.mark.slow

CONNECTIONS = 64

# Python run in the container: gunicorn's workers, the children of its master (PID 1)
WORKERS = """
import os
def workers():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[1] == "1":
            yield pid
"""
WORKER_PIDS = WORKERS + "print(*workers())\n"


def worker_pids(container: Container) -> set[int]:
    """The PIDs (inside the container) of gunicorn's workers: the children of PID 1."""
    return {int(pid) for pid in run_python(container, WORKER_PIDS).split()}


# gunicorn's master (PID 1) and its workers, and no other process: the test stack's
# health check, a Python process of its own, runs every second, and a count of the
# whole cgroup caught it now and then (7 MiB more, or less, than the server's own)
SERVER_MEMORY = (
    WORKERS
    + """
def anonymous_kib(pid):
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return 0
    return sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("RssAnon:"))
print(1024 * sum(anonymous_kib(pid) for pid in ["1", *workers()]))
"""
)


def anonymous_memory(container: Container) -> int:
    """The server's anonymous memory in bytes: its master's and workers' (the page cache
    is not the service's), each process counted whole, pages shared since fork too."""
    return int(run_python(container, SERVER_MEMORY))


def test_load_answers_every_request_and_memory_stays_flat(
    server_url: str, server_container: Container
) -> None:
    warm_up = run_load(server_url, total=3000, connections=CONNECTIONS)
    assert warm_up.failed == 0, (warm_up.statuses, warm_up.errors)
    after_warm_up = anonymous_memory(server_container)
    # the server's processes were found: a flat zero would prove nothing
    assert after_warm_up > 0

    result = run_load(server_url, total=12000, connections=CONNECTIONS)

    assert result.failed == 0, (result.statuses, result.errors)
    assert result.answered == 12000
    after_load = anonymous_memory(server_container)
    assert abs(after_load - after_warm_up) <= 0.10 * after_warm_up, (after_warm_up, after_load)


def test_killed_worker_is_replaced_and_only_its_requests_fail(
    own_stack: DockerCompose, docker_client: docker.DockerClient
) -> None:
    container = service_container(own_stack, docker_client, "server")
    url = service_url(own_stack, "server")
    workers = worker_pids(container)
    worker_count = container_settings(container).workers
    assert len(workers) == worker_count
    results = []
    load = threading.Thread(
        target=lambda: results.append(run_load(url, total=8000, connections=CONNECTIONS))
    )
    load.start()
    wait_until(
        lambda: root_requests_served(url) >= 500,
        within=30,
        what="the load to be under way (500 served)",
    )
    victim = min(workers)
    run_python(container, f"import os, signal; os.kill({victim}, signal.SIGKILL)")
    killed_at = time.monotonic()

    def replaced() -> bool:
        current = worker_pids(container)
        return victim not in current and len(current) == worker_count

    wait_until(replaced, within=10, what="a replacement worker")
    replaced_after = time.monotonic() - killed_at
    load.join(timeout=120)
    assert not load.is_alive()

    assert replaced_after <= 2.0
    (result,) = results
    # each connection has one request in flight at most, so at most the requests
    # on the killed worker's connections fail, and none of them with a 5xx
    assert result.failed <= CONNECTIONS, (result.statuses, result.errors)
    assert all(status == 200 for status in result.statuses)
    assert requests.get(url, timeout=5).status_code == 200


def log_says(container: Container, text: str, within: float) -> bool:
    return wait_until(lambda: text in container.logs().decode(), within, f"{text!r} logged")


def request_outcome(host: str, port: int) -> str:
    """What a new request gets: a whole response, or no bytes at all; never half of one."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read()
        assert len(body) == int(response.headers["Content-Length"])
        return f"answered {response.status}"
    except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected) as error:
        return type(error).__name__
    finally:
        conn.close()


def test_graceful_stop_finishes_the_request_in_flight(
    own_stack: DockerCompose, docker_client: docker.DockerClient
) -> None:
    container = service_container(own_stack, docker_client, "server")
    host, port = address(service_url(own_stack, "server"))
    grace_period = container.attrs["Config"]["StopTimeout"]

    in_flight = socket.create_connection((host, port), timeout=grace_period)
    # one whole request first: once it is answered, a worker holds the connection
    in_flight.sendall(b"GET /healthz HTTP/1.1\r\nHost: ibdevserver\r\n\r\n")
    first = http.client.HTTPResponse(in_flight)
    first.begin()
    assert first.read() == b"ok\n"
    in_flight.sendall(b"GET / HTTP/1.1\r\nHost: ibdevserver\r\n")
    started = time.monotonic()
    stopper = threading.Thread(target=container.stop, kwargs={"timeout": grace_period})
    stopper.start()
    assert log_says(container, "Handling signal: term", within=5)

    # new requests meanwhile: refused, or answered whole (request_outcome checks)
    during = set()
    for _ in range(10):
        during.add(request_outcome(host, port))
    in_flight.sendall(b"\r\n")
    response = http.client.HTTPResponse(in_flight)
    response.begin()
    body = response.read()
    in_flight.close()
    stopper.join(timeout=grace_period + 10)
    stopped_after = time.monotonic() - started

    assert response.status == 200
    assert body.startswith(b"Name:\tgunicorn\n")
    assert len(body) == int(response.headers["Content-Length"])
    assert during <= {
        "answered 200",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "RemoteDisconnected",
    }, during
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0
    assert stopped_after < grace_period
    assert request_outcome(host, port) == "ConnectionRefusedError"


def established_to_server(port: int) -> str:
    """Code that counts the connections established to `port` inside the container."""
    return f"""
count = 0
for line in open("/proc/net/tcp").readlines()[1:]:
    local, state = line.split()[1], line.split()[3]
    count += local.endswith(":{port:04X}") and state == "01"
print(count)
"""


def test_slow_clients_do_not_stall_normal_requests(
    server_url: str, server_container: Container
) -> None:
    host, port = address(server_url)
    count_established = established_to_server(container_settings(server_container).port)
    held: list[socket.socket] = []
    try:
        for _ in range(256):
            slow = socket.create_connection((host, port), timeout=5)
            slow.sendall(b"GET / HTTP/1.1\r\nHost: ibdevserver\r\nX-Slow: ")
            held.append(slow)
        wait_until(
            lambda: int(run_python(server_container, count_established)) >= 256,
            within=10,
            what="256 slow connections established inside the container",
        )
        for _ in range(20):
            started = time.monotonic()
            response = requests.get(server_url, timeout=5)
            elapsed = time.monotonic() - started
            assert response.status_code == 200
            assert elapsed < 1.0
    finally:
        for slow in held:
            slow.close()


def test_error_path_under_load_answers_500_and_stays_up(
    broken_url: str, stack: DockerCompose
) -> None:
    result = run_load(broken_url, total=4000, connections=CONNECTIONS, keep_bodies=True)
    assert result.errors == {}
    assert result.statuses == {500: 4000}
    assert result.bodies == {b"error occurred": 4000}
    assert requests.get(f"{broken_url}/healthz", timeout=5).status_code == 200
    assert stack.get_container("broken").State == "running"


DRAIN_SECONDS = 3.0


@pytest.fixture
def draining_stack(
    docker_client: docker.DockerClient, new_stack: StackFactory
) -> Iterator[DockerCompose]:
    """A server that drains for DRAIN_SECONDS on SIGTERM, as in the Kubernetes Deployment."""
    overlay = {"server": {"environment": {"IBDEVSERVER_DRAIN_SECONDS": str(DRAIN_SECONDS)}}}
    with stack_up(new_stack(services=["server"], overlay=overlay)) as compose:
        yield compose


def readiness_while(url: str, until: threading.Event) -> list[tuple[float, str]]:
    """Poll /readyz every 50 ms until `until` is set (at most 30 s): (when, outcome) pairs."""
    polls = []
    deadline = time.monotonic() + 30
    while not until.is_set() and time.monotonic() < deadline:
        try:
            outcome = str(requests.get(f"{url}/readyz", timeout=2).status_code)
        except requests.ConnectionError:
            outcome = "refused"
        polls.append((time.monotonic(), outcome))
        time.sleep(0.05)
    return polls


def test_drain_on_stop_fails_readiness_and_serves_every_request(
    draining_stack: DockerCompose, docker_client: docker.DockerClient
) -> None:
    container = service_container(draining_stack, docker_client, "server")
    url = service_url(draining_stack, "server")
    grace_period = container.attrs["Config"]["StopTimeout"]
    assert grace_period > container_settings(container).graceful_timeout

    stop_load, stop_polling = threading.Event(), threading.Event()
    results, polls = [], []
    load = threading.Thread(
        target=lambda: results.append(
            run_load(url, total=200_000, connections=16, time_limit=60, stop=stop_load)
        )
    )
    poller = threading.Thread(target=lambda: polls.extend(readiness_while(url, stop_polling)))
    load.start()
    wait_until(lambda: root_requests_served(url) >= 500, within=30, what="the load to be under way")
    poller.start()
    stopper = threading.Thread(target=container.stop, kwargs={"timeout": grace_period})
    signalled = time.monotonic()
    stopper.start()
    # the load goes on through the drain, as it would until endpoints drop the pod
    time.sleep(DRAIN_SECONDS - 0.5)
    stop_load.set()
    load.join(timeout=30)
    stopper.join(timeout=grace_period + 10)
    stop_polling.set()
    poller.join(timeout=10)
    stopped_after = time.monotonic() - signalled

    (result,) = results
    assert result.answered > 1000
    assert result.failed == 0, (result.statuses, result.errors)
    during_drain = [
        outcome
        for when, outcome in polls
        if signalled + 0.2 < when < signalled + DRAIN_SECONDS - 0.2
    ]
    assert during_drain
    assert set(during_drain) == {"503"}, during_drain
    assert "200" not in [outcome for when, outcome in polls if when > signalled + 0.2]
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0
    assert DRAIN_SECONDS <= stopped_after < grace_period
