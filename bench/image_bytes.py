"""What takes an image's bytes: its files, read from `docker export`, by what they are.

    python -m bench --image-bytes [--compare-revision REV]

Ours, the Go original, and (with --compare-revision) the Dockerfile of an earlier
revision, each sorted into the interpreter, the standard library, the shared
libraries, each Python distribution (by its RECORD) and the rest; written into
docs/image.md between its markers, with the goal: the runtime at most 50 MiB.
"""

import csv
import io
import re
import subprocess
import tarfile
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

from bench.containers import docker

# at most 50 MiB, as `docker image inspect` gives Size (issue 24)
SIZE_GOAL = 50 * 1024 * 1024
START, END = "<!-- bench:image-bytes -->", "<!-- /bench:image-bytes -->"
INTERPRETER = re.compile(r"(^|/)bin/python3\.\d+$|(^|/)libpython3\.\d+\.so")
STDLIB = re.compile(r"(^|/)lib/python3\.\d+/(?!(site|dist)-packages/)")
SHARED_LIBRARY = re.compile(r"\.so(\.\d+)*$")
SITE = re.compile(r"^(.*/(site|dist)-packages)/")
RECORD = re.compile(r"/([^/]+)-[^/-]+\.dist-info/RECORD$")
# a module's .pyc, which image/compile_stdlib.py writes where no RECORD lists it
COMPILED = re.compile(r"^(.*/)__pycache__/([^/.]+)\.[^/]+\.pyc$")
REST = "everything else (a Debian base's shell, apt, dpkg, coreutils, data; Go's program)"


def exported_files(image: str) -> dict[str, int]:
    """Every regular file of `image`'s filesystem and its bytes."""
    container = docker("create", image).strip()
    try:
        with tempfile.TemporaryFile() as exported:
            subprocess.run(["docker", "export", container], stdout=exported, check=True)
            exported.seek(0)
            with tarfile.open(fileobj=exported) as archive:
                files = {member.name: member.size for member in archive if member.isfile()}
                records = {member.name: archive.extractfile(member) for member in archive
                           if RECORD.search(member.name)}  # fmt: skip
                owners = distribution_owners({
                    name: handle.read().decode() for name, handle in records.items() if handle
                })  # fmt: skip
    finally:
        docker("rm", container)
    return {f"{owner_of(owners, name)}\0{name}": size for name, size in files.items()}


def owner_of(owners: dict[str, str], path: str) -> str:
    """The distribution `path` belongs to: its RECORD's, or for a .pyc its source's."""
    compiled = COMPILED.match(path)
    source = f"{compiled[1]}{compiled[2]}.py" if compiled else path
    return owners.get(path) or owners.get(source, "")


def distribution_owners(records: dict[str, str]) -> dict[str, str]:
    """Each file a RECORD lists, and its distribution's name."""
    owners = {}
    for path, text in records.items():
        name = RECORD.search(path)[1]  # type: ignore[index]
        site = path.rsplit("/", 2)[0]
        for row in csv.reader(io.StringIO(text)):
            if row:
                owners[os_path(f"{site}/{row[0]}")] = name.replace("_", "-").lower()
    return owners


def os_path(path: str) -> str:
    """`a/b/../c` as `a/c`: RECORD lists console scripts as `../../../bin/...`."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def category(owner: str, path: str) -> str:
    if owner:
        return "the project" if owner == "ibdevserver" else f"{owner} (dependency)"
    if INTERPRETER.search(path):
        return "the interpreter"
    if STDLIB.search(path):
        return "the standard library"
    if SITE.search(path):
        return "other site-packages (the base's pip, setuptools)"
    if SHARED_LIBRARY.search(path):
        return "shared libraries"
    return REST


def breakdown(image: str) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for key, size in exported_files(image).items():
        owner, _, path = key.partition("\0")
        sizes[category(owner, path)] += size
    return sizes


def table(images: dict[str, str]) -> list[str]:
    """The rows for each image (by column name): its categories, its files, its Size."""
    figures = {column: breakdown(image) for column, image in images.items()}
    sizes = {column: int(docker("image", "inspect", "--format", "{{.Size}}", image))
             for column, image in images.items()}  # fmt: skip
    order = ["the interpreter", "the standard library", "shared libraries"]
    dependencies = sorted({name for counts in figures.values() for name in counts
                           if name.endswith("(dependency)")})  # fmt: skip
    rows = [*order, *dependencies, "the project",
            "other site-packages (the base's pip, setuptools)", REST]  # fmt: skip
    lines = ["| bytes of | " + " | ".join(images) + " |", "| --- |" + " ---: |" * len(images)]
    for row in rows:
        if any(counts[row] for counts in figures.values()):
            values = [f"{figures[column][row] / 1e6:.2f} MB" if figures[column][row] else ""
                      for column in images]  # fmt: skip
            lines.append(f"| {row} | " + " | ".join(values) + " |")
    lines.append("| all files | " + " | ".join(
        f"{sum(counts.values()) / 1e6:.2f} MB" for counts in figures.values()) + " |")  # fmt: skip
    lines.append("| `docker image inspect` Size | " + " | ".join(
        f"{size:,} B" for size in sizes.values()) + " |")  # fmt: skip
    ours = sizes[next(iter(images))]
    met = "met" if ours <= SIZE_GOAL else "NOT met"
    return [
        f"Measured on {date.today().isoformat()} by `python -m bench --image-bytes`, from each "
        "image's files (`docker export`); a Python distribution's files by its `RECORD`.",
        "",
        *lines,
        "",
        f"Goal: the runtime at most 50 MiB ({SIZE_GOAL:,} B): {ours:,} B, {met}.",
    ]


def merge(lines: list[str], page: Path) -> Path:
    """Write `lines` into `page` between its markers."""
    text = page.read_text()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    page.write_text(before + START + "\n" + "\n".join(lines) + "\n" + END + after)
    return page
