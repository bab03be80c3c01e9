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
from packageurl import PackageURL
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from testcontainers.compose import DockerCompose

from bench.layers import Layer, image_layers
from integration.helpers import ROOT, SOURCE_REVISION, TEST_IMAGE

SBOM_LABEL = "io.github.ibdevserver.sbom"
# the SBOM's components that are not Python distributions: Debian's, and the
# interpreter where no Debian package installed it
OS_PURLS = ("pkg:deb/", "pkg:generic/cpython@")
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
    """The image's layers: every one is the Dockerfile's, the runtime being FROM scratch."""
    base = os.environ.get("PYTHON_IMAGE", "python:3.13-slim-trixie")
    base_ids = set(docker_client.images.get(base).attrs["RootFS"]["Layers"])
    layers = image_layers(TEST_IMAGE)
    assert layers
    assert not base_ids & {layer.diff_id for layer in layers}, "a layer of the base came along"
    return layers


@pytest.fixture(scope="module")
def sbom(image: dict[str, Any]) -> dict[str, Any]:
    """The SBOM the image carries, at the path its label names."""
    path = image["Config"]["Labels"][SBOM_LABEL]
    # no cat in a shell-less image: its interpreter reads the file
    code = f"import sys; sys.stdout.write(open({path!r}).read())"
    document: dict[str, Any] = json.loads(run_in(TEST_IMAGE, "python", "-c", code))
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


# a shell, busybox, a package manager, the loader's cache tool, su or mount, anywhere
NO_SHELL = re.compile(
    r"(^|/)(sh|bash|dash|ash|zsh|busybox|apt|apt-get|aptitude|dpkg|dpkg-\w+|rpm|apk|ldconfig"
    r"|su|sudo|mount|umount|perl|pip[0-9.]*)$"
)
# pip, setuptools or wheel in any site-packages
NO_INSTALLER = re.compile(r"/site-packages/(pip|setuptools|wheel)([-.][^/]*)?(/|$)")


def test_no_shell_package_manager_or_installer_anywhere_in_the_image(
    our_layers: list[Layer],
) -> None:
    # the dpkg status paragraphs (var/lib/dpkg/status.d) are text for scanners
    paths = [path.removeprefix("./") for layer in our_layers for path in layer.paths
             if not path.removeprefix("./").startswith("var/lib/dpkg")]  # fmt: skip
    assert any(path.endswith("bin/python3") for path in paths)
    assert [path for path in paths if NO_SHELL.search(path) or NO_INSTALLER.search(path)] == []


def test_every_extension_module_and_service_module_loads_in_the_image() -> None:
    script = (ROOT / "integration" / "load_everything.py").read_text()
    result = json.loads(run_in(TEST_IMAGE, "python", "-", stdin=script))
    # the standard library's (the kept ones), the dependencies' and the service's own
    assert {"_ssl", "_hashlib", "_ctypes", "greenlet._greenlet", "service.web.app",
            "service.server.worker"} <= set(result["imported"])  # fmt: skip
    # gevent's cffi back ends need cffi, which gevent does not require and nothing installs
    optional = dict.fromkeys(("gevent.libev._corecffi", "gevent.libuv._corecffi"),
                             "ModuleNotFoundError: No module named '_cffi_backend'")  # fmt: skip
    assert {name: error for name, error in result["failed"].items()
            if optional.get(name) != error} == {}  # fmt: skip


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


def test_sbom_has_one_pypi_purl_for_each_installed_distribution(sbom: dict[str, Any]) -> None:
    installed = json.loads(
        run_in(TEST_IMAGE, "python", "-c",
               "import importlib.metadata as m, json; "
               "print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))")
    )  # fmt: skip
    components = [sbom["metadata"]["component"], *sbom["components"]]
    listed = [c["purl"] for c in components if c["purl"].startswith("pkg:pypi/")]
    assert len(listed) == len(installed)
    assert set(listed) == {PackageURL("pypi", name=name, version=version).to_string()
                           for name, version in installed}  # fmt: skip


def test_every_sbom_component_has_a_purl_of_a_kind_a_scanner_matches(sbom: dict[str, Any]) -> None:
    assert [c["name"] for c in sbom["components"] if not c.get("purl", "").startswith(
        ("pkg:pypi/", *OS_PURLS))] == []  # fmt: skip


def test_sbom_root_is_the_package_at_its_version_needing_what_it_requires(
    sbom: dict[str, Any],
) -> None:
    package = metadata()
    root = sbom["metadata"]["component"]
    assert (root["type"], root["name"], root["version"], root["purl"]) == (
        "application", package["name"], package["version"],
        f"pkg:pypi/{package['name']}@{package['version']}",
    )  # fmt: skip
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    requires = {canonicalize_name(Requirement(line).name)
                for line in parser["options"]["install_requires"].splitlines() if line}  # fmt: skip
    names = {c["bom-ref"]: canonicalize_name(c["name"]) for c in sbom["components"]}
    (needs,) = [d.get("dependsOn", []) for d in sbom["dependencies"] if d["ref"] == root["bom-ref"]]
    assert {names[ref] for ref in needs} == requires


def test_sbom_holds_no_path_of_the_build_machine(sbom: dict[str, Any]) -> None:
    text = json.dumps(sbom)
    assert [path for path in ("file:", "/wheels/", '"/src', "/opt/tools") if path in text] == []


STATUS_PARAGRAPHS = """
import pathlib, re
for path in sorted(pathlib.Path("/var/lib/dpkg/status.d").iterdir()):
    text = path.read_text()
    print(*(re.search(f"^{key}: (.*)$", text, re.M)[1] for key in ("Package", "Version")))
"""


def test_sbom_names_the_os_packages_the_image_holds(sbom: dict[str, Any]) -> None:
    # one dpkg status paragraph a package, as distroless keeps them, for scanners
    recorded = {tuple(line.split(" ", 1)) for line in
                run_in(TEST_IMAGE, "python", "-c", STATUS_PARAGRAPHS).splitlines()}  # fmt: skip
    debs = {(c["name"], c["version"]) for c in sbom["components"]
            if c.get("purl", "").startswith("pkg:deb/debian/")}  # fmt: skip
    assert debs == recorded
    # the C library and OpenSSL, which the interpreter and its ssl module load (Debian 13
    # names OpenSSL's package libssl3t64, for its 64-bit time_t)
    names = {name for name, _ in debs}
    assert "libc6" in names
    assert names & {"libssl3", "libssl3t64"}


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
    base = os.environ.get("PYTHON_IMAGE", "python:3.13-slim-trixie")
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
