"""Build the images the harness measures, and measure the builds and the images."""

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.containers import OURS, ROOT, Stack, docker
from bench.layers import changed_bytes, image_layers

# what the Dockerfile's build context holds (see .dockerignore)
CONTEXT = ["Dockerfile", ".dockerignore", "pyproject.toml", "setup.cfg",
           "requirements.lock", "requirements-build.lock", "service", "image"]  # fmt: skip
# the one file a code change touches; every layout of service/ has it
CHANGED_FILE = "service/__init__.py"
TIMED = f"{OURS}-timed"


@dataclass
class BuildFigures:
    """One Dockerfile's build, measured: its image, a cold build, a rebuild after a change."""

    image_bytes: int
    cold: float
    rebuild: float
    # the layers a change to one file in service/ adds, which a pull ships again
    changed_bytes: int
    changed_layers: int


def base_image() -> str:
    """The base both stages build on: PYTHON_IMAGE, else the compose file's default."""
    return os.environ.get("PYTHON_IMAGE", "python:3.13-slim-trixie")


def build_with_compose(service: str, **variables: str) -> None:
    """Build a target's image as `docker compose build` does."""
    try:
        Stack("as users run it", extra=variables).compose("build", "--quiet", service)
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"python -m bench: cannot build {service}:\n{error.stderr}") from error


def build_ours() -> None:
    build_with_compose("server", PYTHON_IMAGE=base_image())


def build_other_base(python_image: str) -> None:
    build_with_compose("other-base", PYTHON_IMAGE=python_image)


def build_go() -> None:
    """Build the Go original (bench/go_original) on GO_IMAGE, or its Dockerfile's default."""
    variables = {"GO_IMAGE": os.environ["GO_IMAGE"]} if "GO_IMAGE" in os.environ else {}
    build_with_compose("go-original", **variables)


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image))


def timed_build(context: Path, *args: str) -> float:
    started = time.monotonic()
    docker("buildx", "build", "--quiet", "--load", f"--build-arg=PYTHON_IMAGE={base_image()}",
           "-t", TIMED, *args, str(context))  # fmt: skip
    return time.monotonic() - started


def copy_tree(context: Path) -> None:
    for name in CONTEXT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, context / name)


def copy_revision(context: Path, revision: str) -> None:
    """The build context as it was at `revision` in this repository's history."""
    # an older revision may lack some of today's context (image/ came later)
    present = [name for name in CONTEXT if subprocess.run(
        ["git", "cat-file", "-e", f"{revision}:{name}"], cwd=ROOT, capture_output=True,
        check=False).returncode == 0]  # fmt: skip
    archive = subprocess.run(["git", "archive", revision, *present], cwd=ROOT, check=True,
                             capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(context)], input=archive, check=True)


def build_revision(revision: str, tag: str) -> None:
    """Build the Dockerfile of `revision` (its default target) as `tag`."""
    with tempfile.TemporaryDirectory() as copy:
        copy_revision(Path(copy), revision)
        docker("buildx", "build", "--quiet", "--load", f"--build-arg=PYTHON_IMAGE={base_image()}",
               "-t", tag, copy)  # fmt: skip


def build_figures(revision: str | None = None) -> BuildFigures:
    """Build the working tree's Dockerfile (or `revision`'s) cold, then after one file in
    service/ changed; measure both builds and the layers the change added."""
    with tempfile.TemporaryDirectory() as copy:
        context = Path(copy)
        if revision is None:
            copy_tree(context)
        else:
            copy_revision(context, revision)
        # no layer cache; BuildKit keeps its cache mounts (the pip downloads) even so
        cold = timed_build(context, "--no-cache")
        before = image_layers(TIMED)
        size = image_size(TIMED)
        with (context / CHANGED_FILE).open("a") as changed:
            changed.write(f"# rebuilt by the benchmark at {time.time()}\n")
        rebuild = timed_build(context)
        after = image_layers(TIMED)
    known = {layer.diff_id for layer in before}
    return BuildFigures(size, cold, rebuild, changed_bytes(before, after),
                        sum(layer.diff_id not in known for layer in after))  # fmt: skip
