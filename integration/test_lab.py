"""The lab: each overlay in examples/lab/ run over the compose stack, and the exact set of
required /posture checks it fails (docs/lab.md explains each)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from integration.helpers import ROOT, TEST_IMAGE, StackFactory, service_url, stack_up
from service.procfs.checks_isolation import HOST_IPC_NAMESPACE, HOST_UTS_NAMESPACE
from service.procfs.posture import ORDERED_RULES
from tests.servers import free_port

LAB = ROOT / "examples" / "lab"
REQUIRED = [rule.id for rule in ORDERED_RULES if rule.required]
# what each misconfiguration fails of the required checks, exactly

FAILED_REQUIRED = {
    "privileged.yml": {
        "not-privileged", "no-host-devices", "no-capabilities-beyond-default",
        "no-capabilities", "seccomp-filter", "no-writable-kernel-interfaces",
    },
    "host-pid.yml": {"own-pid-namespace"},
    "shared-pid.yml": {"own-pid-namespace"},
    "host-ipc.yml": set(),
    "host-uts.yml": set(),
    "tmpfs-exec.yml": set(),
    "host-network.yml": set(),
    "docker-socket.yml": {"no-runtime-socket"},
    "containerd-socket.yml": {"no-runtime-socket"},
    "kubelet-state.yml": {"no-sensitive-host-mounts"},
    "cgroup-host.yml": set(),
    # a stronger sandbox, not a misconfiguration: nothing fails
    "gvisor.yml": set(),
    # the host's own docker.sock comes along beneath /host, within reach
    "host-root-read-only.yml": {"no-sensitive-host-mounts", "no-runtime-socket"},
    "root-sys-admin.yml": {
        "non-root-user", "no-capabilities-beyond-default", "no-capabilities",
        "seccomp-filter", "no-new-privileges",
    },
    "unhardened.yml": {
        "no-capabilities", "no-new-privileges", "read-only-root", "memory-limit", "cpu-limit",
        "pids-limit",
    },
}  # fmt: skip
# the advisory checks each one flips at least (on the host's network, what else listens
# on the host decides the rest)
FAILED_ADVISORY = {
    "privileged.yml": {"cgroup-read-only"},
    "host-pid.yml": set(),
    "shared-pid.yml": set(),
    "host-ipc.yml": {"own-ipc-namespace"},
    "host-uts.yml": {"own-uts-namespace"},
    "tmpfs-exec.yml": {"no-other-writable-mounts"},
    "host-network.yml": {"own-network-namespace"},
    "docker-socket.yml": {"no-other-writable-mounts"},
    "containerd-socket.yml": set(),
    "kubelet-state.yml": set(),
    "cgroup-host.yml": {"own-cgroup-namespace"},
    # gVisor mounts a /tmp of its own, writable and executable, where none is mounted
    "gvisor.yml": {"no-other-writable-mounts"},
    "host-root-read-only.yml": set(),
    "root-sys-admin.yml": set(),
    "unhardened.yml": set(),
}

# the required checks an overlay leaves unknown: what gVisor (Debian's runsc 20221219)
# does not show, the CPU quota and the host's pids limit
UNKNOWN_REQUIRED = {"gvisor.yml": {"cpu-limit", "pids-limit"}}
# where containerd's socket is: a containerd of the host's, or the one dockerd runs itself
CONTAINERD_SOCKETS = (
    "/run/containerd/containerd.sock",
    "/var/run/docker/containerd/containerd.sock",
)
KUBELET_STATE = Path("/var/lib/kubelet")

# the services an overlay adds beside the server: started, and so taken down, with it
# (testcontainers takes down only the services it was given)
PEERS = {"shared-pid.yml": ["peer"]}
# the checks that know the host's namespaces by their fixed inodes: an engine nested in
# a container (scripts/test-debian13) shares that container's for "host", another
# container's, which their titles say they cannot tell (the suite runs beside the engine)
BY_INODE = {
    "host-ipc.yml": ("own-ipc-namespace", "ipc", HOST_IPC_NAMESPACE),
    "host-uts.yml": ("own-uts-namespace", "uts", HOST_UTS_NAMESPACE),
}


def engine_blind_spot(overlay: str) -> set[str]:
    """The advisory check `overlay` flips that cannot see it here: the engine's "host"
    namespace is not the host's."""
    if overlay not in BY_INODE:
        return set()
    check, kind, initial = BY_INODE[overlay]
    return set() if os.readlink(f"/proc/self/ns/{kind}") == initial else {check}


def runsc_registered(client: docker.DockerClient) -> bool:
    return "runsc" in client.info().get("Runtimes", {})


@pytest.fixture
def host_for(monkeypatch: pytest.MonkeyPatch, docker_client: docker.DockerClient) -> Iterator[Any]:
    """Ready the host for an overlay: point it at containerd's socket, skip gVisor's row
    where runsc is not registered (.ci/run registers it: there it runs), and remove the
    empty /var/lib/kubelet the engine makes where the host had none."""
    made: list[Path] = []

    def ready(overlay: str) -> None:
        if overlay == "containerd-socket.yml":
            found = next((path for path in CONTAINERD_SOCKETS if os.path.exists(path)), None)
            if found is None:
                pytest.skip(f"no containerd socket at {' or '.join(CONTAINERD_SOCKETS)}")
            monkeypatch.setenv("IBDEVSERVER_LAB_CONTAINERD_SOCKET", found)
        if overlay == "gvisor.yml" and not runsc_registered(docker_client):
            pytest.skip("runsc is not registered with the engine (docs/lab.md: gVisor)")
        if overlay == "kubelet-state.yml" and not KUBELET_STATE.exists():
            made.append(KUBELET_STATE)

    yield ready
    for path in made:
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def posture(url: str) -> dict[str, dict[str, Any]]:
    document = requests.get(f"{url}/posture", params={"format": "json"}, timeout=10).json()
    return {check["id"]: check for check in document["checks"]}


def test_every_overlay_of_the_lab_is_tested() -> None:
    assert {path.name for path in LAB.glob("*.yml")} == set(FAILED_REQUIRED) == set(FAILED_ADVISORY)


@pytest.mark.parametrize("overlay", sorted(FAILED_REQUIRED))
def test_each_misconfiguration_fails_exactly_its_checks(
    docker_client: docker.DockerClient, new_stack: StackFactory, host_for: Any, overlay: str
) -> None:
    host_for(overlay)
    # on the host's network the server takes a port of the host's: a free one
    port = free_port() if overlay == "host-network.yml" else None
    environment = {"server": {"environment": {"IBDEVSERVER_PORT": str(port)}}} if port else None
    services = ["server", *PEERS.get(overlay, [])]
    stack = new_stack(services=services, files=(LAB / overlay,), overlay=environment)
    with stack_up(stack) as compose:
        url = f"http://127.0.0.1:{port}" if port else service_url(compose, "server")
        checks = posture(url)
    advisory = [check_id for check_id, check in checks.items() if not check["required"]]
    failed = {check_id for check_id, check in checks.items() if check["status"] == "fail"}
    unknown = {check_id for check_id in REQUIRED if checks[check_id]["status"] == "unknown"}
    expected_unknown = UNKNOWN_REQUIRED.get(overlay, set())
    assert (failed & set(REQUIRED), unknown) == (FAILED_REQUIRED[overlay], expected_unknown)
    blind = engine_blind_spot(overlay)
    assert FAILED_ADVISORY[overlay] - blind <= failed & set(advisory)
    # where it cannot see, it says so by passing: the limit its title names
    assert not blind & failed, {check: checks[check]["evidence"] for check in blind}


def test_the_shell_less_runtime_passes_no_shell_and_the_debug_target_fails_it(
    docker_client: docker.DockerClient, new_stack: StackFactory
) -> None:
    debug = {"server": {"build": {"target": "debug"}, "image": f"{TEST_IMAGE}-debug"}}
    with stack_up(new_stack(services=["server"])) as compose:
        runtime = posture(service_url(compose, "server"))["no-shell"]
    with stack_up(new_stack(services=["server"], overlay=debug)) as compose:
        shell = posture(service_url(compose, "server"))["no-shell"]
    assert runtime["status"] == "pass", runtime["evidence"]
    assert shell["status"] == "fail"
    assert "/busybox/sh" in shell["evidence"]


def test_the_stack_run_with_an_init_passes_every_required_check(
    docker_client: docker.DockerClient, new_stack: StackFactory
) -> None:
    with stack_up(new_stack(services=["server"], overlay={"server": {"init": True}})) as compose:
        checks = posture(service_url(compose, "server"))
    assert {key: checks[key]["status"] for key in REQUIRED} == dict.fromkeys(REQUIRED, "pass")
    assert checks["own-pid-namespace"]["evidence"].startswith("/proc/1/status Name docker-init")


def test_a_careless_run_under_gvisor_fails_what_it_fails_under_runc_and_names_gvisor(
    docker_client: docker.DockerClient, new_stack: StackFactory, host_for: Any
) -> None:
    # root, Docker's default capabilities, a writable root, no limits
    host_for("gvisor.yml")
    files = (LAB / "gvisor.yml", LAB / "unhardened.yml")
    stack = new_stack(services=["server"], files=files, overlay={"server": {"user": "0:0"}})
    with stack_up(stack) as compose:
        url = service_url(compose, "server")
        checks = posture(url)
        runtime = requests.get(f"{url}/posture", params={"format": "json"}, timeout=10).json()
    failed = {key for key in REQUIRED if checks[key]["status"] == "fail"}
    unknown = {key for key in REQUIRED if checks[key]["status"] == "unknown"}
    # no_new_privs: this gVisor sets it for every process (it honours no set-user-ID
    # bit), and prctl says so; the limits it does not show
    assert failed == {"non-root-user", "no-capabilities", "read-only-root"}
    assert unknown == {"memory-limit", "cpu-limit", "pids-limit"}
    assert runtime["runtime"]["kernel"] == "gVisor"
    assert "/proc/sentry-meminfo present" in runtime["runtime"]["evidence"]
