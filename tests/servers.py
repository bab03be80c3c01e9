"""A real gunicorn with the shipped config, for the fast tests (no Docker)."""

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

import requests

from service.settings import Settings

# the TCP states of a connection its server still holds open: established, and closed by
# the client only (CLOSE_WAIT), as /proc/net/tcp writes them (include/net/tcp_states.h)
HELD_STATES = ("01", "08")


def free_port() -> int:
    """A port free on 127.0.0.1, below the kernel's range of source ports: one from that
    range may become a client's source port (another pytest worker's flood) between this
    probe and the server's bind."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(low // 2, low), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port between {low // 2} and {low}")


class Deadlines(NamedTuple):
    """A worker's deadlines, in seconds: for a head, a kept-alive idle, a body's rest."""

    header: float
    keepalive: float
    body: float


# short, so that a test of a deadline takes seconds (tests/server/conftest.py's worker)
SHORT = Deadlines(header=1.0, keepalive=2.0, body=1.5)


class Served(NamedTuple):
    """A gunicorn serving a status file: its URL, the file and its log."""

    url: str
    status_file: Path
    log: Path


def connections_held(port: int) -> int:
    """How many connections to `port` on this host its server still holds open."""
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, state = line.split()[1:4]
        held += int(local.rpartition(":")[2], 16) == port and state in HELD_STATES
    return held


def wait_until_closed(port: int, patience: float = 5.0) -> None:
    """Wait until the server on `port` has closed every connection made to it."""
    deadline = time.monotonic() + patience
    while connections_held(port):
        assert time.monotonic() < deadline, "the server still holds an earlier test's connections"
        time.sleep(0.01)


def catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler of its own for signal `signum`."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    raise AssertionError(f"no SigCgt in /proc/{pid}/status")


def workers_booted(master: int, workers: int) -> bool:
    """Whether gunicorn's `master` has `workers` workers, each with its own signal handlers.

    Until a worker sets them (gunicorn's init_signals, the first to catch SIGABRT), a
    signal to it waits, held since the fork (tests/server/test_worker_signals.py): a test
    that stops gunicorn then waits for the worker's boot.
    """
    try:
        forked = children(master)
        return len(forked) == workers and all(catches(pid, signal.SIGABRT) for pid in forked)
    except FileNotFoundError:
        return False  # a worker exited while we looked


def children(pid: int) -> list[int]:
    """The processes `pid` has forked that still run: a gunicorn master's workers."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gunicorn_environment(port: int, status_file: Path, **environment: str) -> dict[str, str]:
    """What gunicorn runs with in a test: on `port` on loopback, serving `status_file`,
    with a metrics directory of its own, and `environment` over it."""
    env = {
        **os.environ,
        "IBDEVSERVER_HOST": "127.0.0.1",
        "IBDEVSERVER_PORT": str(port),
        "IBDEVSERVER_STATUS_PATH": str(status_file),
        **environment,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@contextmanager
def gunicorn_process(
    status_file: Path, stdout: int | IO[Any], **environment: str
) -> Iterator[tuple[str, "subprocess.Popen[bytes]"]]:
    """Run gunicorn on a free loopback port, its output to `stdout`; yield its URL and process.

    `environment` adds variables, such as IBDEVSERVER_HEADER_TIMEOUT="1".
    """
    port = free_port()
    env = gunicorn_environment(port, status_file, **environment)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf"],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=5)
                break
            except requests.RequestException:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start serving") from None
                time.sleep(0.02)
        workers = Settings.from_environ(env).workers
        while not workers_booted(server.pid, workers):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn's workers did not boot")
            time.sleep(0.02)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def gunicorn_serving(status_file: Path, log_file: Path) -> Iterator[str]:
    """Run gunicorn with the shipped config on a free loopback port, logging to `log_file`."""
    with log_file.open("wb") as log, gunicorn_process(status_file, log) as (url, _):
        yield url


@contextmanager
def one_worker(
    folder: Path, **environment: str
) -> Iterator[tuple[tuple[str, int], "subprocess.Popen[bytes]"]]:
    """One gunicorn worker, logging into `folder`; yield its address and the master."""
    status = folder / "status"
    status.write_text("Name:\tgunicorn\n")
    with (
        (folder / "gunicorn.log").open("wb") as log,
        gunicorn_process(status, log, IBDEVSERVER_WORKERS="1", **environment) as (url, server),
    ):
        yield ("127.0.0.1", int(url.rsplit(":", 1)[1])), server
