"""Build the images the harness measures, and measure the builds and the images."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.containers import GO, OURS, ROOT, Stack, docker

# what the Dockerfile's build context holds (see .dockerignore)
CONTEXT = ["Dockerfile", ".dockerignore", "pyproject.toml", "setup.cfg",
           "requirements.lock", "requirements-build.lock", "service"]  # fmt: skip
# the Go original's static binary, run as the same numeric user as ours
GO_DOCKERFILE = (
    'FROM scratch\nCOPY server /server\nUSER 10001:10001\nEXPOSE 9999\nCMD ["/server"]\n'
)


def base_image() -> str:
    """The base both stages build on: PYTHON_IMAGE, else the compose file's default."""
    return os.environ.get("PYTHON_IMAGE", "python:3.11-slim-bookworm")


def build_with_compose(service: str, python_image: str) -> None:
    """Build a target's image as `docker compose build` does, on `python_image`."""
    Stack("as users run it", extra={"PYTHON_IMAGE": python_image}).compose(
        "build", "--quiet", service
    )


def build_ours() -> None:
    build_with_compose("server", base_image())


def build_other_base(python_image: str) -> None:
    build_with_compose("other-base", python_image)


def build_go(source: Path) -> None:
    """Build the Go original from its source into an image holding only its static binary."""
    with tempfile.TemporaryDirectory() as context:
        subprocess.run(
            ["go", "build", "-o", f"{context}/server", str(source)],
            env={**os.environ, "CGO_ENABLED": "0"},
            check=True,
            capture_output=True,
        )
        Path(context, "Dockerfile").write_text(GO_DOCKERFILE)
        docker("build", "--quiet", "-t", GO, context)


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image))


def timed_build(context: Path, *args: str) -> float:
    started = time.monotonic()
    docker("build", "--quiet", f"--build-arg=PYTHON_IMAGE={base_image()}", "-t", OURS, *args,
           str(context))  # fmt: skip
    return time.monotonic() - started


def build_times() -> tuple[float, float]:
    """Seconds for a build with no cache, then for a rebuild after one file in service/ changed."""
    with tempfile.TemporaryDirectory() as copy:
        for name in CONTEXT:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source, Path(copy, name), ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(source, Path(copy, name))
        cold = timed_build(Path(copy), "--no-cache")
        with Path(copy, "service", "views.py").open("a") as changed:
            changed.write(f"# rebuilt by the benchmark at {time.time()}\n")
        rebuild = timed_build(Path(copy))
    return cold, rebuild
