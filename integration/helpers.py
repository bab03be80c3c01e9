"""Helpers the compose-level tests share: stacks, addresses, raw exchanges, waits."""

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import CalledProcessError
from typing import Any, TypeVar
from urllib.parse import urlsplit

import docker
import pytest
import requests
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from service.settings import DEFAULT_PORT, Settings
from tests.prometheus_text import requests_counted

ROOT = Path(__file__).parents[1]
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.test.yml"]
CONTAINER_PORT = DEFAULT_PORT
# the suite's own tag, so that a run never retags the user's `ibdevserver`; two
# checkouts testing on one engine at once give each its own
TEST_IMAGE = os.environ.get("IBDEVSERVER_TEST_IMAGE", "ibdevserver-test")
# a short SHA that JSON would read as a number (8.968e+53): /version must keep it a string
SOURCE_REVISION = "8968e50"

T = TypeVar("T")


class StackFactory:
    """Make DockerCompose stacks over both compose files, each with its own project name."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory

    def __call__(
        self,
        services: list[str] | None = None,
        overlay: dict[str, Any] | None = None,
        files: tuple[Path, ...] = (),
    ) -> DockerCompose:
        """A stack of `services` (all by default), with `files`, then `overlay`, merged over
        the compose files."""
        project = f"ibdevserver-test-{uuid.uuid4().hex[:12]}"
        folder = self.tmp_path_factory.mktemp(project)
        env_file = folder / "compose.env"
        env_file.write_text(
            f"COMPOSE_PROJECT_NAME={project}\nSOURCE_REVISION={SOURCE_REVISION}\n"
            f"IBDEVSERVER_IMAGE={TEST_IMAGE}\n"
        )
        names = [str(ROOT / name) for name in COMPOSE_FILES] + [str(path) for path in files]
        if overlay is not None:
            # JSON is YAML: compose reads it as one more file
            overlay_file = folder / "overlay.yml"
            overlay_file.write_text(json.dumps({"services": overlay}))
            names.append(str(overlay_file))
        return DockerCompose(
            context=ROOT,
            compose_file_name=names,
            build=True,
            wait=True,
            env_file=str(env_file),
            services=services,
        )


@contextmanager
def stack_up(compose: DockerCompose) -> Iterator[DockerCompose]:
    """Bring a stack up, yield it, take it down; say plainly when it cannot start."""
    try:
        with compose:
            yield compose
    except CalledProcessError as error:
        pytest.fail(
            f"docker compose failed ({error.cmd[-3:]}):\n{error.stderr.decode()[-3000:]}\n"
            "Where Docker Hub cannot be reached, build a base image with "
            "scripts/build-base-image and export PYTHON_IMAGE.",
            pytrace=False,
        )


def service_url(compose: DockerCompose, service: str) -> str:
    """The URL of a service's published container port, on loopback."""
    host, port = compose.get_service_host_and_port(service, CONTAINER_PORT)
    assert host == "127.0.0.1", f"{service} is published on {host}, not on loopback"
    return f"http://{host}:{port}"


def service_container(
    compose: DockerCompose, client: docker.DockerClient, service: str
) -> Container:
    """The docker SDK's view of a service's container, for inspect, exec and stats."""
    container_id = compose.get_container(service).ID
    assert container_id
    return client.containers.get(container_id)


def container_settings(container: Container) -> Settings:
    """The settings the container's server runs with: its environment, read as it reads it."""
    environment = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    return Settings.from_environ(environment)


def run_python(container: Container, code: str) -> str:
    """Run Python code inside a container (it has no shell tools to speak of); return stdout."""
    result = container.exec_run(["python", "-c", code])
    assert isinstance(result.output, bytes)
    assert result.exit_code == 0, result.output
    return result.output.decode()


def address(url: str) -> tuple[str, int]:
    """The loopback host and port of `url`; traffic goes nowhere else."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port
    return parts.hostname, parts.port


def exchange(url: str, payload: bytes, timeout: float = 5.0) -> bytes:
    """Send `payload` on a new connection, half-close it, and read all the server says."""
    received = b""
    with socket.create_connection(address(url), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse to read the rest: an answer in itself
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # closed without an answer
    return received


def wait_until(condition: Callable[[], T | None], within: float, what: str) -> T:
    """Poll `condition` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}", pytrace=False)
        time.sleep(0.05)


def answers_healthz(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@contextmanager
def running_image(client: docker.DockerClient, image: str, **options: Any) -> Iterator[str]:
    """Run `image` with docker SDK `options`, published on a loopback port; yield its URL
    once /healthz answers, and remove the container afterwards."""
    # an ephemeral loopback port: the stubs want a number where Docker takes None
    container: Container = client.containers.run(  # type: ignore[call-overload]
        image, detach=True, ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)}, **options
    )
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"][f"{CONTAINER_PORT}/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers_healthz(url), within=30, what=f"{image} to answer")
        yield url
    finally:
        container.remove(force=True)


def root_requests_served(url: str) -> float:
    """Requests for `/` the server has answered with 200, from its own metrics."""
    text = requests.get(f"{url}/metrics", timeout=5).text
    return requests_counted(text, endpoint="/", method="GET", status="200")


def access_lines(container: Container, marker: str, expected: int) -> list[str]:
    """The access lines holding `marker`, once at least `expected` are written (flushed
    every 0.5 s)."""

    def written() -> list[str] | None:
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        lines = [line for line in stdout.splitlines() if marker in line]
        return lines if len(lines) >= expected else None

    return wait_until(written, within=10, what=f"{expected} access lines with {marker}")
