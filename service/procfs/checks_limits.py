"""Checks of the container's cgroup limits, on cgroup v1 and v2, and as gVisor shows them.

The files are read in the server's own cgroup, at the path /proc/<pid>/cgroup names
beneath its controller's mount: with its own cgroup namespace that is the mount
itself; with the host's (`--cgroupns=host`) it is deep in the host's tree.
"""

from service.procfs.host import Host, Unreadable
from service.procfs.rules import CIS, OWASP_URL, Remedy, Verdict, rule

# a v1 memory limit this high is the kernel's "no limit" (PAGE_COUNTER_MAX pages)
V1_UNLIMITED = 2**62
KIB = 1024
MIB = 1024 * KIB
# gVisor's cgroupfs is its own kernel's: a limit shown there is one gVisor keeps, but
# none shown is not the host's word (Debian 13's runsc shows none under --cpus 2)
GVISOR_OWN_CGROUPS = (
    "gVisor's own cgroup shows no limit; the host's limit on the sandbox cannot be seen"
)


def server_cgroup(host: Host, controller: str) -> str | None:
    """The server's cgroup for `controller` ("" on v2), as /proc/<pid>/cgroup names it."""
    try:
        lines = host.read(f"/proc/{host.server_pid}/cgroup").splitlines()
    except Unreadable:
        return None
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if controller in controllers.split(",") or controllers == controller:
            return path
    return None


def cgroup_file(host: Host, folder: str, name: str) -> str:
    """Where file `name` of the server's cgroup is: beneath the mount at
    /sys/fs/cgroup/`folder` ("" on v2), the server's cgroup less the mount's root."""
    point = f"/sys/fs/cgroup/{folder}".rstrip("/")
    controller = folder.split(",")[0]
    own = server_cgroup(host, controller)
    mount = next((mount for mount in host.mounts if mount.point == point), None)
    if own is None or mount is None or mount.filesystem not in ("cgroup", "cgroup2"):
        return f"{point}/{name}"
    base = mount.root.rstrip("/")
    if own != base and not own.startswith(base + "/"):
        # a cgroup outside the mount's view ("/.." beneath a namespace's root)
        return f"{point}/{name}"
    below = own[len(base) :].strip("/")
    return f"{point}/{below}/{name}" if below else f"{point}/{name}"


def cgroup_value(host: Host, v1: str, v2: str) -> tuple[str, str]:
    folder, _, name = ("", "", v2) if host.cgroup_v2() else v1.rpartition("/")
    path = cgroup_file(host, folder, name)
    return path, host.read(path).strip()


def gvisor_memory_given(host: Host) -> tuple[str, int]:
    """Where gVisor shows the memory it was given, and how many bytes: its own cgroupfs
    where that shows a number, else MemTotal (Debian 13's runsc shows "max" there)."""
    try:
        path, value = cgroup_value(host, "memory/memory.limit_in_bytes", "memory.max")
        if value.isdigit() and int(value) < V1_UNLIMITED:
            return path, int(value)
    except Unreadable:
        pass
    line = next(line for line in host.read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:"))  # fmt: skip
    return "/proc/meminfo MemTotal", int(line.split()[1]) * KIB


def gvisor_memory(host: Host) -> Verdict:
    """gVisor is given min(the limit, the host's memory) (runsc/sandbox: --total-memory)
    and shows it as MemTotal, and in its own cgroupfs where it has one: a limit is told
    from the host's total by being a whole number of MiB, as limits are written."""
    path, total = gvisor_memory_given(host)
    evidence = f"gVisor: {path} {total // KIB} kB, the memory gVisor was given"
    if total % MIB:
        raise Unreadable(f"{evidence}: not a whole number of MiB, so most likely the host's "
                         "memory and no limit; a limit cannot be told from it")  # fmt: skip
    return True, f"{evidence} ({total // MIB} MiB: a limit, not the host's total)"


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
    if host.runtime.gvisor:
        return gvisor_memory(host)
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
    if host.runtime.gvisor and not host.exists("/sys/fs/cgroup/cpu"):
        online = host.read("/sys/devices/system/cpu/online").strip()
        raise Unreadable(
            f"gVisor: /sys/devices/system/cpu/online {online}: the host's CPUs, or the quota "
            "rounded up (at least 2); the quota itself it does not show"
        )
    if host.cgroup_v2():
        path, value = cgroup_value(host, "", "cpu.max")
        quota, _, period = value.partition(" ")
        evidence = f"{path} {value}"
    else:
        folder = "cpu,cpuacct" if host.exists("/sys/fs/cgroup/cpu,cpuacct") else "cpu"
        quota_path = cgroup_file(host, folder, "cpu.cfs_quota_us")
        period_path = cgroup_file(host, folder, "cpu.cfs_period_us")
        quota = host.read(quota_path).strip()
        period = host.read(period_path).strip()
        evidence = f"{quota_path} {quota}, {period_path} {period}"
    if quota in ("max", "-1"):
        if host.runtime.gvisor:
            raise Unreadable(f"gVisor: {evidence}: {GVISOR_OWN_CGROUPS}")
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
    if host.runtime.gvisor and not host.exists("/sys/fs/cgroup/pids"):
        raise Unreadable("gVisor: no cgroup files; the host's pids limit counts gVisor's own "
                         "threads, which cannot be seen from inside")  # fmt: skip
    path, value = cgroup_value(host, "pids/pids.max", "pids.max")
    limited = value != "max" and int(value) >= 0
    if not limited and host.runtime.gvisor:
        raise Unreadable(f"gVisor: {path} {value}: {GVISOR_OWN_CGROUPS}")
    return limited, f"{path} {value}"
