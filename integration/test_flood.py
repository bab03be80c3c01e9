"""A connection flood from one client does not take the stack down (issue 18).

Few slots (IBDEVSERVER_WORKER_CONNECTIONS=50 a worker) and an attacker with three
times as many connections through the published port, each a head that grows by
a byte a second: honest requests are still answered, and the flood's connections
are cut long before the head deadline would cut them. And slow bodies (issue 25)
on the shared stack: each answered, then held while its body trickles in. The
attacker stays far below the few thousand connections under which docker-proxy
itself fails (docs/security.md).
"""

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest
import requests
from docker.models.containers import Container
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
# slow-body connections through the published port, far below what docker-proxy fails at
SLOW_BODIES = 300
HONEST_REQUESTS, HONEST_EVERY, HONEST_WITHIN = 20, 0.1, 1.0
RAMP_SECONDS = 5.0


@pytest.fixture(scope="module")
def few_slots(new_stack: StackFactory) -> Iterator[DockerCompose]:
    """A server whose workers hold SLOTS connections each."""
    overlay = {"server": {"environment": {"IBDEVSERVER_WORKER_CONNECTIONS": str(SLOTS)}}}
    with stack_up(new_stack(services=["server"], overlay=overlay)) as compose:
        yield compose


def honest_during(attacker: Attacker, seconds: float, url: str) -> tuple[list[Any], int, int]:
    """Run `attacker` for `seconds`; meanwhile send the honest requests. Return their
    answers (status and seconds, or the error's name), and the flood's held and
    reopened connections."""
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
    return answers, held, reopened


def all_answered(answers: list[Any]) -> bool:
    return all(
        isinstance(answer, tuple) and answer[0] == 200 and answer[1] < HONEST_WITHIN
        for answer in answers
    )


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
    answers, held, reopened = honest_during(attacker, seconds, url)
    assert all_answered(answers), answers
    # the server let go of flood connections (each one cut was opened again at once)
    assert reopened >= slots, (held, reopened)


def test_slow_bodies_are_answered_and_held_not_reopened(
    server_url: str, server_container: Container
) -> None:
    # R.U.D.Y. (issue 25): each connection's head declares a body that comes a byte a
    # second; answered at once, it is held while the body comes (server/linger.py),
    # so the attacker has nothing to open again, and no request of its own to make
    settings = container_settings(server_container)
    attacker = Attacker(address(server_url)[1], SLOW_BODIES, "body")
    seconds = RAMP_SECONDS + HONEST_REQUESTS * HONEST_EVERY + 2
    assert seconds < settings.body_timeout
    answers, held, reopened = honest_during(attacker, seconds, server_url)
    assert all_answered(answers), answers
    assert attacker.answered >= SLOW_BODIES, attacker.answered
    assert held == SLOW_BODIES
    # closed after their answers, each would have been opened again at once
    assert reopened == 0, reopened
