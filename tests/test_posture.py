"""The posture checks on fake /proc and /sys/fs/cgroup trees, for cgroup v1 and v2."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from service.procfs.posture import RULES, assess
from service.web.app import create_app

HARDENED_STATUS = (
    "Uid:\t10001\t10001\t10001\t10001\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
)
CARELESS_STATUS = "Uid:\t0\t0\t0\t0\nCapEff:\t00000000a80435fb\nNoNewPrivs:\t0\nSeccomp:\t2\n"
ROOT_MOUNT = "1 0 0:50 / / {options} - overlay overlay rw,lowerdir=/x\n"
SHM_MOUNT = "2 1 0:51 / /dev/shm rw,nosuid - tmpfs shm rw,size=16384k\n"
SOCKET_MOUNT = "3 1 8:1 /run/docker.sock /var/run/docker.sock rw - ext4 /dev/sda1 rw\n"
REQUIRED = [rule.id for rule in RULES if rule.required]


def write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def tree(
    root: Path,
    cgroup: str = "v2",
    status: str = HARDENED_STATUS,
    root_options: str = "ro,relatime",
    limited: bool = True,
    socket: bool = False,
) -> Path:
    write(root, "/proc/1/status", status)
    write(root, "/proc/1/mountinfo", ROOT_MOUNT.format(options=root_options) + SHM_MOUNT
          + (SOCKET_MOUNT if socket else ""))  # fmt: skip
    write(root, "/proc/self/uid_map", "         0          0 4294967295\n")
    write(root, "/proc/1/attr/current", "docker-default (enforce)\n")
    if cgroup == "v2":
        write(root, "/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n")
        write(root, "/sys/fs/cgroup/memory.max", "268435456\n" if limited else "max\n")
        write(root, "/sys/fs/cgroup/cpu.max", "200000 100000\n" if limited else "max 100000\n")
        write(root, "/sys/fs/cgroup/pids.max", "128\n" if limited else "max\n")
    else:
        write(root, "/sys/fs/cgroup/memory/memory.limit_in_bytes",
              "268435456\n" if limited else "9223372036854771712\n")  # fmt: skip
        write(
            root, "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n" if limited else "-1\n"
        )
        write(root, "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
        write(root, "/sys/fs/cgroup/pids/pids.max", "128\n" if limited else "max\n")
    return root


def statuses(root: Path) -> dict[str, str]:
    report: Any = assess(root)
    return {check["id"]: check["status"] for check in report["checks"]}


def evidence(root: Path, check_id: str) -> str:
    report: Any = assess(root)
    (found,) = [check["evidence"] for check in report["checks"] if check["id"] == check_id]
    return str(found)


@pytest.mark.parametrize("cgroup", ["v1", "v2"])
def test_a_hardened_container_passes_every_required_check(tmp_path: Path, cgroup: str) -> None:
    root = tree(tmp_path, cgroup)
    assert {key: statuses(root)[key] for key in REQUIRED} == dict.fromkeys(REQUIRED, "pass")
    assert "268435456" in evidence(root, "memory-limit")
    assert "(2 CPUs)" in evidence(root, "cpu-limit")
    assert evidence(root, "pids-limit").endswith(" 128")


@pytest.mark.parametrize("cgroup", ["v1", "v2"])
def test_a_careless_container_fails_exactly_what_it_should(tmp_path: Path, cgroup: str) -> None:
    root = tree(tmp_path, cgroup, CARELESS_STATUS, "rw,relatime", limited=False)
    failed = {key for key, status in statuses(root).items() if status == "fail"}
    assert failed & set(REQUIRED) == {
        "non-root-user", "no-capabilities-beyond-default", "no-new-privileges", "read-only-root",
        "memory-limit", "cpu-limit", "pids-limit",
    }  # fmt: skip
    assert evidence(root, "no-capabilities-beyond-default").endswith(": CAP_NET_ADMIN")


def test_a_mounted_docker_socket_fails(tmp_path: Path) -> None:
    root = tree(tmp_path, socket=True)
    assert statuses(root)["no-docker-socket"] == "fail"
    assert "/var/run/docker.sock" in evidence(root, "no-docker-socket")


def test_a_socket_at_the_usual_path_fails(tmp_path: Path) -> None:
    root = tree(tmp_path)
    write(root, "/run/docker.sock", "")
    assert statuses(root)["no-docker-socket"] == "fail"


@pytest.mark.parametrize(
    ("unreadable", "check_id"),
    [
        ("/proc/1/status", "non-root-user"),
        ("/proc/1/mountinfo", "read-only-root"),
        ("/sys/fs/cgroup/memory.max", "memory-limit"),
        ("/sys/fs/cgroup/cpu.max", "cpu-limit"),
        ("/sys/fs/cgroup/pids.max", "pids-limit"),
        ("/proc/1/attr/current", "security-module-profile"),
    ],
)
def test_unreadable_evidence_is_unknown(tmp_path: Path, unreadable: str, check_id: str) -> None:
    root = tree(tmp_path)
    path = root / unreadable.lstrip("/")
    # a directory where the file should be: unreadable even for root, who ignores modes
    path.unlink()
    path.mkdir()
    assert statuses(root)[check_id] == "unknown"
    assert unreadable in evidence(root, check_id)


def test_garbage_evidence_is_unknown(tmp_path: Path) -> None:
    root = tree(tmp_path)
    write(root, "/sys/fs/cgroup/pids.max", "lots\n")
    write(root, "/proc/1/status", "Uid:\t\nCapEff:\tzz\n")
    result = statuses(root)
    assert result["pids-limit"] == "unknown"
    assert result["non-root-user"] == "unknown"
    assert result["no-capabilities-beyond-default"] == "unknown"


@pytest.fixture
def posture_client(tmp_path: Path) -> FlaskClient:
    root = tree(tmp_path / "host", "v1", CARELESS_STATUS, "rw", limited=False)
    return create_app({"TESTING": True, "POSTURE_ROOT": str(root)}).test_client()


def test_json_view_has_checks_and_summary(posture_client: FlaskClient) -> None:
    document = posture_client.get("/posture?format=json").get_json()
    assert [check["id"] for check in document["checks"]] == [rule.id for rule in RULES]
    assert set(document["checks"][0]) >= {"id", "title", "status", "evidence", "reference"}
    counts = document["summary"]
    assert counts["pass"] + counts["fail"] + counts["unknown"] == len(RULES)


def test_text_is_the_default_and_html_goes_to_browsers(posture_client: FlaskClient) -> None:
    text = posture_client.get("/posture", headers={"Accept": "*/*"})
    assert text.mimetype == "text/plain"
    assert re.search(
        r"^FAIL +non-root-user +/proc/1/status Uid 0 0 0 0$", text.get_data(as_text=True), re.M
    )
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = posture_client.get("/posture", headers={"Accept": browser})
    assert page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"].startswith(
        "default-src 'none'; style-src 'sha256-"
    )
    assert "<script" not in page.get_data(as_text=True)
    assert posture_client.get("/", headers={"Accept": browser}).mimetype == "text/plain"


def test_no_environment_value_leaks(
    posture_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t-value-7781")
    for view in ("text", "json", "html"):
        assert b"s3cr3t-value-7781" not in posture_client.get(f"/posture?format={view}").data


def test_json_view_matches_the_openapi_schema(posture_client: FlaskClient) -> None:
    openapi = json.loads(
        (Path(__file__).parents[1] / "service" / "web" / "openapi.json").read_text()
    )
    schema = {"$ref": "#/components/schemas/PostureReport", "components": openapi["components"]}
    Draft202012Validator(schema).validate(posture_client.get("/posture?format=json").get_json())
