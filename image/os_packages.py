"""Add the runtime root's operating-system packages to the environment's SBOM.

    python3 -m image.os_packages ROOT SBOM

`cyclonedx-py environment` lists the Python distributions; this adds a component for
each Debian package whose files the root holds (the status paragraphs that
image/assemble_root.py wrote under /var/lib/dpkg/status.d/), with a `pkg:deb` purl,
and the interpreter itself as `pkg:generic/cpython` where no Debian package installed
it (python:3.11-slim builds its own under /usr/local).
"""

import json
import platform
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from image.assemble_root import DPKG, dpkg_owners

FIELD = re.compile(r"^([A-Za-z-]+): (.*)$", re.M)


def os_release(root: Path) -> str:
    """`debian-12`, say: the distro qualifier of a deb purl."""
    text = (root / "etc/os-release").read_text() if (root / "etc/os-release").exists() else ""
    fields = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', text, re.M))
    return f"{fields.get('ID', 'debian')}-{fields.get('VERSION_ID', 'unknown')}"


def deb_components(root: Path, distro: str) -> list[dict[str, Any]]:
    components = []
    for paragraph in sorted((root / "var/lib/dpkg/status.d").glob("*")):
        fields = dict(FIELD.findall(paragraph.read_text()))
        name, version, arch = fields["Package"], fields["Version"], fields["Architecture"]
        purl = f"pkg:deb/debian/{name}@{quote(version)}?arch={arch}&distro={distro}"
        components.append({"type": "library", "bom-ref": purl, "name": name,
                           "version": version, "purl": purl})  # fmt: skip
    return components


def interpreter_component() -> list[dict[str, Any]]:
    executable = str(Path(sys.executable).resolve())
    owned = dpkg_owners() if (DPKG / "info").exists() else {}
    if executable in owned or executable.removeprefix("/usr") in owned:
        return []
    version = platform.python_version()
    purl = f"pkg:generic/cpython@{version}"
    return [{"type": "application", "bom-ref": purl, "name": "cpython", "version": version,
             "purl": purl}]  # fmt: skip


def main() -> None:
    root, sbom = Path(sys.argv[1]), Path(sys.argv[2])
    document = json.loads(sbom.read_text())
    document["components"] = (document.get("components", []) + interpreter_component()
                              + deb_components(root, os_release(root)))  # fmt: skip
    sbom.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
