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
from testcontainers.compose import DockerCompose

from integration.helpers import TEST_IMAGE, running_image
from tests.compose_file import compose_limits, quantity_bytes
from tests.known_values import IMAGE_UID
from tests.kubernetes import only_container, pod_spec, render


@pytest.fixture(scope="module")
def pod() -> dict[str, Any]:
    return pod_spec(render())


@pytest.fixture(scope="module")
def as_the_pod_runs_it(
    stack: DockerCompose, docker_client: docker.DockerClient, pod: dict[str, Any]
) -> Iterator[str]:
    """The suite's image (built by the stack) run with the pod's settings; yield its URL."""
    container = only_container(pod)
    context = container["securityContext"]
    (shm,) = [volume for volume in pod["volumes"] if volume["name"] == "shm"]
    limits = container["resources"]["limits"]
    assert context["allowPrivilegeEscalation"] is False
    with running_image(
        docker_client,
        TEST_IMAGE,
        user=f"{context['runAsUser']}:{context['runAsGroup']}",
        read_only=context["readOnlyRootFilesystem"],
        cap_drop=context["capabilities"]["drop"],
        security_opt=["no-new-privileges=true"],
        shm_size=quantity_bytes(shm["emptyDir"]["sizeLimit"]),
        mem_limit=quantity_bytes(limits["memory"]),
        # a pod's process limit is the kubelet's podPidsLimit, which the cluster sets and
        # no manifest can: here the compose stack's stands in for it
        pids_limit=compose_limits().pids,
        nano_cpus=int(float(limits["cpu"]) * 1e9),
        environment={env["name"]: env["value"] for env in container["env"]},
    ) as url:
        yield url


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_each_probe_answers_200_under_the_pods_settings(
    as_the_pod_runs_it: str, pod: dict[str, Any], probe: str
) -> None:
    path = only_container(pod)[probe]["httpGet"]["path"]
    assert requests.get(f"{as_the_pod_runs_it}{path}", timeout=5).status_code == 200


def test_the_pods_settings_are_in_force(as_the_pod_runs_it: str) -> None:
    status = requests.get(as_the_pod_runs_it, params={"format": "json"}, timeout=5).json()
    assert status["Uid"]["effective"] == IMAGE_UID
    assert status["CapEff"]["names"] == []
    assert status["NoNewPrivs"] is True


def test_every_required_posture_check_passes_under_the_pods_settings(
    as_the_pod_runs_it: str,
) -> None:
    document = requests.get(f"{as_the_pod_runs_it}/posture?format=json", timeout=10).json()
    failed = [check["id"] for check in document["checks"]
              if check["required"] and check["status"] != "pass"]  # fmt: skip
    assert failed == []
