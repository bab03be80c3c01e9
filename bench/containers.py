"""Run the benchmark's targets as compose runs the server: the stack's own file, with
the bench's overlays (bench/compose.bench.yml, and bench/compose.alone.yml for the
host's network namespace). What is measured is what users run."""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from service.settings import DEFAULT_PORT

ROOT = Path(__file__).parents[1]
BENCH = Path(__file__).parent
# the Python targets, which take IBDEVSERVER_PORT; the Go original listens on 9999
PYTHON_SERVICES = ("server", "minimal-flask", "bare-wsgi", "no-fairness-yield", "no-access-log",
                   "no-metrics", "other-base")  # fmt: skip
GO_SERVICE = "go-original"
# IBDEVSERVER_BENCH_IMAGE names the images, so that two checkouts can benchmark on one engine
OURS = os.environ.get("IBDEVSERVER_BENCH_IMAGE", "ibdevserver-bench")
GO, OTHER_BASE = f"{OURS}-go", f"{OURS}-other-base"
# the container's memory is read this long after its start, as issue 36 measures it
IDLE_SECONDS = 10
SETUPS = {
    "server alone": ["docker-compose.yml", "bench/compose.bench.yml", "bench/compose.alone.yml"],
    "as users run it": ["docker-compose.yml", "bench/compose.bench.yml"],
}


def docker(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=timeout, env=env
    ).stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse_size(text: str) -> int:
    units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 10**3, "MB": 10**6}
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * factor)
    raise ValueError(text)


def answers_200(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    # a peer still starting on a busy machine may accept and not yet answer: not yet
    # ready; wait_for_200's deadline still fails one that never answers
    except (requests.ConnectionError, requests.Timeout):
        return False


def wait_for_200(url: str, within: float = 60) -> float:
    """Poll `url` until it answers 200; return the seconds that took."""
    started = time.monotonic()
    while not answers_200(url):
        if time.monotonic() - started > within:
            raise RuntimeError(f"{url} did not answer 200 within {within} s")
        time.sleep(0.01)
    return time.monotonic() - started


@dataclass
class Stack:
    """One compose project of bench targets in one setup."""

    setup: str
    project: str = field(default_factory=lambda: f"ibdevserver-bench-{os.getpid()}")
    ports: dict[str, int] = field(default_factory=dict)
    # more variables for compose, such as PYTHON_IMAGE for a build
    extra: dict[str, str] = field(default_factory=dict)
    # when `up` started the targets (time.monotonic())
    started: float = 0.0

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self.extra, "BENCH_DIR": str(BENCH), "BENCH_IMAGE": OURS,
               "BENCH_GO_IMAGE": GO, "BENCH_OTHER_BASE_IMAGE": OTHER_BASE}  # fmt: skip
        for service in PYTHON_SERVICES:
            port = self.ports.setdefault(service, free_port())
            env[f"BENCH_PORT_{service.upper().replace('-', '_')}"] = str(port)
        return env

    def compose(self, *args: str, timeout: float = 600) -> str:
        files = [part for name in SETUPS[self.setup] for part in ("-f", str(ROOT / name))]
        return docker("compose", "--project-directory", str(ROOT), "-p", self.project, *files,
                      *args, timeout=timeout, env=self.environment())  # fmt: skip

    def url(self, service: str) -> str:
        if self.setup == "server alone":
            port = DEFAULT_PORT if service == GO_SERVICE else self.ports[service]
            return f"http://127.0.0.1:{port}/"
        host_port = self.compose("port", service, str(DEFAULT_PORT)).splitlines()[0]
        return f"http://{host_port}/"

    def container(self, service: str) -> str:
        # stopped ones too: a target the kernel killed is still there to inspect
        return self.compose("ps", "--all", "-q", service)

    def memory(self, service: str) -> int:
        """The container's memory as `docker stats` counts it (page cache excluded), in bytes."""
        usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.container(service))
        return parse_size(usage.split("/")[0].strip())

    def idle_memory(self, service: str) -> int:
        """The container's memory once it has idled IDLE_SECONDS since its start."""
        time.sleep(max(0.0, self.started + IDLE_SECONDS - time.monotonic()))
        return self.memory(service)

    def cold_start(self, service: str) -> float:
        """Seconds from `docker start` of the stopped container to its first 200."""
        container = self.container(service)
        docker("stop", container)
        started = time.monotonic()
        docker("start", container)
        wait_for_200(self.url(service))
        return time.monotonic() - started


@contextmanager
def running(setup: str, services: list[str]) -> Iterator[Stack]:
    """Bring `services` up in `setup` (images already built), and take them down after."""
    stack = Stack(setup)
    try:
        stack.started = time.monotonic()
        stack.compose("up", "--detach", "--no-build", *services)
        for service in services:
            wait_for_200(stack.url(service))
        yield stack
    finally:
        stack.compose("down", "--timeout", "20")
