"""The image's SBOM, made as the Dockerfile's build stage makes it (cyclonedx-py, then
image/sbom.py, then image/os_packages.py), from a small venv whose wheels were
installed from local folders, as the build installs them."""

import base64
import configparser
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

import image.os_packages
from image.sbom import rewrite
from tests.paths import ROOT

# the project's dependencies in the small venv: names that purls and bom-refs spell
# differently (an underscore, a dot)
DEPENDENCIES = {"prometheus_client": "0.26.0", "zope.event": "6.2"}
LIBC = "Package: libc6\nVersion: 2.36-9+deb12u13\nArchitecture: amd64\n"


def project() -> tuple[str, str]:
    metadata = configparser.ConfigParser()
    metadata.read(ROOT / "setup.cfg")
    return metadata["metadata"]["name"], metadata["metadata"]["version"]


def wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A wheel of metadata alone, which pip installs as it installs any."""
    stem = f"{name.replace('.', '_')}-{version}"
    requirements = "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{stem}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\n"
        f"Version: {version}\n{requirements}",
        f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={digest(text.encode())},{len(text)}" for path, text in files.items()]
    files[f"{stem}.dist-info/RECORD"] = "\n".join([*record, f"{stem}.dist-info/RECORD,,\n"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build machine's folder: wheels in wheels/deps and wheels/project, installed
    by path into a venv, and a root holding one dpkg status paragraph."""
    folder = tmp_path_factory.mktemp("build")
    name, version = project()
    wheels = [wheel(folder / "wheels/deps", dep, v, []) for dep, v in DEPENDENCIES.items()]
    wheels.append(wheel(folder / "wheels/project", name, version, list(DEPENDENCIES)))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")],
                   check=True)  # fmt: skip
    # this machine's pip settings (find-links, constraints) are not the build's
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(folder / "venv/bin/python"), "install",
         "--quiet", "--no-index", "--no-deps", "--no-cache-dir", *map(str, wheels)],
        check=True, env={**environment, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    status = folder / "rootfs/var/lib/dpkg/status.d"
    status.mkdir(parents=True)
    (status / "libc6").write_text(LIBC)
    (folder / "rootfs/etc").mkdir()
    (folder / "rootfs/etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    return folder


@pytest.fixture(scope="module")
def sbom_text(build: Path) -> str:
    """The SBOM of the build's venv and root, made by the Dockerfile's three steps."""
    path = build / "ibdevserver.cdx.json"
    cyclonedx_py = Path(sys.executable).with_name("cyclonedx-py")
    subprocess.run([str(cyclonedx_py), "environment", "--output-reproducible", "--of", "JSON",
                    "-o", str(path), str(build / "venv/bin/python")], check=True)  # fmt: skip
    rewrite(path, project()[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["os_packages", str(build / "rootfs"), str(path)])
        image.os_packages.main()
    return path.read_text()


@pytest.fixture(scope="module")
def sbom(sbom_text: str) -> dict[str, Any]:
    """The SBOM, parsed."""
    document: dict[str, Any] = json.loads(sbom_text)
    return document


def test_the_sbom_validates_against_the_cyclonedx_schema(sbom_text: str) -> None:
    version = SchemaVersion.from_version(json.loads(sbom_text)["specVersion"])
    assert JsonStrictValidator(version).validate_str(sbom_text) is None


def test_every_component_has_a_purl_of_its_kind(sbom: dict[str, Any]) -> None:
    purls = {component["name"]: component.get("purl") for component in sbom["components"]}
    # the interpreter where no Debian package installed it (python:3.11-slim's)
    purls.pop("cpython", None)
    assert purls == {
        "prometheus_client": "pkg:pypi/prometheus-client@0.26.0",
        "zope.event": "pkg:pypi/zope.event@6.2",
        "libc6": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u13?arch=amd64&distro=debian-12",
    }


def test_no_path_of_the_build_machine_is_left(sbom_text: str, build: Path) -> None:
    for path in ("file:", "/wheels/", str(build)):
        assert path not in sbom_text


def test_each_wheels_hash_stays_as_its_components(sbom: dict[str, Any], build: Path) -> None:
    components = [sbom["metadata"]["component"], *sbom["components"]]
    kept = sorted(h["content"] for component in components for h in component.get("hashes", [])
                  if component["purl"].startswith("pkg:pypi/"))  # fmt: skip
    wheels = build.glob("wheels/*/*.whl")
    assert kept == sorted(hashlib.sha256(wheel.read_bytes()).hexdigest() for wheel in wheels)


def test_the_root_is_the_project_at_its_version_and_needs_its_dependencies(
    sbom: dict[str, Any],
) -> None:
    name, version = project()
    root = sbom["metadata"]["component"]
    assert (root["type"], root["name"], root["version"], root["purl"]) == (
        "application", name, version, f"pkg:pypi/{name}@{version}",
    )  # fmt: skip
    assert name not in {component["name"] for component in sbom["components"]}
    names = {component["bom-ref"]: component["name"] for component in sbom["components"]}
    (needs,) = [d.get("dependsOn", []) for d in sbom["dependencies"] if d["ref"] == root["bom-ref"]]
    assert {names[ref] for ref in needs} == set(DEPENDENCIES)
