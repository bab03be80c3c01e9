"""The Kubernetes manifests, checked offline: rendered by kubectl, validated against the
schemas of the oldest and newest Kubernetes we support, scanned by checkov, held to the
Pod Security Standards' "restricted" level, and kept consistent with compose and the image.
"""

import configparser
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from service.settings import DEFAULT_PORT, Settings
from tests import compose_file
from tests.compose_file import compose_limits, quantity_bytes
from tests.known_values import IMAGE_GID, IMAGE_UID
from tests.kubernetes import (
    BASE,
    RESTRICTED_EXAMPLE,
    ROOT,
    one,
    only_container,
    pod_spec,
    render,
    server_container,
)

SUPPORTED = ["1.29.0", "1.35.0"]
# checkov pins much of what it needs: it gets an environment of its own, made on first use
CHECKOV_VERSION = "3.3.30"
CHECKOV_ENVIRONMENT = ROOT / ".tools" / "checkov"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov, installed into .tools/checkov (untracked) the first time a test needs it."""
    program = CHECKOV_ENVIRONMENT / "bin" / "checkov"
    if not program.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_ENVIRONMENT)], check=True)
        subprocess.run(
            [str(CHECKOV_ENVIRONMENT / "bin" / "pip"), "install", "--quiet",
             "--disable-pip-version-check", f"checkov=={CHECKOV_VERSION}"],
            check=True, timeout=900,
        )  # fmt: skip
    return program


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render(RESTRICTED_EXAMPLE)


@pytest.fixture(scope="module")
def pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return pod_spec(objects)


@pytest.fixture(scope="module")
def compose_server() -> dict[str, Any]:
    return compose_file.compose_server()


def test_the_base_renders_every_object() -> None:
    kinds = sorted(obj["kind"] for obj in render(BASE))
    assert kinds == sorted(
        [
            "Deployment",
            "HorizontalPodAutoscaler",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_object_validates_strictly(objects: list[dict[str, Any]], version: str) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.tools
def test_checkov_passes_with_only_the_justified_skips(tmp_path: Path, checkov: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(render(RESTRICTED_EXAMPLE)))
    result = subprocess.run(
        [
            str(checkov),
            "--config-file",
            str(BASE / "checkov.yaml"),
            "--file",
            str(rendered),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, result.stdout[-3000:]
    assert summary["passed"] > 50
    assert result.returncode == 0


def test_pod_meets_the_restricted_pod_security_standard(pod: dict[str, Any]) -> None:
    # the "restricted" profile's controls, as the Pod Security Standards list them
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for namespace in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(namespace), namespace
    assert all("hostPath" not in volume for volume in pod["volumes"])
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert not context["capabilities"].get("add")
        assert context.get("privileged") is not True
        assert context["readOnlyRootFilesystem"] is True
        assert all("hostPort" not in port for port in container["ports"])
    assert pod["automountServiceAccountToken"] is False


def test_restricted_example_namespace_enforces_the_restricted_level(
    objects: list[dict[str, Any]],
) -> None:
    namespace = one(objects, "Namespace")
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {obj["metadata"].get("namespace") for obj in objects if obj["kind"] != "Namespace"} == {
        namespace["metadata"]["name"]
    }


def test_uid_and_gid_are_the_images_user(pod: dict[str, Any]) -> None:
    for context in (pod["securityContext"], only_container(pod)["securityContext"]):
        assert (context["runAsUser"], context["runAsGroup"]) == (IMAGE_UID, IMAGE_GID)


def test_the_port_is_the_one_gunicorn_binds_everywhere(
    objects: list[dict[str, Any]], compose_server: dict[str, Any]
) -> None:
    (port,) = server_container(objects)["ports"]
    assert port["containerPort"] == DEFAULT_PORT
    (service_port,) = one(objects, "Service")["spec"]["ports"]
    assert service_port["port"] == DEFAULT_PORT
    assert service_port["targetPort"] == port["name"]
    assert f"EXPOSE {DEFAULT_PORT}\n" in (ROOT / "Dockerfile").read_text()
    (published,) = compose_server["ports"]
    assert published.endswith(f":{DEFAULT_PORT}")


def test_probe_paths_are_in_the_api_document(objects: list[dict[str, Any]]) -> None:
    paths = json.loads((ROOT / "service" / "web" / "openapi.json").read_text())["paths"]
    container = server_container(objects)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] in paths, probe
        assert container[probe]["httpGet"]["port"] == container["ports"][0]["name"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_limits_match_the_compose_limits(objects: list[dict[str, Any]]) -> None:
    limits = compose_limits()
    resources = server_container(objects)["resources"]
    for kind in ("requests", "limits"):
        assert float(resources[kind]["cpu"]) == limits.cpus
        assert quantity_bytes(resources[kind]["memory"]) == limits.memory_bytes


def test_shm_matches_the_compose_shm(pod: dict[str, Any]) -> None:
    (shm,) = [volume for volume in pod["volumes"] if volume["name"] == "shm"]
    assert shm["emptyDir"]["medium"] == "Memory"
    assert quantity_bytes(shm["emptyDir"]["sizeLimit"]) == compose_limits().shm_bytes
    mounts = only_container(pod)["volumeMounts"]
    assert {"name": "shm", "mountPath": "/dev/shm"} in mounts


def container_settings(container: dict[str, Any]) -> Settings:
    """The settings the container's server runs with, read from its env as the server reads it."""
    return Settings.from_environ({env["name"]: env["value"] for env in container.get("env", [])})


def test_grace_period_covers_the_drain_and_requests_in_flight(pod: dict[str, Any]) -> None:
    settings = container_settings(only_container(pod))
    assert settings.drain_seconds == 5
    assert pod["terminationGracePeriodSeconds"] > settings.graceful_timeout


def test_rollouts_keep_every_replica_and_disruptions_keep_one(
    objects: list[dict[str, Any]],
) -> None:
    deployment = one(objects, "Deployment")["spec"]
    assert deployment["replicas"] >= 2
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (spread,) = deployment["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    pod_labels = deployment["template"]["metadata"]["labels"]
    budget = one(objects, "PodDisruptionBudget")["spec"]
    assert budget["minAvailable"] >= 1
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()
    autoscaler = one(objects, "HorizontalPodAutoscaler")["spec"]
    assert autoscaler["minReplicas"] >= 2
    assert autoscaler["metrics"][0]["resource"]["name"] == "cpu"
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]


def test_image_tag_is_the_package_version(objects: list[dict[str, Any]]) -> None:
    metadata = configparser.ConfigParser()
    metadata.read(ROOT / "setup.cfg")
    version = metadata["metadata"]["version"]
    assert server_container(objects)["image"] == f"ibdevserver:{version}"
