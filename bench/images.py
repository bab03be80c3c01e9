"""Build the images the harness measures, and measure the builds and the images."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.containers import ROOT, docker

# what the Dockerfile's build context holds (see .dockerignore)
CONTEXT = ["Dockerfile", ".dockerignore", "pyproject.toml", "setup.cfg",
           "requirements.lock", "requirements-build.lock", "service"]  # fmt: skip
GO_PEER_DOCKERFILE = 'FROM scratch\nCOPY server /server\nEXPOSE 9999\nCMD ["/server"]\n'


def base_image() -> str:
    """The base both stages build on: PYTHON_IMAGE, else the Dockerfile's default."""
    return os.environ.get("PYTHON_IMAGE", "python:3.11-slim-bookworm")


def build(context: Path, tag: str, *args: str) -> float:
    """Build `context` as `tag` with the classic builder; return the seconds it took."""
    started = time.monotonic()
    docker("build", "--quiet", f"--build-arg=PYTHON_IMAGE={base_image()}", "-t", tag, *args,
           str(context))  # fmt: skip
    return time.monotonic() - started


def build_ours(tag: str) -> float:
    return build(ROOT, tag)


def build_go_peer(source: Path, tag: str) -> None:
    """Build the Go original from its source into an image holding only its static binary."""
    with tempfile.TemporaryDirectory() as context:
        subprocess.run(
            ["go", "build", "-o", f"{context}/server", str(source)],
            env={**os.environ, "CGO_ENABLED": "0"},
            check=True,
            capture_output=True,
        )
        Path(context, "Dockerfile").write_text(GO_PEER_DOCKERFILE)
        build(Path(context), tag)


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image))


def build_times(tag: str) -> tuple[float, float]:
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
        cold = build(Path(copy), tag, "--no-cache")
        with Path(copy, "service", "views.py").open("a") as changed:
            changed.write(f"# rebuilt by the benchmark at {time.time()}\n")
        rebuild = build(Path(copy), tag)
    return cold, rebuild
