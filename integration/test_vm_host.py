"""The lab on a second host, as most users have one: Debian 13 with systemd, cgroup v2,
AppArmor and Debian's Docker, in a VM under QEMU (integration/vm.py, docs/vm-host.md).
Every overlay of examples/lab/ gives there the verdicts integration/test_lab.py expects,
but for what such a host changes (below); the rows after them are those only such a
host can show. All run in one boot, a few at once."""

import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import docker
import pytest

from integration.test_lab import (
    CONTAINERD_SOCKETS,
    FAILED_ADVISORY,
    FAILED_REQUIRED,
    LAB,
    PEERS,
    REQUIRED,
    UNKNOWN_REQUIRED,
)
from integration.vm import Guest, GuestCommandFailed, accelerator, lab_guest
from integration.vm_rows import Checks, Row, posture

pytestmark = pytest.mark.slow

# the rows beyond the lab's overlays: the stack as shipped, and with AppArmor turned off
SERVER_SETTINGS: dict[str, dict[str, Any]] = {
    "hardened": {},
    "apparmor-unconfined": {"security_opt": ["apparmor=unconfined"]},
}
ROWS = [*sorted(FAILED_REQUIRED), *SERVER_SETTINGS]
# a row, and how long it took in seconds
Timed = tuple[Row, float]
# under TCG a row mostly waits on one process or another: three at once take about half
# the time of one after another
ROWS_AT_ONCE = 3
# what such a host changes, truly: systemd gives every unit a pids limit, a container's
# scope too (DefaultTasksMax, 15% of the kernel's threads), so a container run without
# one has one all the same
HOST_CHANGES = {"unhardened.yml": {"pids-limit": "pass"}}
# docker-compose.yml's limits, as cgroup v2 writes them
LIMITS = (
    ("memory-limit", "memory.max", "268435456"),
    ("cpu-limit", "cpu.max", "200000 100000"),
    ("pids-limit", "pids.max", "128"),
)
# the guest's release, kernel, cgroup filesystem and security modules, a word each but
# the first
SYSTEM = (
    ". /etc/os-release && echo $PRETTY_NAME && uname -r && stat -f -c %T /sys/fs/cgroup && "
    "cat /sys/kernel/security/lsm"
)


@pytest.fixture(scope="session")
def guest(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Guest]:
    """The VM, booted once for every row, with the suite's image loaded; powered off after."""
    with lab_guest(tmp_path_factory.mktemp("vm")) as booted:
        yield booted


def containerd_socket(guest: Guest) -> str:
    for path in CONTAINERD_SOCKETS:
        try:
            guest.run("test", "-S", path)
            return path
        except GuestCommandFailed:
            continue
    raise AssertionError(f"no containerd socket in the VM at {' or '.join(CONTAINERD_SOCKETS)}")


def run_row(guest: Guest, row: str) -> Timed:
    """/posture of `row` (a lab overlay or one of SERVER_SETTINGS), and how long it took."""
    started = time.monotonic()
    if row in SERVER_SETTINGS:
        result = posture(guest, server=SERVER_SETTINGS[row])
    else:
        environment = {}
        if row == "containerd-socket.yml":
            environment["IBDEVSERVER_LAB_CONTAINERD_SOCKET"] = containerd_socket(guest)
        services = ["server", *PEERS.get(row, [])]
        host_network = row == "host-network.yml"
        result = posture(guest, [LAB / row], services, None, environment, host_network)
    return result, time.monotonic() - started


@pytest.fixture(scope="session")
def rows(guest: Guest, request: pytest.FixtureRequest) -> Iterator[dict[str, "Future[Timed]"]]:
    """Every row, begun ROWS_AT_ONCE at a time in the order the tests read them; how long
    each took is written at the end."""
    pool = ThreadPoolExecutor(max_workers=ROWS_AT_ONCE)
    started = time.monotonic()
    futures = {row: pool.submit(run_row, guest, row) for row in ROWS}
    try:
        yield futures
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        took = [f"{row} {future.result()[1]:.0f} s" for row, future in futures.items()
                if future.done() and not future.cancelled() and not future.exception()]  # fmt: skip
        line = f"VM rows, {ROWS_AT_ONCE} at once: {time.monotonic() - started:.0f} s in all; "
        # to the terminal, past the capture, as capsys.disabled() does
        with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            print(line + ", ".join(took))


@pytest.fixture
def row(rows: dict[str, "Future[Timed]"]) -> Callable[[str], Row]:
    """A row, once it has run."""
    return lambda name: rows[name].result(timeout=900)[0]


def expected_here(overlay: str) -> tuple[set[str], set[str]]:
    """The required checks test_lab.py expects `overlay` to fail and to leave unknown,
    with what this host changes."""
    failed, unknown = set(FAILED_REQUIRED[overlay]), set(UNKNOWN_REQUIRED.get(overlay, set()))
    for check, status in HOST_CHANGES.get(overlay, {}).items():
        failed.discard(check)
        unknown.discard(check)
        {"fail": failed, "unknown": unknown, "pass": set()}[status].add(check)
    return failed, unknown


def failures(checks: Checks) -> set[str]:
    return {check for check, result in checks.items() if result["status"] == "fail"}


def statuses(checks: Checks, ids: set[str]) -> dict[str, str]:
    return {check: f"{checks[check]['status']}: {checks[check]['evidence']}" for check in ids}


# the first test starts the VM: making its image (once), booting, loading the suite's image
@pytest.mark.timeout(1200)
def test_the_guest_is_debian_13_with_cgroup_v2_and_apparmor(
    guest: Guest, capsys: pytest.CaptureFixture[str]
) -> None:
    system = guest.run("sh", "-c", SYSTEM).split()
    engine = json.loads(guest.run("docker", "info", "--format", "{{json .}}"))
    with capsys.disabled():
        print(
            f"\nVM ({accelerator()}): {' '.join(system[:-3])}, kernel {system[-3]}; "
            f"/sys/fs/cgroup {system[-2]}, security modules {system[-1]}; Docker "
            f"{engine['ServerVersion']}, cgroup v{engine['CgroupVersion']} "
            f"({engine['CgroupDriver']}), security options {' '.join(engine['SecurityOptions'])}, "
            f"runtimes {' '.join(sorted(engine['Runtimes']))}; "
            + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in guest.timings.items())
        )
    assert "Debian GNU/Linux 13" in " ".join(system)
    assert system[-2] == "cgroup2fs"
    assert "apparmor" in system[-1].split(",")
    assert engine["CgroupVersion"] == "2"
    assert "name=apparmor" in engine["SecurityOptions"]
    assert "runsc" in engine["Runtimes"]


@pytest.mark.parametrize("overlay", sorted(FAILED_REQUIRED))
def test_each_overlay_of_the_lab_gives_its_verdicts_here_too(
    row: Callable[[str], Row], overlay: str
) -> None:
    checks = row(overlay).checks
    failed = failures(checks)
    unknown = {check for check in REQUIRED if checks[check]["status"] == "unknown"}
    expected = expected_here(overlay)
    differ = (failed & set(REQUIRED)) ^ expected[0] | unknown ^ expected[1]
    assert (failed & set(REQUIRED), unknown) == expected, statuses(checks, differ)
    # an engine of the VM's own: no nested engine's blind spot excuses an advisory row
    missing = FAILED_ADVISORY[overlay] - failed
    assert not missing, statuses(checks, missing)


@pytest.mark.parametrize("name", ROWS)
def test_no_limit_on_the_page_contradicts_what_the_host_holds_the_server_to(
    row: Callable[[str], Row], name: str
) -> None:
    result = row(name)
    # "max", or "max 100000" (cpu.max: no quota in each period): no limit
    held = {check: result.limits[file].split()[0] != "max" for check, file, _ in LIMITS}
    said = {check: result.checks[check]["status"] for check in held}
    # unknown is no contradiction: the lab's tests hold each row's unknowns to a list
    contrary = {check for check in held if said[check] == ("fail" if held[check] else "pass")}
    assert not contrary, (result.limits, statuses(result.checks, contrary))


def test_a_container_without_a_pids_limit_has_systemds(
    guest: Guest, row: Callable[[str], Row]
) -> None:
    tasks_max = guest.run("systemctl", "show", "--property=DefaultTasksMax", "--value").strip()
    pids = row("unhardened.yml").checks["pids-limit"]
    assert (pids["status"], pids["evidence"]) == ("pass", f"/sys/fs/cgroup/pids.max {tasks_max}")


def test_the_hardened_stack_passes_every_required_check_under_apparmor(
    row: Callable[[str], Row],
) -> None:
    checks = row("hardened").checks
    assert {check: checks[check]["status"] for check in REQUIRED} == dict.fromkeys(REQUIRED, "pass")
    profile = checks["security-module-profile"]
    assert profile["status"] == "pass"
    assert profile["evidence"].endswith(" docker-default (enforce)"), profile["evidence"]


def test_the_limits_are_read_from_the_cgroup_v2_files(row: Callable[[str], Row]) -> None:
    checks = row("hardened").checks
    for check, name, value in LIMITS:
        assert checks[check]["status"] == "pass"
        assert checks[check]["evidence"].startswith(f"/sys/fs/cgroup/{name} {value}")


def test_apparmor_unconfined_fails_the_profile_check_and_nothing_else(
    row: Callable[[str], Row],
) -> None:
    checks = row("apparmor-unconfined").checks
    profile = checks["security-module-profile"]
    assert profile["status"] == "fail"
    assert profile["evidence"].endswith(" unconfined"), profile["evidence"]
    # the advisory rows the hardened stack fails too (no user namespace, for one) stay
    hardened = failures(row("hardened").checks)
    assert failures(checks) == hardened | {"security-module-profile"}, statuses(checks, hardened)


def test_the_hosts_cgroup_namespace_shows_the_limits_deep_in_its_tree(
    row: Callable[[str], Row],
) -> None:
    checks = row("cgroup-host.yml").checks
    scope = r"/sys/fs/cgroup/system\.slice/docker-[0-9a-f]{64}\.scope"
    for check, name, value in LIMITS:
        assert checks[check]["status"] == "pass"
        assert re.match(rf"{scope}/{re.escape(name)} {value}", checks[check]["evidence"])
    namespace = checks["own-cgroup-namespace"]
    assert namespace["status"] == "fail"
    assert "the host's cgroup namespace" in namespace["evidence"]
