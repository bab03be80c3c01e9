"""The arm64 leg: the image built for linux/arm64 from the same Dockerfile and compose file,
run under emulation (QEMU through binfmt_misc), with the core checks against it."""

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests
from testcontainers.compose import DockerCompose

from integration.helpers import (
    TEST_IMAGE,
    StackFactory,
    run_python,
    service_container,
    service_url,
    stack_up,
)

pytestmark = pytest.mark.slow

BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
# a base with an arm64 variant: Docker Hub's is multi-platform; offline, the one
# `scripts/build-base-image --arch arm64` makes
BASE = os.environ.get("IBDEVSERVER_ARM64_PYTHON_IMAGE", "python:3.13-slim-trixie")
IMAGE = f"{TEST_IMAGE}-arm64"


@pytest.fixture(scope="module")
def arm64_stack(
    docker_client: docker.DockerClient, new_stack: StackFactory
) -> Iterator[DockerCompose]:
    """The server service built for and run as linux/arm64."""
    if not BINFMT.exists() or "enabled" not in BINFMT.read_text():
        pytest.fail(
            "no qemu-aarch64 in binfmt_misc: apt-get install qemu-user-static, and mount "
            "binfmt_misc (.ci/run shows how)",
            pytrace=False,
        )
    overlay = {"server": {"platform": "linux/arm64", "image": IMAGE,
                          "build": {"args": {"PYTHON_IMAGE": BASE}},
                          # emulated, a start takes several times as long
                          "healthcheck": {"start_period": "120s"}}}  # fmt: skip
    with stack_up(new_stack(services=["server"], overlay=overlay)) as compose:
        yield compose


def test_the_image_is_arm64(arm64_stack: DockerCompose, docker_client: docker.DockerClient) -> None:
    assert docker_client.images.get(IMAGE).attrs["Architecture"] == "arm64"
    container = service_container(arm64_stack, docker_client, "server")
    assert run_python(container, "import platform; print(platform.machine())").strip() == "aarch64"


def test_serves_pid_1_status_as_text_plain_on_9999(arm64_stack: DockerCompose) -> None:
    # service_url reaches the server through its published container port, 9999
    url = service_url(arm64_stack, "server")
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Name:\tgunicorn")


def test_passes_every_required_posture_check(arm64_stack: DockerCompose) -> None:
    url = service_url(arm64_stack, "server")
    document = requests.get(f"{url}/posture", params={"format": "json"}, timeout=10).json()
    required = {check["id"]: check["status"] for check in document["checks"] if check["required"]}
    assert len(required) >= 5
    assert required == dict.fromkeys(required, "pass")
