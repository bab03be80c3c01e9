"""The ways out the peer tools try from inside: every runtime's socket, a node's state and
credentials, the kernel's host-wide interfaces, a user namespace; and the cgroup
namespace, the root group and the runtime named (tests/procfs/posture_trees.py builds the trees)."""

import os
import stat
from pathlib import Path

import pytest

from service.procfs.host import Host
from service.procfs.posture import ORDERED_RULES, Report, assess, run_check
from service.procfs.rules import Remedy, Rule
from tests.procfs.posture_trees import SERVER_PORT, Container, build

REQUIRED = [rule.id for rule in ORDERED_RULES if rule.required]
REMEDY = Remedy("compose", "docker run", "kubernetes")
Mount = tuple[str, str, str, str]


def report_of(tmp_path: Path, container: Container) -> Report:
    root = build(tmp_path, container)
    return assess(root, container.server_pid, frozenset([SERVER_PORT]), container.probes)


def check(tmp_path: Path, container: Container, check_id: str) -> tuple[str, str]:
    (found,) = [item for item in report_of(tmp_path, container).checks if item.id == check_id]
    return found.status, found.evidence


def failed_required(tmp_path: Path, container: Container) -> set[str]:
    report = report_of(tmp_path, container)
    return {item.id for item in report.checks if item.required and item.status == "fail"}


def socket_at(root: Path, path: str) -> None:
    """A socket file at `path` of the tree, as the kernel shows a bound one."""
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(target, stat.S_IFSOCK | 0o660)


@pytest.mark.parametrize(
    ("mount", "named"),
    [
        # containerd's from a systemd host's /run (a tmpfs: its path within it)
        (("/run/containerd/containerd.sock", "/containerd/containerd.sock", "tmpfs", "rw"),
         "containerd's socket at /run/containerd/containerd.sock"),
        # CRI-O's, read-only: connect() works through a read-only bind all the same
        (("/var/run/crio/crio.sock", "/run/crio/crio.sock", "ext4", "ro"),
         "CRI-O's socket at /var/run/crio/crio.sock"),
        # renamed where it lands: told by the host path it shows
        (("/tmp/runtime", "/containerd/containerd.sock", "tmpfs", "ro"),
         "containerd's socket at /tmp/runtime (bound from the host (ro, host /containerd/"),
        (("/run/podman/podman.sock", "/podman/podman.sock", "tmpfs", "rw"),
         "Podman's socket at /run/podman/podman.sock"),
        (("/var/run/cri-dockerd.sock", "/cri-dockerd.sock", "tmpfs", "rw"),
         "cri-dockerd's socket at /var/run/cri-dockerd.sock"),
        (("/run/k3s/containerd/containerd.sock", "/k3s/containerd/containerd.sock", "tmpfs", "ro"),
         "containerd's socket at /run/k3s/containerd/containerd.sock"),
    ],
)  # fmt: skip
def test_every_runtimes_socket_fails_read_write_or_read_only(
    tmp_path: Path, mount: Mount, named: str
) -> None:
    container = Container(mounts=[mount])
    assert failed_required(tmp_path, container) == {"no-runtime-socket"}
    assert named in check(tmp_path, container, "no-runtime-socket")[1]
    (found,) = [item for item in report_of(tmp_path, container).checks
                if item.id == "no-runtime-socket"]  # fmt: skip
    runtime = named.partition("'s socket")[0]
    assert found.remedy.kubernetes == f"no hostPath volume of {runtime}'s socket, read-only or not"


@pytest.mark.parametrize(
    "inside",
    [
        # a socket directly in the bound folder
        "/sockets/crio.sock",
        # where the runtime keeps it beneath a bound /var
        "/sockets/run/crio/crio.sock",
    ],
)
def test_a_runtimes_socket_inside_a_bound_folder_is_found(tmp_path: Path, inside: str) -> None:
    container = Container(mounts=[("/sockets", "/srv/sockets", "ext4", "ro")])
    socket_at(build(tmp_path, container), inside)
    assert check(tmp_path, container, "no-runtime-socket") == (
        "fail",
        f"/proc/1/mountinfo: CRI-O's socket at {inside} (in /sockets, bound from the host)",
    )


def test_another_host_socket_is_an_advisory_finding_only(tmp_path: Path) -> None:
    container = Container(mounts=[("/run/agent.sock", "/srv/agent.sock", "ext4", "rw")])
    socket_at(build(tmp_path, container), "/run/agent.sock")
    assert failed_required(tmp_path, container) == set()
    assert check(tmp_path, container, "no-other-host-sockets") == (
        "fail",
        "/proc/1/mountinfo sockets: /run/agent.sock (bound from the host (rw, host "
        "/srv/agent.sock))",
    )
    assert check(tmp_path, Container(), "no-other-host-sockets")[0] == "pass"


@pytest.mark.parametrize(
    ("mount", "shown"),
    [
        (("/var/lib/kubelet", "/var/lib/kubelet", "ext4", "ro"),
         "(host /var/lib/kubelet, ro: the kubelet's state: every pod's tokens and secrets)"),
        # /var on a partition of its own: the path within it
        (("/kubelet", "/lib/kubelet/pods", "ext4", "ro"), "the kubelet's state"),
        (("/etc/kubernetes", "/etc/kubernetes", "ext4", "ro"),
         "the node's Kubernetes configuration and PKI"),
        (("/containerd", "/var/lib/containerd", "xfs", "ro"), "a container runtime's state"),
        (("/state", "/containerd", "tmpfs", "ro"), "a container runtime's sockets and state"),
        (("/rancher", "/var/lib/rancher/k3s", "ext4", "ro"),
         "a Kubernetes distribution's state and credentials"),
    ],
)  # fmt: skip
def test_a_nodes_credentials_and_runtime_state_are_sensitive_read_only_or_not(
    tmp_path: Path, mount: Mount, shown: str
) -> None:
    container = Container(mounts=[mount])
    assert failed_required(tmp_path, container) == {"no-sensitive-host-mounts"}
    assert shown in check(tmp_path, container, "no-sensitive-host-mounts")[1]


@pytest.mark.parametrize("cgroup", ["v1", "v2"])
def test_the_hosts_cgroup_namespace_fails_and_the_limits_are_read_where_they_are(
    tmp_path: Path, cgroup: str
) -> None:
    container = Container(cgroup=cgroup, host_cgroupns=True)
    assert failed_required(tmp_path, container) == set()
    status, evidence = check(tmp_path, container, "own-cgroup-namespace")
    assert status == "fail"
    assert evidence.endswith("cgroup:[4026531835] (the host's cgroup namespace: its whole tree "
                             "is visible)")  # fmt: skip
    if cgroup == "v2":
        assert check(tmp_path, container, "memory-limit") == ("pass", (
            "/sys/fs/cgroup/system.slice/docker-" + "0123abcd" * 8 + ".scope/memory.max "
            "268435456"))  # fmt: skip
    else:
        assert check(tmp_path, container, "pids-limit") == (
            "pass", "/sys/fs/cgroup/pids/pids.max 128")  # fmt: skip


def test_the_hosts_cgroup_namespace_without_limits_still_fails_them(tmp_path: Path) -> None:
    # the host's root has no limit: reading there instead would say so too, for the
    # wrong cgroup; the container's own says it of itself
    container = Container(host_cgroupns=True, limited=False)
    assert {"memory-limit", "cpu-limit", "pids-limit"} <= failed_required(tmp_path, container)
    assert ".scope/cpu.max max 100000" in check(tmp_path, container, "cpu-limit")[1]


@pytest.mark.parametrize(("gid", "groups"), [(0, [0]), (10001, [10001, 0])])
def test_the_root_group_is_an_advisory_finding(tmp_path: Path, gid: int, groups: list[int]) -> None:
    container = Container(gid=gid, groups=groups)
    status, evidence = check(tmp_path, container, "non-root-group")
    assert status == "fail"
    assert f"Gid {gid} {gid} {gid} {gid}; Groups {' '.join(map(str, groups))}" in evidence
    assert check(tmp_path, Container(), "non-root-group")[0] == "pass"


def test_a_privileged_container_can_write_the_kernels_interfaces(tmp_path: Path) -> None:
    status, evidence = check(tmp_path, Container(privileged=True), "no-writable-kernel-interfaces")
    assert status == "fail"
    for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
                 "/sys/kernel/uevent_helper", "/proc/sysrq-trigger"):  # fmt: skip
        assert path in evidence
    assert check(tmp_path, Container(), "no-writable-kernel-interfaces") == (
        "pass",
        "/proc/1/mountinfo: 4 of 5 interfaces present, none on a read-write mount and writable "
        "by root",
    )


def test_a_writable_release_agent_fails(tmp_path: Path) -> None:
    # a cgroup v1 hierarchy mounted read-write at its root shows its release_agent
    container = Container(cgroup="v1", mounts=[("/mnt/cgroup", "/", "cgroup", "rw")])
    root = build(tmp_path, container)
    (root / "mnt" / "cgroup").mkdir(parents=True)
    (root / "mnt" / "cgroup" / "release_agent").write_text("")
    report = assess(root, 1, frozenset([SERVER_PORT]), container.probes)
    (found,) = [item for item in report.checks if item.id == "no-writable-kernel-interfaces"]
    assert found.status == "fail"
    assert "/mnt/cgroup/release_agent (a program the host runs as root" in found.evidence


def test_a_file_root_here_does_not_own_is_not_writable_by_it(tmp_path: Path) -> None:
    # under a user namespace the host's files belong to nobody: mode 0644 is not enough
    root = build(tmp_path, Container(privileged=True))
    interface = root / "proc" / "sys" / "kernel" / "core_pattern"
    interface.chmod(0o444)
    report = assess(root, 1, frozenset([SERVER_PORT]), Container().probes)
    (found,) = [item for item in report.checks if item.id == "no-writable-kernel-interfaces"]
    assert "core_pattern" not in found.evidence
    assert "modprobe" in found.evidence


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_owner_is_not_roots_to_write(tmp_path: Path) -> None:
    # under a user namespace the host's files belong to nobody (65534) here
    root = build(tmp_path, Container(privileged=True))
    os.chown(root / "proc" / "sys" / "kernel" / "modprobe", 65534, 65534)
    report = assess(root, 1, frozenset([SERVER_PORT]), Container().probes)
    (found,) = [item for item in report.checks if item.id == "no-writable-kernel-interfaces"]
    assert "modprobe" not in found.evidence
    assert "core_pattern" in found.evidence


def test_a_cgroup_deep_in_the_tree_is_the_hosts_namespace_whatever_its_inode(
    tmp_path: Path,
) -> None:
    # an engine nested in a container: its "host" namespace is not the kernel's first
    container = Container(host_cgroupns=True)
    root = build(tmp_path, container)
    link = root / "proc" / "1" / "ns" / "cgroup"
    link.unlink()
    link.symlink_to("cgroup:[4026532999]")
    report = assess(root, 1, frozenset([SERVER_PORT]), container.probes)
    (found,) = [item for item in report.checks if item.id == "own-cgroup-namespace"]
    assert found.status == "fail"
    assert found.evidence.startswith("/proc/1/cgroup /system.slice/docker-")


@pytest.mark.parametrize(("allowed", "status"), [(True, "fail"), (False, "pass")])
def test_a_user_namespace_the_server_can_make_is_an_advisory_finding(
    tmp_path: Path, allowed: bool, status: str
) -> None:
    found = check(tmp_path, Container(user_namespace_allowed=allowed), "no-user-namespaces")
    word = "succeeded" if allowed else "failed with EPERM"
    assert found == (status, f"a child of the server's worker: unshare(CLONE_NEWUSER) {word}")


def test_the_runtime_is_named_with_its_evidence(tmp_path: Path) -> None:
    runtime = report_of(tmp_path, Container()).runtime
    assert not runtime.gvisor
    assert runtime.name == "the host's kernel, behind namespaces (runc or another OCI runtime)"
    assert runtime.evidence.endswith("/proc/self/uid_map 0 0 4294967295")


def test_a_file_that_cannot_be_reached_is_unknown_not_an_error(tmp_path: Path) -> None:
    # a folder beneath a bound host root that this user may not search (EACCES)
    def denied(host: object) -> tuple[bool, str]:
        raise PermissionError(13, "Permission denied", "/host/var/lib/docker/x/release_agent")

    rule = Rule("probe", "a probe", "ref", "https://example.invalid/", REMEDY, True, denied)
    found = run_check(rule, Host(build(tmp_path, Container()), 1))
    assert (found.status, found.evidence) == (
        "unknown",
        "/host/var/lib/docker/x/release_agent: Permission denied",
    )


def test_a_release_agent_the_host_brought_beneath_a_bind_is_not_the_containers(
    tmp_path: Path,
) -> None:
    # the host's mounts beneath /host are the bind's: no-sensitive-host-mounts fails it
    container = Container(mounts=[
        ("/host", "/", "ext4", "ro"), ("/host/sys/fs/cgroup/memory", "/", "cgroup", "rw"),
    ])  # fmt: skip
    root = build(tmp_path, container)
    (root / "host" / "sys" / "fs" / "cgroup" / "memory").mkdir(parents=True)
    (root / "host" / "sys" / "fs" / "cgroup" / "memory" / "release_agent").write_text("")
    report = assess(root, 1, frozenset([SERVER_PORT]), container.probes)
    statuses = {item.id: item.status for item in report.checks}
    assert statuses["no-writable-kernel-interfaces"] == "pass"
    assert statuses["no-sensitive-host-mounts"] == "fail"
