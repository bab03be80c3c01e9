"""The one reader of docker-compose.yml's server limits, for both test suites."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
# Kubernetes quantities and compose's byte values (compose takes k, m, g and their capitals)
BYTES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 2**10, "m": 2**20, "g": 2**30,
         "K": 2**10, "M": 2**20, "G": 2**30}  # fmt: skip


def quantity_bytes(quantity: str | int) -> int:
    """Bytes of `256M`, `16m`, `256Mi` or a plain number."""
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", str(quantity))
    if match is None or (match[2] not in BYTES and match[2]):
        raise ValueError(f"not a byte quantity: {quantity!r}")
    return int(match[1]) * BYTES.get(match[2], 1)


def compose_server() -> dict[str, Any]:
    """The `server` service as docker-compose.yml writes it."""
    server: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][
        "server"
    ]
    return server


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpus: float
    pids: int
    shm_bytes: int


def compose_limits() -> Limits:
    """The server's resource limits in docker-compose.yml, in bytes, CPUs and processes."""
    server = compose_server()
    limits = server["deploy"]["resources"]["limits"]
    return Limits(
        memory_bytes=quantity_bytes(limits["memory"]),
        cpus=float(limits["cpus"]),
        pids=int(limits["pids"]),
        shm_bytes=quantity_bytes(server["shm_size"]),
    )
