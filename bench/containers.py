"""Start and stop the containers the harness measures, with the stack's own hardening."""

import json
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import requests

ROOT = Path(__file__).parents[1]
CONTAINER_PORT = 9999


def docker(*args: str, timeout: float = 600) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=timeout
    ).stdout.strip()


@cache
def hardening_flags() -> tuple[str, ...]:
    """`docker run` flags for what docker-compose.yml sets on the server: one source of truth."""
    compose_file = ROOT / "docker-compose.yml"
    config = json.loads(docker("compose", "-f", str(compose_file), "config", "--format", "json"))
    server = config["services"]["server"]
    limits = server["deploy"]["resources"]["limits"]
    flags = [f"--cap-drop={cap}" for cap in server.get("cap_drop", [])]
    flags += [f"--security-opt={option}" for option in server.get("security_opt", [])]
    flags += [
        f"--cpus={limits['cpus']}",
        f"--memory={limits['memory']}",
        f"--pids-limit={limits['pids']}",
        f"--shm-size={server['shm_size']}",
    ]
    if server.get("read_only"):
        flags.append("--read-only")
    return tuple(flags)


@dataclass
class Container:
    id: str
    url: str

    def stop(self) -> None:
        docker("rm", "--force", self.id)

    def memory(self) -> int:
        """The container's memory as `docker stats` counts it (page cache excluded), in bytes."""
        usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.id)
        return parse_size(usage.split("/")[0].strip())


def parse_size(text: str) -> int:
    units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 10**3, "MB": 10**6}
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * factor)
    raise ValueError(text)


def start(image: str, *args: str, command: list[str] | None = None) -> tuple[Container, float]:
    """Run `image` hardened as in compose, published on an ephemeral loopback port.

    Returns the container and the seconds from `docker run` to its first 200 on `/`.
    """
    flags = hardening_flags()  # read before the clock starts
    started = time.monotonic()
    container_id = docker(
        "run",
        "--detach",
        f"--publish=127.0.0.1::{CONTAINER_PORT}",
        *flags,
        *args,
        image,
        *(command or []),
    )
    host_port = docker("port", container_id, f"{CONTAINER_PORT}/tcp").splitlines()[0]
    container = Container(container_id, f"http://{host_port}/")
    deadline = started + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(container.url, timeout=1).status_code == 200:
                return container, time.monotonic() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.01)
    logs = docker("logs", container_id)
    container.stop()
    raise RuntimeError(f"{image} did not answer 200 within 60 s:\n{logs}")
