"""Fixtures for the compose-level suite: the real image, built and run by testcontainers.

Every stack gets a project name of its own (two runs can share an engine) and is
taken down by `DockerCompose.__exit__`, whether its tests pass or fail.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path
from subprocess import CalledProcessError

import docker
import pytest
from docker.errors import DockerException
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

ROOT = Path(__file__).parents[1]
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.test.yml"]
CONTAINER_PORT = 9999
SOURCE_REVISION = "integration-test"


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
def new_stack(tmp_path_factory: pytest.TempPathFactory) -> "StackFactory":
    """Make DockerCompose stacks over both compose files, each with its own project name."""
    return StackFactory(tmp_path_factory)


class StackFactory:
    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory

    def __call__(self) -> DockerCompose:
        project = f"ibdevserver-test-{uuid.uuid4().hex[:12]}"
        env_file = self.tmp_path_factory.mktemp(project) / "compose.env"
        env_file.write_text(f"COMPOSE_PROJECT_NAME={project}\nSOURCE_REVISION={SOURCE_REVISION}\n")
        return DockerCompose(
            context=ROOT,
            compose_file_name=COMPOSE_FILES,
            build=True,
            wait=True,
            env_file=str(env_file),
        )


def stack_up(new_stack: StackFactory) -> Iterator[DockerCompose]:
    """Bring a new stack up, yield it, take it down; say plainly when it cannot start."""
    try:
        with new_stack() as compose:
            yield compose
    except CalledProcessError as error:
        pytest.fail(
            f"docker compose failed ({error.cmd[-3:]}):\n{error.stderr.decode()[-3000:]}\n"
            "Where Docker Hub cannot be reached, build a base image with "
            "scripts/build-base-image and export PYTHON_IMAGE.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def stack(docker_client: docker.DockerClient, new_stack: StackFactory) -> Iterator[DockerCompose]:
    """One stack for the tests that only read from it."""
    yield from stack_up(new_stack)


@pytest.fixture
def own_stack(
    docker_client: docker.DockerClient, new_stack: StackFactory
) -> Iterator[DockerCompose]:
    """A stack of the test's own, for tests that kill or stop what they run."""
    yield from stack_up(new_stack)


def service_url(compose: DockerCompose, service: str) -> str:
    """The URL of a service's published container port, on loopback."""
    host, port = compose.get_service_host_and_port(service, CONTAINER_PORT)
    assert host == "127.0.0.1", f"{service} is published on {host}, not on loopback"
    return f"http://{host}:{port}"


@pytest.fixture(scope="session")
def server_url(stack: DockerCompose) -> str:
    """Where the stack's server answers."""
    return service_url(stack, "server")


@pytest.fixture(scope="session")
def broken_url(stack: DockerCompose) -> str:
    """Where the test overlay's server, whose status file is missing, answers."""
    return service_url(stack, "broken")


def service_container(
    compose: DockerCompose, client: docker.DockerClient, service: str
) -> Container:
    """The docker SDK's view of a service's container, for inspect, exec and stats."""
    container_id = compose.get_container(service).ID
    assert container_id
    return client.containers.get(container_id)


@pytest.fixture(scope="session")
def server_container(stack: DockerCompose, docker_client: docker.DockerClient) -> Container:
    """The stack's server container."""
    return service_container(stack, docker_client, "server")


def run_python(container: Container, code: str) -> str:
    """Run Python code inside a container (it has no shell tools to speak of); return stdout."""
    result = container.exec_run(["python", "-c", code])
    assert isinstance(result.output, bytes)
    assert result.exit_code == 0, result.output
    return result.output.decode()
