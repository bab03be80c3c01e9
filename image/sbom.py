"""Give the environment's SBOM a pypi purl on every distribution and the project as its root."""

import json
import sys
from pathlib import Path

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import ComponentType
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from packaging.utils import canonicalize_name


def make_scannable(bom: Bom, project: str) -> None:
    """Give every component a pypi purl and no local file; make `project` the root."""
    # taken out while they change: the set is sorted by what changes
    components = list(bom.components)
    bom.components.clear()
    # cyclonedx-py gives a distribution installed from a local wheel no purl, only a
    # reference to the file (file:///wheels/deps/...): the purl here is the one it gives
    # a distribution from an index, and the wheel's hash stays as the component's
    for component in components:
        for reference in list(component.external_references):
            if str(reference.url).startswith("file:"):
                component.hashes.update(reference.hashes)
                component.external_references.remove(reference)
        if component.purl is None:
            component.purl = PackageURL("pypi", name=component.name, version=component.version)
    (root,) = [c for c in components if canonicalize_name(c.name) == canonicalize_name(project)]
    root.type = ComponentType.APPLICATION
    bom.metadata.component = root
    bom.components.update(c for c in components if c is not root)


def rewrite(path: Path, project: str) -> None:
    """Make the SBOM at `path` scannable, in the same spec version, and check it."""
    document = json.loads(path.read_text())
    version = SchemaVersion.from_version(document["specVersion"])
    bom = Bom.from_json(document)  # type: ignore[attr-defined]
    make_scannable(bom, project)
    # reproducible as cyclonedx-py wrote it: no serial number, no timestamp unless given
    if "serialNumber" not in document:
        bom.serial_number = None
    if "timestamp" not in document["metadata"]:
        bom.metadata.timestamp = None
    text = make_outputter(bom, OutputFormat.JSON, version).output_as_string(indent=2)
    error = JsonStrictValidator(version).validate_str(text)
    if error is not None:
        raise SystemExit(f"{path}: not valid CycloneDX {version.to_version()}: {error}")
    path.write_text(text + "\n")


def main() -> None:
    """/opt/tools/bin/python -m image.sbom SBOM PROJECT, after `cyclonedx-py environment`."""
    rewrite(Path(sys.argv[1]), sys.argv[2])


if __name__ == "__main__":
    main()
