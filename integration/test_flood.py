"""A connection flood from one client does not take the stack down (issue 18).

Few slots (IBDEVSERVER_WORKER_CONNECTIONS=50 a worker) and an attacker with three
times as many connections through the published port, each a head that grows by
a byte a second: honest requests are still answered, and the flood's connections
are cut long before the head deadline would cut them. The attacker stays far
below the few thousand connections under which docker-proxy itself fails
(docs/security.md).
"""

import queue
import threading
import time
from collections.abc import Iterator

import docker
import pytest
import requests
from testcontainers.compose import DockerCompose

from bench.flood import Attacker
from integration.helpers import (
    StackFactory,
    address,
    container_settings,
    service_container,
    service_url,
    stack_up,
)

SLOTS = 50
HONEST_REQUESTS, HONEST_EVERY, HONEST_WITHIN = 20, 0.1, 1.0
RAMP_SECONDS = 5.0


@pytest.fixture(scope="module")
def few_slots(new_stack: StackFactory) -> Iterator[DockerCompose]:
    """A server whose workers hold SLOTS connections each."""
    overlay = {"server": {"environment": {"IBDEVSERVER_WORKER_CONNECTIONS": str(SLOTS)}}}
    with stack_up(new_stack(services=["server"], overlay=overlay)) as compose:
        yield compose


def test_honest_requests_are_answered_and_the_flood_is_cut(
    few_slots: DockerCompose, docker_client: docker.DockerClient
) -> None:
    url = service_url(few_slots, "server")
    settings = container_settings(service_container(few_slots, docker_client, "server"))
    slots = settings.workers * settings.worker_connections
    assert settings.worker_connections == SLOTS
    attacker = Attacker(address(url)[1], 3 * slots, "slow")
    # the whole flood ends well inside the head deadline: whatever it cuts, eviction cut
    seconds = RAMP_SECONDS + HONEST_REQUESTS * HONEST_EVERY + 2
    assert seconds < settings.header_timeout
    ready: threading.Event = threading.Event()
    report: queue.Queue[tuple[int, int]] = queue.Queue()
    flood = threading.Thread(target=attacker.run, args=(seconds, ready, report))
    flood.start()
    answers: list[tuple[int, float] | str] = []
    try:
        assert ready.wait(RAMP_SECONDS), "the attacker could not open its connections"
        for _ in range(HONEST_REQUESTS):
            started = time.monotonic()
            try:
                response = requests.get(url, timeout=HONEST_WITHIN)
                answers.append((response.status_code, time.monotonic() - started))
            except requests.RequestException as error:
                answers.append(type(error).__name__)
            time.sleep(HONEST_EVERY)
    finally:
        flood.join(timeout=seconds + 30)
    held, reopened = report.get(timeout=5)
    assert all(
        isinstance(answer, tuple) and answer[0] == 200 and answer[1] < HONEST_WITHIN
        for answer in answers
    ), answers
    # the server let go of flood connections (each one cut was opened again at once)
    assert reopened >= slots, (held, reopened)
