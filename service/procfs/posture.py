"""The container's security posture, as checks with evidence, read from inside.

Every check reads files the container itself can read, under a root that tests can
move (POSTURE_ROOT), and reports `pass`, `fail`, or `unknown` when its evidence
cannot be read. Evidence names the file and the value read, never more: no other
file contents and no environment variable goes into a report.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from service.procfs.capabilities import beyond_docker_default

CIS = "CIS Docker Benchmark v1.6"
PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
OWASP_URL = "https://cheatsheetseries.owasp.org/cheatsheets/Docker_Security_Cheat_Sheet.html"
CIS_URL = "https://www.cisecurity.org/benchmark/docker"
# a v1 memory limit this high is the kernel's "no limit" (PAGE_COUNTER_MAX pages)
V1_UNLIMITED = 2**62
DOCKER_SOCKETS = ("var/run/docker.sock", "run/docker.sock")
SERVICE_ACCOUNT_TOKEN_PATH = "var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105
# mounts Docker itself makes writable in every container
DOCKER_MANAGED = {"/dev/shm", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}  # noqa: S108
PSEUDO_FILESYSTEMS = {
    "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "tmpfs", "devtmpfs", "securityfs",
}  # fmt: skip


@dataclass
class Check:
    id: str
    title: str
    status: str
    evidence: str
    reference: str
    reference_url: str
    required: bool


class Unreadable(Exception):
    """The evidence for a check could not be read; the message says which and why."""


@dataclass
class Host:
    """Files of the container, read under `root` (`/` in production)."""

    root: Path

    def read(self, path: str) -> str:
        try:
            return (self.root / path.lstrip("/")).read_text()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise Unreadable(f"{path}: {reason}") from None

    def exists(self, path: str) -> bool:
        return (self.root / path.lstrip("/")).exists()

    def status_field(self, key: str) -> str:
        for line in self.read("/proc/1/status").splitlines():
            name, _, value = line.partition(":")
            if name == key:
                return value.strip()
        raise Unreadable(f"/proc/1/status has no {key} line")

    def mounts(self) -> list[tuple[str, str, str]]:
        """(mount point, options, filesystem type) for each line of /proc/1/mountinfo."""
        found = []
        for line in self.read("/proc/1/mountinfo").splitlines():
            fields = line.split()
            if " - " not in line or len(fields) < 7:
                continue
            after = line.split(" - ", 1)[1].split()
            found.append((fields[4], fields[5], after[0] if after else ""))
        return found

    def cgroup_v2(self) -> bool:
        return self.exists("/sys/fs/cgroup/cgroup.controllers")


Verdict = tuple[bool, str]


def non_root_user(host: Host) -> Verdict:
    uid = host.status_field("Uid")
    return uid.split()[1] != "0", f"/proc/1/status Uid {' '.join(uid.split())}"


def capabilities_within_default(host: Host) -> Verdict:
    mask = host.status_field("CapEff")
    extras = beyond_docker_default(int(mask, 16))
    beyond = f" beyond Docker's default: {', '.join(extras)}" if extras else ""
    return not extras, f"/proc/1/status CapEff {mask}{beyond}"


def no_capabilities(host: Host) -> Verdict:
    mask = host.status_field("CapEff")
    return int(mask, 16) == 0, f"/proc/1/status CapEff {mask}"


def no_new_privileges(host: Host) -> Verdict:
    value = host.status_field("NoNewPrivs")
    return value == "1", f"/proc/1/status NoNewPrivs {value}"


def seccomp_filter(host: Host) -> Verdict:
    value = host.status_field("Seccomp")
    return value == "2", f"/proc/1/status Seccomp {value}"


def read_only_root(host: Host) -> Verdict:
    for point, options, _ in host.mounts():
        if point == "/":
            return "ro" in options.split(","), f"/proc/1/mountinfo / {options}"
    raise Unreadable("/proc/1/mountinfo has no / mount")


def cgroup_value(host: Host, v1: str, v2: str) -> tuple[str, str]:
    path = f"/sys/fs/cgroup/{v2}" if host.cgroup_v2() else f"/sys/fs/cgroup/{v1}"
    return path, host.read(path).strip()


def memory_limit(host: Host) -> Verdict:
    path, value = cgroup_value(host, "memory/memory.limit_in_bytes", "memory.max")
    limited = value != "max" and int(value) < V1_UNLIMITED
    return limited, f"{path} {value}"


def cpu_limit(host: Host) -> Verdict:
    if host.cgroup_v2():
        path, value = cgroup_value(host, "", "cpu.max")
        quota, _, period = value.partition(" ")
        evidence = f"{path} {value}"
    else:
        folder = "cpu,cpuacct" if host.exists("/sys/fs/cgroup/cpu,cpuacct") else "cpu"
        quota_path = f"/sys/fs/cgroup/{folder}/cpu.cfs_quota_us"
        period_path = f"/sys/fs/cgroup/{folder}/cpu.cfs_period_us"
        quota = host.read(quota_path).strip()
        period = host.read(period_path).strip()
        evidence = f"{quota_path} {quota}, {period_path} {period}"
    if quota in ("max", "-1"):
        return False, evidence
    return True, f"{evidence} ({int(quota) / int(period):g} CPUs)"


def pids_limit(host: Host) -> Verdict:
    path, value = cgroup_value(host, "pids/pids.max", "pids.max")
    return value != "max" and int(value) >= 0, f"{path} {value}"


def no_docker_socket(host: Host) -> Verdict:
    mounted = [point for point, _, _ in host.mounts() if point.endswith("docker.sock")]
    present = ["/" + path for path in DOCKER_SOCKETS if host.exists(path)]
    found = sorted(set(mounted) | set(present))
    if found:
        return False, f"docker.sock at {', '.join(found)}"
    return True, "/proc/1/mountinfo: no docker.sock; none at /var/run or /run"


def user_namespace(host: Host) -> Verdict:
    first = host.read("/proc/self/uid_map").split()
    # "0 0 4294967295": UID 0 inside is UID 0 outside, no user namespace
    return first[:2] != ["0", "0"], f"/proc/self/uid_map {' '.join(first[:3])}"


def security_module_profile(host: Host) -> Verdict:
    label = host.read("/proc/1/attr/current").strip("\x00\n ")
    return bool(label) and label != "unconfined", f"/proc/1/attr/current {label or '(empty)'}"


def no_service_account_token(host: Host) -> Verdict:
    if host.exists(SERVICE_ACCOUNT_TOKEN_PATH):
        return False, f"/{SERVICE_ACCOUNT_TOKEN_PATH} exists"
    return True, f"/{SERVICE_ACCOUNT_TOKEN_PATH} absent"


def no_other_writable_mounts(host: Host) -> Verdict:
    writable = [
        point
        for point, options, kind in host.mounts()
        if "rw" in options.split(",")
        and point not in DOCKER_MANAGED
        and point != "/"
        and kind not in PSEUDO_FILESYSTEMS
    ]
    if writable:
        return False, f"/proc/1/mountinfo writable: {', '.join(sorted(writable))}"
    return True, "/proc/1/mountinfo: no writable mount beyond / and Docker's own"


@dataclass
class Rule:
    id: str
    title: str
    reference: str
    url: str
    decide: Callable[[Host], Verdict]
    required: bool = True


RULES = (
    Rule("non-root-user", "PID 1 runs as a user other than root",
         f"{CIS} 4.1; PSS restricted: Running as Non-root user", PSS_URL, non_root_user),
    Rule("no-capabilities-beyond-default", "No capability beyond Docker's default set",
         f"{CIS} 5.3; OWASP Docker rule #3", OWASP_URL, capabilities_within_default),
    Rule("no-new-privileges", "Processes cannot gain privileges (no_new_privs)",
         f"{CIS} 5.25; OWASP Docker rule #4", OWASP_URL, no_new_privileges),
    Rule("seccomp-filter", "A seccomp filter confines system calls",
         f"{CIS} 5.21; PSS restricted: Seccomp", PSS_URL, seccomp_filter),
    Rule("read-only-root", "The root filesystem is mounted read-only",
         f"{CIS} 5.12; OWASP Docker rule #8", OWASP_URL, read_only_root),
    Rule("memory-limit", "Memory is limited in the container's cgroup",
         f"{CIS} 5.10; OWASP Docker rule #7", OWASP_URL, memory_limit),
    Rule("cpu-limit", "CPU is limited in the container's cgroup",
         f"{CIS} 5.11; OWASP Docker rule #7", OWASP_URL, cpu_limit),
    Rule("pids-limit", "The number of processes is limited in the container's cgroup",
         f"{CIS} 5.28; OWASP Docker rule #7", OWASP_URL, pids_limit),
    Rule("no-docker-socket", "The Docker socket is not mounted",
         f"{CIS} 5.31; OWASP Docker rule #1", OWASP_URL, no_docker_socket),
    Rule("no-capabilities", "No effective capabilities at all (better than the default)",
         f"{CIS} 5.3; PSS restricted: Capabilities", PSS_URL, no_capabilities, False),
    Rule("user-namespace", "Root inside is not root outside (a user namespace)",
         "OWASP Docker rule #2", OWASP_URL, user_namespace, False),
    Rule("security-module-profile", "An AppArmor or SELinux profile confines PID 1",
         f"{CIS} 5.1, 5.2", CIS_URL, security_module_profile, False),
    Rule("no-service-account-token", "No Kubernetes service-account token is mounted",
         "PSS and Kubernetes: automountServiceAccountToken", PSS_URL, no_service_account_token,
         False),
    Rule("no-other-writable-mounts", "No writable mount beyond Docker's own",
         f"{CIS} 5.5, 5.12", CIS_URL, no_other_writable_mounts, False),
)  # fmt: skip


def run_check(rule: Rule, host: Host) -> Check:
    try:
        passed, evidence = rule.decide(host)
        status = "pass" if passed else "fail"
    except Unreadable as error:
        status, evidence = "unknown", str(error)
    except (ValueError, IndexError):
        status, evidence = "unknown", "the file could not be parsed"
    return Check(rule.id, rule.title, status, evidence, rule.reference, rule.url, rule.required)


def assess(root: Path) -> dict[str, object]:
    """Every check, in order, and how many passed, failed or could not tell."""
    host = Host(root)
    checks = [run_check(rule, host) for rule in RULES]
    summary = {status: sum(check.status == status for check in checks) for status in
               ("pass", "fail", "unknown")}  # fmt: skip
    return {"checks": [asdict(check) for check in checks], "summary": summary}
