"""The posture checks under gVisor, on trees captured from it (tests/samples/gvisor-*,
made by tests/samples/capture_tree.py under Debian's runsc 20221219): each check decides
from what gVisor shows, and says so."""

import shutil
from pathlib import Path

import pytest

from service.procfs.posture import ORDERED_RULES, Report, assess
from service.procfs.self_probes import Probes
from tests.paths import SAMPLES

REQUIRED = [rule.id for rule in ORDERED_RULES if rule.required]
DENIED = (False, "unshare(CLONE_NEWUSER) failed with EPERM")
# gVisor before August 2025 answers 1 for every process (it honours no set-user-ID bit);
# a newer one answers what the runtime set
OLD_GVISOR = Probes(lambda: True, lambda: (True, "unshare(CLONE_NEWUSER) succeeded"))


def tree(tmp_path: Path, sample: str) -> Path:
    """A copy of the captured tree, to add to."""
    root = tmp_path / sample
    shutil.copytree(SAMPLES / sample, root, symlinks=True)
    return root


def report(root: Path, probes: Probes = OLD_GVISOR) -> Report:
    return assess(root, 1, frozenset(), probes)


def statuses(found: Report) -> dict[str, str]:
    return {check.id: check.status for check in found.checks}


def evidence(found: Report, check_id: str) -> str:
    (text,) = [check.evidence for check in found.checks if check.id == check_id]
    return text


def test_the_hardened_stack_under_gvisor_fails_nothing_required_and_names_gvisor() -> None:
    found = report(SAMPLES / "gvisor-hardened")
    required = {key: status for key, status in statuses(found).items() if key in REQUIRED}
    assert {key for key, status in required.items() if status == "fail"} == set()
    # what nothing inside gVisor shows: the CPU quota, and the host's pids limit
    assert {key for key, status in required.items() if status == "unknown"} == {
        "cpu-limit", "pids-limit",
    }  # fmt: skip
    assert found.runtime.gvisor
    assert found.runtime.name.startswith("gVisor (runsc)")
    assert "/proc/cmdline BOOT_IMAGE=/vmlinuz-4.4.0-gvisor quiet" in found.runtime.evidence
    assert evidence(found, "memory-limit").endswith(
        "262144 kB, the memory gVisor was given (256 MiB: a limit, not the host's total)"
    )
    assert "gVisor's kernel in user space" in evidence(found, "seccomp-filter")
    assert evidence(found, "no-new-privileges") == (
        "/proc/1/status has no NoNewPrivs line; prctl(PR_GET_NO_NEW_PRIVS) in the server's "
        "worker: 1"
    )
    assert "CapAmb (no line; at most CapPrm & CapInh, 0000000000000000)" in evidence(
        found, "no-capabilities"
    )
    assert "gVisor's own (fuse, net/tun)" in evidence(found, "no-host-devices")
    assert "cpu/online 0-1" in evidence(found, "cpu-limit")


def test_a_careless_run_under_gvisor_still_fails_what_it_did() -> None:
    # root, Docker's default capabilities, a writable root, no limits
    found = statuses(report(SAMPLES / "gvisor-careless"))
    failed = {key for key in REQUIRED if found[key] == "fail"}
    assert failed == {"non-root-user", "no-capabilities", "read-only-root"}
    # the host's memory, 24731408 kB: no whole number of MiB, so no limit is claimed
    assert found["memory-limit"] == "unknown"


def test_no_new_privileges_is_what_prctl_answers_under_gvisor() -> None:
    # a newer gVisor answers 0 where the runtime did not set it
    unset = Probes(lambda: False, lambda: DENIED)
    found = report(SAMPLES / "gvisor-careless", unset)
    assert statuses(found)["no-new-privileges"] == "fail"
    assert evidence(found, "no-new-privileges").endswith("worker: 0")


def test_prctl_is_asked_only_by_the_servers_own_process(tmp_path: Path) -> None:
    root = tree(tmp_path, "gvisor-hardened")
    # the reader is not the server's: /proc/self is another process, outside its tree
    (root / "proc" / "self").unlink()
    (root / "proc" / "self").symlink_to("9")
    (root / "proc" / "9").mkdir()
    (root / "proc" / "9" / "status").write_text("Name:\tpython3\nPid:\t9\nPPid:\t0\n")
    found = report(root)
    assert statuses(found)["no-new-privileges"] == "unknown"
    assert "not the server's to ask" in evidence(found, "no-new-privileges")


def test_a_bind_whose_host_path_gvisor_hides_is_unknown_and_a_socket_still_fails(
    tmp_path: Path,
) -> None:
    root = tree(tmp_path, "gvisor-hardened")
    gofer = "- 9p none ro,trans=fd,rfdno=9,wfdno=9,aname=/,cache=remote_revalidating\n"
    with (root / "proc" / "1" / "mountinfo").open("a") as mountinfo:
        mountinfo.write(f"30 8 0:30 / /data ro  {gofer}")
        mountinfo.write(f"31 8 0:31 / /var/run/docker.sock ro  {gofer}")
    found = report(root)
    assert statuses(found)["no-sensitive-host-mounts"] == "unknown"
    assert evidence(found, "no-sensitive-host-mounts") == (
        "gVisor: /proc/1/mountinfo does not show the host path of /data"
    )
    assert statuses(found)["no-runtime-socket"] == "fail"
    assert "Docker's socket at /var/run/docker.sock (bound from the host (ro))" in evidence(
        found, "no-runtime-socket"
    )


def test_a_device_gvisor_does_not_emulate_still_fails(tmp_path: Path) -> None:
    root = tree(tmp_path, "gvisor-hardened")
    (root / "dev" / "sda").write_text("")
    found = report(root)
    assert evidence(found, "no-host-devices") == "/dev beyond the default set: /dev/sda"


@pytest.mark.parametrize("mark", ["absent", "mounted"])
def test_gvisor_is_told_only_by_its_own_proc(tmp_path: Path, mark: str) -> None:
    root = tree(tmp_path, "gvisor-hardened")
    if mark == "absent":
        (root / "proc" / "sentry-meminfo").unlink()
    else:
        # a file bound over /proc/sentry-meminfo by hand is no sandbox
        with (root / "proc" / "1" / "mountinfo").open("a") as mountinfo:
            mountinfo.write("40 12 0:40 /x /proc/sentry-meminfo ro - ext4 /dev/sda1 ro\n")
    found = report(root)
    assert not found.runtime.gvisor
    assert statuses(found)["seccomp-filter"] == "fail"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a newer gVisor's own cgroupfs: no limit shown is not the host's word
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000", "pids/pids.max": "max"},
         {"cpu-limit": "unknown", "pids-limit": "unknown"}),
        # Debian 13's runsc shows no memory limit in its cgroupfs: MemTotal, the memory
        # it was given (262144 kB), still tells it
        ({"memory/memory.limit_in_bytes": "9223372036854771712"}, {"memory-limit": "pass"}),
        # a limit it shows is one gVisor keeps
        ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000",
          "pids/pids.max": "128"},
         {"cpu-limit": "pass", "pids-limit": "pass"}),
    ],
)  # fmt: skip
def test_gvisors_own_cgroupfs_decides_only_where_it_shows_a_limit(
    tmp_path: Path, files: dict[str, str], expected: dict[str, str]
) -> None:
    root = tree(tmp_path, "gvisor-hardened")
    for name, value in files.items():
        target = root / "sys" / "fs" / "cgroup" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value + "\n")
    found = statuses(report(root))
    assert {key: found[key] for key in expected} == expected
