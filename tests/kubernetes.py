"""Render the Kubernetes manifests as `kubectl apply -k` would, for the tests of both suites."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
BASE = ROOT / "deploy" / "kubernetes"
RESTRICTED_EXAMPLE = BASE / "examples" / "restricted-namespace"


def render(directory: Path = BASE) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` renders from `directory` (kubectl's own kustomize)."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: scripts/test names the install step"
    output = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [document for document in yaml.safe_load_all(output) if document]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The Deployment's pod template spec."""
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def only_container(pod: dict[str, Any]) -> dict[str, Any]:
    """A pod spec's one container, the server."""
    (container,) = pod["containers"]
    assert isinstance(container, dict)
    return container


def server_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The Deployment's server container."""
    return only_container(pod_spec(objects))
