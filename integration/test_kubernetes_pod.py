"""The real image under the Deployment's own container settings (deploy/kubernetes).

No cluster can be reached here, so the test does what the kubelet would: runs the
image as the pod's user, with its read-only root, dropped capabilities, no new
privileges, its /dev/shm size and its environment, and asks each probe's path.
"""

from collections.abc import Iterator
from typing import Any

import docker
import pytest
import requests
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from integration.helpers import CONTAINER_PORT, TEST_IMAGE, wait_until
from tests.kubernetes import render, server_container
from tests.test_kubernetes import quantity_bytes


@pytest.fixture(scope="module")
def pod_container() -> dict[str, Any]:
    objects = render()
    container = server_container(objects)
    (deployment,) = [obj for obj in objects if obj["kind"] == "Deployment"]
    container["_pod"] = deployment["spec"]["template"]["spec"]
    return container


@pytest.fixture(scope="module")
def as_the_pod_runs_it(
    stack: DockerCompose, docker_client: docker.DockerClient, pod_container: dict[str, Any]
) -> Iterator[str]:
    """The suite's image (built by the stack) run with the pod's settings; yield its URL."""
    context = pod_container["securityContext"]
    pod = pod_container["_pod"]
    (shm,) = [volume for volume in pod["volumes"] if volume["name"] == "shm"]
    limits = pod_container["resources"]["limits"]
    assert context["allowPrivilegeEscalation"] is False
    # an ephemeral loopback port: the stubs want a number where Docker takes None
    container: Container = docker_client.containers.run(  # type: ignore[call-overload]
        TEST_IMAGE,
        detach=True,
        user=f"{context['runAsUser']}:{context['runAsGroup']}",
        read_only=context["readOnlyRootFilesystem"],
        cap_drop=context["capabilities"]["drop"],
        security_opt=["no-new-privileges:true"],
        shm_size=quantity_bytes(shm["emptyDir"]["sizeLimit"]),
        mem_limit=quantity_bytes(limits["memory"]),
        nano_cpus=int(float(limits["cpu"]) * 1e9),
        environment={env["name"]: env["value"] for env in pod_container["env"]},
        ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)},
    )
    try:
        container.reload()
        host_port = container.attrs["NetworkSettings"]["Ports"][f"{CONTAINER_PORT}/tcp"][0]
        url = f"http://127.0.0.1:{host_port['HostPort']}"

        def answers() -> bool:
            try:
                return requests.get(f"{url}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(answers, within=30, what="the pod's container to answer")
        yield url
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_each_probe_answers_200_under_the_pods_settings(
    as_the_pod_runs_it: str, pod_container: dict[str, Any], probe: str
) -> None:
    path = pod_container[probe]["httpGet"]["path"]
    assert requests.get(f"{as_the_pod_runs_it}{path}", timeout=5).status_code == 200


def test_the_pods_settings_are_in_force(as_the_pod_runs_it: str) -> None:
    status = requests.get(as_the_pod_runs_it, params={"format": "json"}, timeout=5).json()
    assert status["Uid"]["effective"] == 10001
    assert status["CapEff"]["names"] == []
    assert status["NoNewPrivs"] is True
