"""The posture checks on fake /proc, /sys and /dev trees: cgroup v1 and v2, the hardened
container and each misconfiguration the lab shows (tests/procfs/posture_trees.py builds them)."""

import dataclasses
import json
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from service.procfs.posture import NOT_OBSERVABLE, ORDERED_RULES, Report, assess
from service.web.app import create_app
from service.web.posture_views import breakable
from tests.paths import ROOT, SAMPLES
from tests.procfs.posture_trees import (
    DOCKER_DEFAULT,
    EVERY_CAPABILITY,
    HOST_PID,
    SERVER_PORT,
    Container,
    build,
    write,
)

REQUIRED = [rule.id for rule in ORDERED_RULES if rule.required]
CARELESS = Container(
    uid=0, effective="00000000a80435fb", bounding="00000000a80435fb", no_new_privs=0,
    root_options="rw,relatime", limited=False,
)  # fmt: skip


def report_of(root: Path, container: Container) -> Report:
    return assess(root, container.server_pid, frozenset([SERVER_PORT]), container.probes)


def verdicts(tmp_path: Path, container: Container) -> dict[str, str]:
    report = report_of(build(tmp_path, container), container)
    return {check.id: check.status for check in report.checks}


def failed_required(tmp_path: Path, container: Container) -> set[str]:
    return {key for key in REQUIRED if verdicts(tmp_path, container)[key] == "fail"}


def evidence(tmp_path: Path, container: Container, check_id: str) -> str:
    report = report_of(build(tmp_path, container), container)
    (found,) = [check.evidence for check in report.checks if check.id == check_id]
    return found


@pytest.mark.parametrize("cgroup", ["v1", "v2"])
def test_a_hardened_container_passes_every_check_but_a_user_namespace(
    tmp_path: Path, cgroup: str
) -> None:
    # a user namespace is the engine's setting (userns-remap), not the stack's
    container = Container(cgroup=cgroup)
    failed = {key for key, status in verdicts(tmp_path, container).items() if status != "pass"}
    assert failed == {"user-namespace"}
    assert "268435456" in evidence(tmp_path, container, "memory-limit")
    assert "(2 CPUs)" in evidence(tmp_path, container, "cpu-limit")
    assert evidence(tmp_path, container, "pids-limit").endswith(" 128")


@pytest.mark.parametrize("cgroup", ["v1", "v2"])
def test_a_careless_container_fails_exactly_what_it_should(tmp_path: Path, cgroup: str) -> None:
    container = dataclasses.replace(CARELESS, cgroup=cgroup)
    assert failed_required(tmp_path, container) == {
        "non-root-user", "no-capabilities-beyond-default", "no-capabilities",
        "no-new-privileges", "read-only-root", "memory-limit", "cpu-limit", "pids-limit",
    }  # fmt: skip
    assert "CapEff beyond Docker's default: CAP_NET_ADMIN" in evidence(
        tmp_path, container, "no-capabilities-beyond-default"
    )


def test_dockers_default_capabilities_are_told_from_none(tmp_path: Path) -> None:
    # a non-root user has CapEff 0 either way: only the bounding set tells them apart
    container = Container(bounding=DOCKER_DEFAULT)
    assert failed_required(tmp_path, container) == {"no-capabilities"}
    assert f"CapBnd {DOCKER_DEFAULT}" in evidence(tmp_path, container, "no-capabilities")


def test_a_shared_host_pid_namespace_fails_and_the_server_is_still_read(tmp_path: Path) -> None:
    container = Container(host_pid=True)
    assert failed_required(tmp_path, container) == {"own-pid-namespace"}
    found = evidence(tmp_path, container, "own-pid-namespace")
    assert found.startswith("/proc/1/status Name systemd")
    assert "kthreadd" in found
    assert "containerd-shim (pid 4000), systemd (pid 1)" in found
    # the process checks describe this server, not the host's init
    assert evidence(tmp_path, container, "non-root-user") == (
        f"/proc/{HOST_PID}/status Uid 10001 10001 10001 10001"
    )


def test_an_init_as_pid_1_is_the_containers_own(tmp_path: Path) -> None:
    container = Container(init=True)
    assert failed_required(tmp_path, container) == set()
    assert evidence(tmp_path, container, "own-pid-namespace") == "/proc/1/status Name docker-init"


def test_a_process_entered_by_exec_is_not_foreign(tmp_path: Path) -> None:
    # the healthcheck runs by exec every second: its parent is outside the namespace
    container = Container(exec_process=True)
    assert verdicts(tmp_path, container)["own-pid-namespace"] == "pass"
    assert evidence(tmp_path, container, "own-pid-namespace").endswith("; 1 entered by exec")


def test_another_containers_pid_namespace_fails_and_names_its_pid_1(tmp_path: Path) -> None:
    # docker run --pid=container:<go original>: PID 1 is the other program
    container = Container(joined_pid=True)
    assert failed_required(tmp_path, container) == {"own-pid-namespace"}
    found = evidence(tmp_path, container, "own-pid-namespace")
    assert found.startswith(
        f"/proc/1/status Name server.bin; the server (pid {HOST_PID}) is neither PID 1"
    )
    assert "; 2 processes outside the server's tree: server.bin (1), server.bin (12)" in found


def test_a_pods_shared_pid_namespace_fails_for_the_sidecar(tmp_path: Path) -> None:
    # shareProcessNamespace: true: PID 1 is the pause container, the server its child,
    # and the sidecar's processes are visible
    container = Container(pod_shared_pid=True)
    assert failed_required(tmp_path, container) == {"own-pid-namespace"}
    assert evidence(tmp_path, container, "own-pid-namespace") == (
        "/proc/1/status Name pause; 1 processes outside the server's tree: envoy (30)"
    )


def test_privileged_mode_is_named_even_for_a_non_root_user(tmp_path: Path) -> None:
    container = Container(privileged=True, bounding=EVERY_CAPABILITY, seccomp=0, no_new_privs=0)
    assert failed_required(tmp_path, container) == {
        "not-privileged", "no-host-devices", "no-capabilities-beyond-default",
        "no-capabilities", "seccomp-filter", "no-new-privileges", "no-writable-kernel-interfaces",
    }  # fmt: skip
    found = evidence(tmp_path, container, "not-privileged")
    for signal in ("/sys rw", "/proc/sys rw", "(every capability)", "/proc unmasked",
                   "/dev: nvme0n1, sda, sda1"):  # fmt: skip
        assert signal in found
    assert "/dev/kmsg" in evidence(tmp_path, container, "no-host-devices")
    assert verdicts(tmp_path, container)["cgroup-read-only"] == "fail"
    # the remedy names the cause, not --cap-drop ALL to a container that has it
    report = report_of(build(tmp_path, container), container)
    remedies = {check.id: check.remedy for check in report.checks}
    for check_id in ("no-capabilities", "seccomp-filter", "no-host-devices"):
        assert remedies[check_id].docker_run == "no --privileged: the cause here", check_id
    assert (
        "no-new-privileges" in remedies["no-new-privileges"].docker_run
    )  # not privileged mode's doing


@pytest.mark.parametrize(
    ("mount", "shown"),
    [
        (("/host", "/", "ext4", "ro,relatime"), "/host (host /, ro)"),
        (("/host", "/", "ext4", "rw,relatime"), "/host (host /, rw)"),
        (("/config", "/etc", "ext4", "ro"), "/config (host /etc, ro)"),
        (("/data/passwd", "/etc/passwd", "ext4", "ro"), "/data/passwd (host /etc/passwd, ro)"),
        (("/host/proc", "/", "proc", "rw"), "/host/proc (host /proc, rw)"),
        (("/hostdev", "/", "devtmpfs", "rw"), "/hostdev (host /dev, rw)"),
        (
            ("/images", "/var/lib/docker/image", "ext4", "ro"),
            "(host /var/lib/docker/image, ro: a container runtime's state)",
        ),
    ],
)
def test_a_sensitive_host_path_fails_read_only_or_not(
    tmp_path: Path, mount: tuple[str, str, str, str], shown: str
) -> None:
    container = Container(mounts=[mount])
    assert "no-sensitive-host-mounts" in failed_required(tmp_path, container)
    assert shown in evidence(tmp_path, container, "no-sensitive-host-mounts")


@pytest.mark.parametrize(
    "mount",
    [
        ("/data", "/var/lib/docker/volumes/data/_data", "ext4", "rw"),
        ("/status", "/tmp/pytest-1/hostile/status", "ext4", "ro"),
        ("/var/run/secrets/kubernetes.io/serviceaccount", "/", "tmpfs", "ro"),
        ("/dev/termination-log", "/var/lib/kubelet/pods/x/containers/s/0", "ext4", "rw"),
        ("/etc/hostname", "/var/lib/docker/containers/0123abcd/hostname", "ext4", "rw"),
    ],
)
def test_volumes_and_the_engines_own_files_are_not_findings(
    tmp_path: Path, mount: tuple[str, str, str, str]
) -> None:
    assert verdicts(tmp_path, Container(mounts=[mount]))["no-sensitive-host-mounts"] == "pass"


def test_a_mounted_docker_socket_fails(tmp_path: Path) -> None:
    container = Container(mounts=[("/var/run/docker.sock", "/docker.sock", "tmpfs", "rw")])
    assert failed_required(tmp_path, container) == {"no-runtime-socket"}
    assert "/var/run/docker.sock" in evidence(tmp_path, container, "no-runtime-socket")
    # a read-only bind of a socket still lets whoever opens it talk to the engine
    report = report_of(build(tmp_path, container), container)
    (remedy,) = [check.remedy for check in report.checks if check.id == "no-runtime-socket"]
    assert remedy.docker_run == "no -v of Docker's socket, read-only or not"


def test_a_socket_at_the_usual_path_fails(tmp_path: Path) -> None:
    root = build(tmp_path, Container())
    write(root, "/run/docker.sock", "")
    assert report_of(root, Container()).checks[REQUIRED.index("no-runtime-socket")].status == "fail"


def test_a_device_beyond_the_default_fails(tmp_path: Path) -> None:
    container = Container(devices=["fuse"])
    assert failed_required(tmp_path, container) == {"no-host-devices"}
    assert (
        evidence(tmp_path, container, "no-host-devices") == "/dev beyond the default set: /dev/fuse"
    )


def test_the_advisory_checks_see_the_host_network_shared_mounts_ports_and_sshd(
    tmp_path: Path,
) -> None:
    container = Container(
        host_network=True, listening=[SERVER_PORT, 22], sshd=True,
        mounts=[("/shared", "/srv", "ext4", "ro shared:7")],
    )  # fmt: skip
    result = verdicts(tmp_path, container)
    for check_id in ("own-network-namespace", "only-expected-ports-listening", "no-ssh-daemon",
                     "mount-propagation-private"):  # fmt: skip
        assert result[check_id] == "fail", check_id
    assert "docker0, veth1a2b3c" in evidence(tmp_path, container, "own-network-namespace")
    assert "unexpected: [22]" in evidence(tmp_path, container, "only-expected-ports-listening")
    assert failed_required(tmp_path, container) == set()


def test_a_shell_or_package_manager_in_the_image_fails_no_shell(tmp_path: Path) -> None:
    container = Container(shell=True)
    assert failed_required(tmp_path, container) == set()
    assert verdicts(tmp_path, container)["no-shell"] == "fail"
    assert evidence(tmp_path, container, "no-shell") == (
        "shells or package managers: /opt/venv/bin/pip, /usr/bin/dash, /usr/bin/apt-get, /bin/sh"
    )
    assert evidence(tmp_path / "hardened", Container(), "no-shell") == (
        "none of 20 shells and package managers in 7 PATH folders or at /bin/sh"
    )


def test_the_hosts_ipc_and_uts_namespaces_fail_their_checks(tmp_path: Path) -> None:
    container = Container(host_ipc=True, host_uts=True)
    assert failed_required(tmp_path, container) == set()
    assert evidence(tmp_path, container, "own-ipc-namespace").startswith(
        "/proc/1/ns/ipc ipc:[4026531839]; /dev/shm source src"
    )
    assert evidence(tmp_path, container, "own-uts-namespace") == (
        "/proc/1/ns/uts uts:[4026531838]; /proc/sys/kernel/hostname differs from /etc/hostname"
        " (the host's)"
    )
    result = verdicts(tmp_path / "own", Container())
    assert result["own-ipc-namespace"] == result["own-uts-namespace"] == "pass"


def test_seccomp_evidence_counts_the_filters(tmp_path: Path) -> None:
    assert evidence(tmp_path, Container(), "seccomp-filter").endswith(
        "Seccomp 2, Seccomp_filters 1"
    )


@pytest.mark.parametrize(
    ("unreadable", "check_id"),
    [
        ("/proc/1/status", "non-root-user"),
        ("/proc/1/mountinfo", "read-only-root"),
        ("/sys/fs/cgroup/memory.max", "memory-limit"),
        ("/sys/fs/cgroup/cpu.max", "cpu-limit"),
        ("/sys/fs/cgroup/pids.max", "pids-limit"),
        ("/proc/1/attr/current", "security-module-profile"),
        ("/proc/net/dev", "own-network-namespace"),
        ("/proc/1/cgroup", "own-cgroup-namespace"),
    ],
)
def test_unreadable_evidence_is_unknown(tmp_path: Path, unreadable: str, check_id: str) -> None:
    root = build(tmp_path, Container())
    path = root / unreadable.lstrip("/")
    # a directory where the file should be: unreadable even for root, who ignores modes
    path.unlink()
    path.mkdir()
    result = {check.id: check for check in report_of(root, Container()).checks}
    assert result[check_id].status == "unknown"
    assert unreadable in result[check_id].evidence


@pytest.mark.parametrize("mask", ["0x0", "-0", "0_0", "zz", ""])
def test_a_mask_the_json_view_calls_malformed_is_unknown_not_a_pass(
    tmp_path: Path, mask: str
) -> None:
    root = build(tmp_path, Container())
    text = (root / "proc/1/status").read_text().replace(f"CapBnd:\t{'0' * 16}", f"CapBnd:\t{mask}")
    write(root, "/proc/1/status", text)
    result = {check.id: check for check in report_of(root, Container()).checks}
    assert result["no-capabilities"].status == "unknown"
    assert result["no-capabilities"].evidence == "/proc/1/status CapBnd is malformed"


def test_garbage_evidence_is_unknown(tmp_path: Path) -> None:
    root = build(tmp_path, Container())
    write(root, "/sys/fs/cgroup/pids.max", "lots\n")
    write(root, "/proc/1/status", "Uid:\t\nCapEff:\tzz\n")
    write(root, "/proc/1/mountinfo", "garbage\n")
    result = {check.id: check.status for check in report_of(root, Container()).checks}
    garbled = ("pids-limit", "non-root-user", "no-capabilities-beyond-default",
               "own-pid-namespace", "read-only-root", "no-sensitive-host-mounts")  # fmt: skip
    for check_id in garbled:
        assert result[check_id] == "unknown", check_id


def test_every_check_has_a_remedy_in_compose_docker_run_and_kubernetes() -> None:
    for rule in ORDERED_RULES:
        remedy = dataclasses.asdict(rule.remedy)
        assert set(remedy) == {"compose", "docker_run", "kubernetes"}
        assert all(remedy.values()), rule.id


def test_required_checks_come_first() -> None:
    flags = [rule.required for rule in ORDERED_RULES]
    assert flags == sorted(flags, reverse=True)


@pytest.fixture
def posture_client(tmp_path: Path) -> FlaskClient:
    root = build(tmp_path / "host", dataclasses.replace(CARELESS, cgroup="v1"))
    config = {"TESTING": True, "POSTURE_ROOT": str(root), "POSTURE_PID": 1}
    return create_app(config).test_client()


def test_json_view_has_checks_remedies_summaries_and_what_cannot_be_seen(
    posture_client: FlaskClient,
) -> None:
    document = posture_client.get("/posture?format=json").get_json()
    assert [check["id"] for check in document["checks"]] == [rule.id for rule in ORDERED_RULES]
    assert set(document["checks"][0]["remedy"]) == {"compose", "docker_run", "kubernetes"}
    required, advisory = document["summary"]["required"], document["summary"]["advisory"]
    assert sum(required.values()) == len(REQUIRED)
    assert sum(required.values()) + sum(advisory.values()) == len(ORDERED_RULES)
    assert required["fail"] == 8
    unseen = [item["reference"] for item in document["not_observable"]]
    assert unseen == [item.reference for item in NOT_OBSERVABLE]
    assert {"5.7", "5.13", "5.14", "5.22", "5.23", "5.26", "5.27", "5.29"} <= set(unseen)


def test_text_is_the_default_and_html_goes_to_browsers(posture_client: FlaskClient) -> None:
    text = posture_client.get("/posture", headers={"Accept": "*/*"}).get_data(as_text=True)
    assert re.search(r"^FAIL +non-root-user +/proc/1/status Uid 0 0 0 0$", text, re.M)
    assert "  read-only-root: read_only: true | --read-only | " in text
    assert "CIS 5.14 The 'on-failure' restart policy is set to 5:" in text
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = posture_client.get("/posture", headers={"Accept": browser})
    assert page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"].startswith(
        "default-src 'none'; style-src 'sha256-"
    )
    html = page.get_data(as_text=True)
    assert "<script" not in html
    assert "<code>--read-only</code>" in html
    assert posture_client.get("/", headers={"Accept": browser}).mimetype == "text/plain"


def test_html_evidence_wraps_only_at_spaces_and_separators() -> None:
    # "/proc/ kcore" no more: a path breaks before its separators, never after one
    assert breakable("/proc/1/status Uid 10001 10001") == (
        "/proc<wbr>/1<wbr>/status Uid 10001 10001"
    )
    assert breakable("ro (host /etc)") == "ro (host /etc)"
    assert breakable("a <b>,c") == "a &lt;b&gt;,<wbr>c"


def test_no_environment_value_leaks(
    posture_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t-value-7781")
    for view in ("text", "json", "html"):
        assert b"s3cr3t-value-7781" not in posture_client.get(f"/posture?format={view}").data


def test_json_view_matches_the_openapi_schema(posture_client: FlaskClient) -> None:
    openapi = json.loads((ROOT / "service" / "web" / "openapi.json").read_text())
    schema = {"$ref": "#/components/schemas/PostureReport", "components": openapi["components"]}
    Draft202012Validator(schema).validate(posture_client.get("/posture?format=json").get_json())


def test_host_mounts_a_host_bind_carries_count_as_its_own(tmp_path: Path) -> None:
    # Docker binds recursively: the host's own mounts come along beneath /host
    container = Container(mounts=[
        ("/host", "/", "ext4", "ro"),
        ("/host/proc", "/", "proc", "rw"),
        ("/host/run/docker.sock", "/run/docker.sock", "ext4", "rw"),
        ("/host/sys/fs/cgroup/memory", "/", "cgroup", "rw"),
    ])  # fmt: skip
    assert failed_required(tmp_path, container) == {"no-sensitive-host-mounts", "no-runtime-socket"}
    assert evidence(tmp_path, container, "no-sensitive-host-mounts").endswith(
        "host paths: /host (host /, ro, 3 host mounts beneath, 3 writable)"
    )
    assert evidence(tmp_path, container, "no-runtime-socket").endswith(
        "Docker's socket at /host/run/docker.sock (beneath /host, bound from the host)"
    )
    assert verdicts(tmp_path, container)["cgroup-read-only"] == "pass"


def test_the_engines_init_and_embedded_dns_are_not_findings(tmp_path: Path) -> None:
    container = Container(init=True, mounts=[
        ("/sbin/docker-init", "/usr/bin/tini-static", "ext4", "ro"),
    ])  # fmt: skip
    root = build(tmp_path, container)
    dns = "   9: 0B00007F:A4B1 00000000:0000 0A 00000000:00000000 00:00000000\n"
    write(root, "/proc/net/tcp", (root / "proc/net/tcp").read_text() + dns)
    report = report_of(root, container)
    assert {check.id for check in report.checks if check.status != "pass"} == {"user-namespace"}


def sample_verdicts(tmp_path: Path, sample: str) -> dict[str, tuple[str, str]]:
    """The verdicts with a real container's mountinfo (tests/samples) as the server's."""
    root = build(tmp_path, Container())
    write(root, "/proc/1/mountinfo", (SAMPLES / sample).read_text())
    return {
        check.id: (check.status, check.evidence) for check in report_of(root, Container()).checks
    }


def test_a_hardened_containers_real_mountinfo_has_no_other_writable_mount(tmp_path: Path) -> None:
    # Docker's masks bind /dev/null from the container's own /dev: not a host path
    result = sample_verdicts(tmp_path, "mountinfo-hardened.txt")
    for check_id in ("no-other-writable-mounts", "no-sensitive-host-mounts", "no-runtime-socket"):
        assert result[check_id][0] == "pass", result[check_id]
    assert "/proc masked: /proc/keys, /proc/timer_list" in result["not-privileged"][1]


@pytest.mark.parametrize(
    ("sample", "point"),
    [
        # the host's /run on its root filesystem (Debian 12 here)
        ("mountinfo-docker-socket-ext4.txt", "/run/docker.sock"),
        # the socket from a tmpfs, as /run is on a systemd host (Debian 13, Ubuntu)
        ("mountinfo-docker-socket-tmpfs.txt", "/run/docker.sock"),
        # a nested engine (Debian 13's, in a container): the outer container's /run on
        # its overlay, and the engine's own files in a volume of the outer engine
        ("mountinfo-docker-socket-nested.txt", "/var/run/docker.sock"),
    ],
)
def test_a_docker_socket_is_a_writable_bind_whatever_filesystem_it_comes_from(
    tmp_path: Path, sample: str, point: str
) -> None:
    result = sample_verdicts(tmp_path, sample)
    assert result["no-runtime-socket"][0] == "fail"
    assert result["no-other-writable-mounts"] == (
        "fail",
        f"/proc/1/mountinfo writable: {point}",
    )
    assert result["no-sensitive-host-mounts"][0] == "pass"


def test_the_writable_mounts_a_read_only_bind_carries_are_counted(tmp_path: Path) -> None:
    # -v /var/lib/docker:/x:ro brings every other container's root along, writable
    status, found = sample_verdicts(tmp_path, "mountinfo-var-lib-docker-ro.txt")[
        "no-other-writable-mounts"
    ]
    assert (status, found) == ("fail", "/proc/1/mountinfo writable: 8 beneath /x")


def test_a_writable_tmpfs_that_allows_exec_is_counted(tmp_path: Path) -> None:
    # --read-only --tmpfs /tmp:exec: a place to write a program and run it
    result = sample_verdicts(tmp_path, "mountinfo-tmpfs-exec.txt")
    assert result["no-other-writable-mounts"] == (
        "fail",
        "/proc/1/mountinfo writable: /tmp (tmpfs, exec)",
    )
