"""Fixtures for the compose-level suite: the real image, built and run by testcontainers.

Every stack gets a project name of its own (two runs can share an engine) and is
taken down by `DockerCompose.__exit__`, whether its tests pass or fail. The helpers
the tests share live in integration/helpers.py.
"""

from collections.abc import Iterator

import docker
import pytest
import requests
from docker.errors import DockerException
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from bench import images
from bench.containers import GO
from integration.helpers import (
    CONTAINER_PORT,
    StackFactory,
    service_container,
    service_url,
    stack_up,
    wait_until,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--refresh-screenshot",
        action="store_true",
        help="rewrite docs/posture.png from the browser test (otherwise the tree is not written)",
    )


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """The Docker engine. Without one the suite fails: it never passes by skipping."""
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as error:
        reason = str(error)
    else:
        return client
    pytest.fail(
        f"no Docker engine could be reached ({reason}); the integration suite needs one "
        "(start dockerd, or set DOCKER_HOST)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def new_stack(tmp_path_factory: pytest.TempPathFactory) -> StackFactory:
    """Make DockerCompose stacks over both compose files, each with its own project name."""
    return StackFactory(tmp_path_factory)


@pytest.fixture(scope="session")
def stack(docker_client: docker.DockerClient, new_stack: StackFactory) -> Iterator[DockerCompose]:
    """One stack for the tests that only read from it."""
    with stack_up(new_stack()) as compose:
        yield compose


@pytest.fixture
def own_stack(
    docker_client: docker.DockerClient, new_stack: StackFactory
) -> Iterator[DockerCompose]:
    """A server of the test's own, for tests that kill or stop what they run."""
    with stack_up(new_stack(services=["server"])) as compose:
        yield compose


@pytest.fixture(scope="session")
def server_url(stack: DockerCompose) -> str:
    """Where the stack's server answers."""
    return service_url(stack, "server")


@pytest.fixture(scope="session")
def broken_url(stack: DockerCompose) -> str:
    """Where the test overlay's server, whose status file is missing, answers."""
    return service_url(stack, "broken")


@pytest.fixture(scope="session")
def server_container(stack: DockerCompose, docker_client: docker.DockerClient) -> Container:
    """The stack's server container."""
    return service_container(stack, docker_client, "server")


@pytest.fixture(scope="session")
def go_url(docker_client: docker.DockerClient) -> Iterator[str]:
    """The Go original (bench/go_original), built as the benchmark builds it, on loopback."""
    images.build_go()
    container = docker_client.containers.run(  # type: ignore[call-overload]
        GO, detach=True, read_only=True, cap_drop=["ALL"],
        ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)},
    )  # fmt: skip
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"][f"{CONTAINER_PORT}/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"

        def answers() -> requests.Response | None:
            try:
                return requests.get(f"{url}/any/path", timeout=1)
            except requests.RequestException:
                return None

        wait_until(answers, within=10, what="the Go original to answer")
        yield url
    finally:
        container.remove(force=True)
