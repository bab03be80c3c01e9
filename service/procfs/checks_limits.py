"""Checks of the container's cgroup limits, on cgroup v1 and v2."""

from service.procfs.host import Host
from service.procfs.rules import CIS, OWASP_URL, Remedy, Verdict, rule

# a v1 memory limit this high is the kernel's "no limit" (PAGE_COUNTER_MAX pages)
V1_UNLIMITED = 2**62


def cgroup_value(host: Host, v1: str, v2: str) -> tuple[str, str]:
    path = f"/sys/fs/cgroup/{v2}" if host.cgroup_v2() else f"/sys/fs/cgroup/{v1}"
    return path, host.read(path).strip()


@rule(
    id="memory-limit",
    title="Memory is limited in the container's cgroup",
    reference=f"{CIS} 5.10; OWASP Docker rule #7",
    url=OWASP_URL,
    remedy=Remedy(
        compose="deploy.resources.limits.memory: 256M",
        docker_run="--memory 256m",
        kubernetes="resources.limits.memory: 256Mi",
    ),
)
def memory_limit(host: Host) -> Verdict:
    path, value = cgroup_value(host, "memory/memory.limit_in_bytes", "memory.max")
    limited = value != "max" and int(value) < V1_UNLIMITED
    return limited, f"{path} {value}"


@rule(
    id="cpu-limit",
    title="CPU is limited in the container's cgroup",
    reference=f"{CIS} 5.11; OWASP Docker rule #7",
    url=OWASP_URL,
    remedy=Remedy(
        compose='deploy.resources.limits.cpus: "2.0"',
        docker_run="--cpus 2",
        kubernetes='resources.limits.cpu: "2"',
    ),
)
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


@rule(
    id="pids-limit",
    title="The number of processes is limited in the container's cgroup",
    reference=f"{CIS} 5.28; OWASP Docker rule #7",
    url=OWASP_URL,
    remedy=Remedy(
        compose="deploy.resources.limits.pids: 128",
        docker_run="--pids-limit 128",
        kubernetes="the kubelet's podPidsLimit (no per-container field)",
    ),
)
def pids_limit(host: Host) -> Verdict:
    path, value = cgroup_value(host, "pids/pids.max", "pids.max")
    return value != "max" and int(value) >= 0, f"{path} {value}"
