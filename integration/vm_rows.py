"""A row of the lab run in the VM (integration/vm.py): the stack brought up there by
Debian 13's docker compose from this checkout's files (/repo), /posture read from inside
the VM, the stack killed after."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integration.helpers import COMPOSE_FILES, CONTAINER_PORT, ROOT, SOURCE_REVISION, TEST_IMAGE
from integration.vm import Guest, GuestCommandFailed

Checks = dict[str, dict[str, Any]]
# Under TCG a Python process takes ten seconds or more to start, and the healthcheck is
# one each time, every second beside the server's own start: it is left out, and
# readiness is what it would ask, /readyz, polled with curl. One worker, not two, for the
# same reason. What the checks read is the same. (gunicorn's 30 s worker timeout stays:
# a /posture that outlasts it is a finding.)
EMULATED: dict[str, Any] = {"healthcheck": {"disable": True}}
SERVER_EMULATED: dict[str, Any] = {**EMULATED, "environment": {"IBDEVSERVER_WORKERS": "1"}}
READY_WITHIN = 240
# the limits the host holds a container to: its scope's files (systemd's cgroup driver)
SCOPE_LIMITS = ("memory.max", "cpu.max", "pids.max")
SCOPE = "/sys/fs/cgroup/system.slice/docker-$(docker inspect --format {{.Id}} $0).scope"


@dataclass(frozen=True)
class Row:
    """What /posture said from inside, and what the host holds the server to."""

    checks: Checks
    limits: dict[str, str]


def in_guest(path: Path) -> str:
    """Where a file of this checkout is in the guest (the 9p share at /repo)."""
    return f"/repo/{path.relative_to(ROOT)}"


def posture(
    guest: Guest,
    files: Sequence[Path] = (),
    services: Sequence[str] = ("server",),
    server: dict[str, Any] | None = None,
    environment: dict[str, str] | None = None,
    host_network: bool = False,
) -> Row:
    """/posture of the stack with `files` (lab overlays) and the `server` settings merged
    over the compose files, run in the guest with `services` and `environment`; killed
    after. On the host's network the server answers on the VM's own port."""
    project = f"ibdevserver-vm-{uuid.uuid4().hex[:12]}"
    overlay = {service: EMULATED for service in services}
    overlay["server"] = {**SERVER_EMULATED, **(server or {})}
    overlay_file = f"/tmp/{project}.yml"
    guest.run("tee", overlay_file, input=json.dumps({"services": overlay}))
    variables = {"COMPOSE_PROJECT_NAME": project, "IBDEVSERVER_IMAGE": TEST_IMAGE,
                 "SOURCE_REVISION": SOURCE_REVISION, **(environment or {})}  # fmt: skip
    names = [in_guest(ROOT / name) for name in COMPOSE_FILES] + [in_guest(f) for f in files]
    compose = [
        "env", *(f"{name}={value}" for name, value in variables.items()),
        "docker", "compose", *(f"--file={name}" for name in [*names, overlay_file]),
    ]  # fmt: skip
    try:
        guest.run(*compose, "up", "--detach", "--no-build", "--pull=never", *services, timeout=300)
        if host_network:
            address = f"127.0.0.1:{CONTAINER_PORT}"  # nothing else in the VM takes it
        else:
            # "127.0.0.1:<port>": the test overlay publishes on loopback only
            published = guest.run("docker", "port", f"{project}-server-1", str(CONTAINER_PORT))
            address = published.strip()
        ready = f"until curl -fs http://{address}/readyz >/dev/null; do sleep 0.5; done"
        guest.run("timeout", str(READY_WITHIN), "sh", "-c", ready, timeout=READY_WITHIN + 30)
        text = guest.run("curl", "--fail", "--silent", "--show-error", "--max-time", "60",
                         f"http://{address}/posture?format=json")  # fmt: skip
        read = f"cd {SCOPE} && cat {' '.join(SCOPE_LIMITS)}"
        limits = guest.run("sh", "-c", read, f"{project}-server-1").splitlines()
    except GuestCommandFailed as error:
        logs = guest.run(*compose, "logs", "--no-color", "--tail=40")
        raise AssertionError(f"{error}\nthe stack's logs:\n{logs}") from error
    finally:
        # the row is read: its processes are killed, and its containers and network are
        # left, since removing them takes a row's time again under TCG, and the guest's
        # disk is a snapshot that power-off drops
        guest.run(*compose, "kill", timeout=300)
    checks = {check["id"]: check for check in json.loads(text)["checks"]}
    return Row(checks, dict(zip(SCOPE_LIMITS, limits, strict=True)))
