"""The image as the engine ships it: its layers (from `docker save`), its labels, its SBOM."""

import configparser
import json
import os
import re
import subprocess
from pathlib import PurePosixPath
from typing import Any

import docker
import pytest
from testcontainers.compose import DockerCompose

from bench.layers import Layer, image_layers
from integration.helpers import ROOT, SOURCE_REVISION, TEST_IMAGE

SBOM_LABEL = "io.github.ibdevserver.sbom"
# what a layer of ours must never hold: wheels, pip, setuptools, a compiler, the build's trees
FORBIDDEN = [
    re.compile(pattern)
    for pattern in (
        r"\.whl$",
        r"(^|/)(pip|setuptools)(-[^/]*\.dist-info)?/",
        r"(^|/)bin/(pip[0-9.]*|gcc|g\+\+|cc|c\+\+|clang|[a-z0-9_]+-linux-gnu-gcc[-0-9.]*)$",
        r"^(opt/tools|wheels|src|root/\.cache)(/|$)",
        # where the runtime stage mounts the build's pip and wheels
        r"^(mnt|srv)/.",
    )
]
# the project's layer holds the project and what installing it writes beside it
PROJECT_LAYER_LIMIT = 1_000_000


def metadata() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser["metadata"]


def run_in(image: str, *command: str, stdin: str | None = None) -> str:
    """Run `command` in a throwaway container of `image`, with no network."""
    return subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            "--entrypoint",
            command[0],
            image,
            *command[1:],
        ],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


@pytest.fixture(scope="module")
def image(stack: DockerCompose, docker_client: docker.DockerClient) -> dict[str, Any]:
    """The suite's image, built by the stack, as `docker image inspect` gives it."""
    attrs: dict[str, Any] = docker_client.images.get(TEST_IMAGE).attrs
    return attrs


@pytest.fixture(scope="module")
def our_layers(image: dict[str, Any], docker_client: docker.DockerClient) -> list[Layer]:
    """The layers the Dockerfile adds to its base."""
    base = os.environ.get("PYTHON_IMAGE", "python:3.11-slim-bookworm")
    base_ids = docker_client.images.get(base).attrs["RootFS"]["Layers"]
    layers = image_layers(TEST_IMAGE)
    assert [layer.diff_id for layer in layers[: len(base_ids)]] == base_ids, "not built on base"
    ours = layers[len(base_ids) :]
    assert ours
    return ours


@pytest.fixture(scope="module")
def sbom(image: dict[str, Any]) -> dict[str, Any]:
    """The SBOM the image carries, at the path its label names."""
    path = image["Config"]["Labels"][SBOM_LABEL]
    document: dict[str, Any] = json.loads(run_in(TEST_IMAGE, "cat", path))
    return document


def test_no_layer_of_ours_holds_a_wheel_pip_setuptools_or_a_compiler(
    our_layers: list[Layer],
) -> None:
    found = [
        path
        for layer in our_layers
        for path in layer.paths
        if any(pattern.search(path.removeprefix("./")) for pattern in FORBIDDEN)
    ]
    assert not found


def test_the_project_has_a_small_layer_of_its_own_after_the_dependencies(
    our_layers: list[Layer],
) -> None:
    def layer_holding(suffix: str) -> int:
        (index,) = [i for i, layer in enumerate(our_layers) if
                    any(path.endswith(suffix) for path in layer.paths)]  # fmt: skip
        return index

    dependencies = layer_holding("site-packages/flask/__init__.py")
    project = layer_holding("site-packages/service/__init__.py")
    assert dependencies < project
    assert not any("site-packages/flask/" in path for path in our_layers[project].paths)
    assert our_layers[project].size <= PROJECT_LAYER_LIMIT


def test_labels_name_the_package_its_version_licence_source_and_revision(
    image: dict[str, Any],
) -> None:
    labels = image["Config"]["Labels"]
    package = metadata()
    code = "from importlib.metadata import version; print(version('ibdevserver'))"
    installed = run_in(TEST_IMAGE, "python", "-c", code)
    assert labels["org.opencontainers.image.title"] == package["name"]
    assert labels["org.opencontainers.image.version"] == package["version"] == installed.strip()
    assert labels["org.opencontainers.image.description"] == package["description"]
    assert labels["org.opencontainers.image.licenses"] == package["license"] == "MIT"
    # a build argument, empty unless the builder says where the source lives
    assert labels["org.opencontainers.image.source"] == ""
    assert labels["org.opencontainers.image.revision"] == SOURCE_REVISION


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_sbom_lists_exactly_the_installed_distributions(sbom: dict[str, Any]) -> None:
    installed = json.loads(
        run_in(TEST_IMAGE, "python", "-c",
               "import importlib.metadata as m, json; "
               "print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))")
    )  # fmt: skip
    listed = {(normalized(c["name"]), c["version"]) for c in sbom["components"]}
    assert listed == {(normalized(name), version) for name, version in installed}
    assert ("ibdevserver", metadata()["version"]) in listed


def test_sbom_is_in_no_layer_but_its_own(our_layers: list[Layer], image: dict[str, Any]) -> None:
    path = PurePosixPath(image["Config"]["Labels"][SBOM_LABEL]).relative_to("/")
    holding = [layer for layer in our_layers if any(p.removeprefix("./") == str(path)
                                                     for p in layer.paths)]  # fmt: skip
    assert len(holding) == 1


VALIDATE = """
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

text = sys.stdin.read()
version = SchemaVersion.from_version(__import__("json").loads(text)["specVersion"])
error = JsonStrictValidator(version).validate_str(text)
print(error or "valid")
"""


@pytest.fixture(scope="module")
def build_stage(stack: DockerCompose) -> str:
    """The Dockerfile's build stage as an image: its pinned cyclonedx-python-lib carries
    the CycloneDX schemas, so the check needs no network."""
    tag = f"{TEST_IMAGE}-build-stage"
    base = os.environ.get("PYTHON_IMAGE", "python:3.11-slim-bookworm")
    subprocess.run(
        [
            "docker",
            "buildx",
            "build",
            "--quiet",
            "--load",
            "--target",
            "build",
            f"--build-arg=PYTHON_IMAGE={base}",
            "-t",
            tag,
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return tag


def validate(build_stage: str, document: dict[str, Any]) -> str:
    return run_in(build_stage, "/opt/tools/bin/python", "-c", VALIDATE,
                  stdin=json.dumps(document)).strip()  # fmt: skip


def test_sbom_validates_against_the_cyclonedx_schema_offline(
    build_stage: str, sbom: dict[str, Any]
) -> None:
    assert validate(build_stage, sbom) == "valid"
    # the validator can say no: a component of a type the schema does not know
    broken = {**sbom, "components": [{**sbom["components"][0], "type": "no-such-type"}]}
    assert validate(build_stage, broken) != "valid"
