"""Fake /proc, /sys and /dev trees of a container, as each misconfiguration leaves them.

A `Container` says how the container was run; `build` writes the files the
posture checks read, as the kernel and the engine would have made them.
"""

from dataclasses import dataclass, field
from pathlib import Path

from service.procfs.self_probes import Probes

# CAP_LAST_CAP 40 (CAP_CHECKPOINT_RESTORE): every capability is 41 bits
EVERY_CAPABILITY = "000001ffffffffff"
DOCKER_DEFAULT = "00000000a80425fb"
NONE = "0000000000000000"
DEFAULT_DEV = ["console", "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random",
               "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"]  # fmt: skip
HOST_PID = 4242
CONTAINER_ID = "0123abcd" * 8
# the device number of the container's own /dev tmpfs, which Docker's masks bind from
DEV_DEVICE = "0:21"
SERVER_PORT = 9999


@dataclass
class Container:
    """How a container was run; the defaults are the hardened compose stack."""

    cgroup: str = "v2"
    # the host's cgroup namespace shared (--cgroupns=host): /proc/<pid>/cgroup names
    # the container's cgroup deep in the host's tree, where its limits are
    host_cgroupns: bool = False
    uid: int = 10001
    gid: int = 10001
    groups: list[int] = field(default_factory=lambda: [10001])
    effective: str = NONE
    bounding: str = NONE
    no_new_privs: int = 1
    seccomp: int = 2
    root_options: str = "ro,relatime"
    limited: bool = True
    host_pid: bool = False
    init: bool = False
    # another container's PID namespace joined (--pid=container:...), or a pod's shared one
    # (shareProcessNamespace: the pause container is PID 1, a sidecar beside the server)
    joined_pid: bool = False
    pod_shared_pid: bool = False
    # a process entered by exec (docker exec, a healthcheck): its parent is outside
    exec_process: bool = False
    privileged: bool = False
    host_network: bool = False
    # (mount point, root field, filesystem, options) of more mounts
    mounts: list[tuple[str, str, str, str]] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    listening: list[int] = field(default_factory=lambda: [SERVER_PORT])
    sshd: bool = False
    # a shell and a package manager in the image, as a Debian base has them
    shell: bool = False
    host_ipc: bool = False
    host_uts: bool = False
    # what the kernel answers the server's worker: prctl, and an unshare tried by a child
    user_namespace_allowed: bool = False

    @property
    def probes(self) -> Probes:
        answer = ((True, "unshare(CLONE_NEWUSER) succeeded") if self.user_namespace_allowed
                  else (False, "unshare(CLONE_NEWUSER) failed with EPERM"))  # fmt: skip
        return Probes(lambda: bool(self.no_new_privs), lambda: answer)

    @property
    def server_pid(self) -> int:
        if self.host_pid or self.joined_pid:
            return HOST_PID
        return 7 if self.init or self.pod_shared_pid else 1


def write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def status(name: str, pid: int, parent: int, container: Container | None = None) -> str:
    lines = [f"Name:\t{name}", f"Pid:\t{pid}", f"PPid:\t{parent}"]
    if container is not None:
        uid = container.uid
        permitted = container.effective
        gid = container.gid
        lines += [
            f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}",
            f"Gid:\t{gid}\t{gid}\t{gid}\t{gid}",
            f"Groups:\t{' '.join(str(group) for group in container.groups)} ",
            f"CapPrm:\t{permitted}",
            f"CapEff:\t{container.effective}",
            f"CapBnd:\t{container.bounding}",
            f"CapAmb:\t{NONE}",
            f"NoNewPrivs:\t{container.no_new_privs}",
            f"Seccomp:\t{container.seccomp}",
            f"Seccomp_filters:\t{1 if container.seccomp == 2 else 0}",
        ]
    return "\n".join(lines) + "\n"


def mountinfo(container: Container) -> str:
    ro = "rw" if container.privileged else "ro"
    mounts = [
        ("/", "/", "overlay", container.root_options),
        ("/proc", "/", "proc", "rw,nosuid"),
        ("/dev", "/", "tmpfs", "rw,nosuid"),
        ("/dev/shm", "/", "tmpfs", "rw,nosuid"),
        ("/sys", "/", "sysfs", f"{ro},nosuid"),
        ("/sys/fs/cgroup", "/", "cgroup2" if container.cgroup == "v2" else "tmpfs", f"{ro}"),
        ("/etc/hosts", f"/var/lib/docker/containers/{CONTAINER_ID}/hosts", "ext4", "rw,relatime"),
        (
            "/etc/resolv.conf",
            f"/var/lib/docker/containers/{CONTAINER_ID}/resolv.conf",
            "ext4",
            "rw",
        ),
    ]
    if container.cgroup == "v1":
        # with the host's cgroup namespace (Docker's default on v1), each controller's
        # mount shows the container's cgroup as its root
        shown = "/docker/0123abcd" if container.host_cgroupns else "/"
        mounts += [(f"/sys/fs/cgroup/{name}", shown, "cgroup", ro)
                   for name in ("memory", "cpu,cpuacct", "pids")]  # fmt: skip
    if not container.privileged:
        # the engine's read-only and masked paths, which privileged mode leaves out
        mounts += [("/proc/sys", "/sys", "proc", "ro,nosuid"),
                   ("/proc/sysrq-trigger", "/sysrq-trigger", "proc", "ro"),
                   ("/proc/kcore", "/null", "tmpfs", "rw")]  # fmt: skip
    mounts += container.mounts
    return "".join(
        f"{index} 1 {device(index, point, root)} {root} {point} {options} - {filesystem} src"
        f" {options}\n"
        for index, (point, root, filesystem, options) in enumerate(mounts, 20)
    )


def device(index: int, point: str, root: str) -> str:
    """A device number of its own for each mount, but for the masks bound from /dev/null."""
    return (
        DEV_DEVICE
        if point == "/dev" or (point.startswith("/proc/") and root == "/null")
        else f"0:{index + 100}"
    )


# the container's cgroup in the host's tree, as systemd's cgroup driver names it
HOST_CGROUP = f"/system.slice/docker-{CONTAINER_ID}.scope"


def cgroups(root: Path, container: Container) -> None:
    limited = container.limited
    if container.cgroup == "v2":
        # with the host's namespace, the root is the host's and the limits are deeper
        own = f"/sys/fs/cgroup{HOST_CGROUP}" if container.host_cgroupns else "/sys/fs/cgroup"
        write(root, f"/proc/{container.server_pid}/cgroup",
              f"0::{HOST_CGROUP if container.host_cgroupns else '/'}\n")  # fmt: skip
        write(root, "/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n")
        write(root, f"{own}/memory.max", "268435456\n" if limited else "max\n")
        write(root, f"{own}/cpu.max", "200000 100000\n" if limited else "max 100000\n")
        write(root, f"{own}/pids.max", "128\n" if limited else "max\n")
        if container.host_cgroupns:
            # the host's own root: no limit there
            write(root, "/sys/fs/cgroup/memory.max", "max\n")
        return
    path = "/docker/0123abcd" if container.host_cgroupns else "/"
    write(root, f"/proc/{container.server_pid}/cgroup",
          "".join(f"{index}:{name}:{path}\n"
                  for index, name in enumerate(("memory", "cpu,cpuacct", "pids"), 3)))  # fmt: skip
    write(root, "/sys/fs/cgroup/memory/memory.limit_in_bytes",
          "268435456\n" if limited else "9223372036854771712\n")  # fmt: skip
    write(root, "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n" if limited else "-1\n")
    write(root, "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    write(root, "/sys/fs/cgroup/pids/pids.max", "128\n" if limited else "max\n")


def processes(root: Path, container: Container) -> None:
    server = container.server_pid
    if container.host_pid:
        write(root, "/proc/1/status", status("systemd", 1, 0))
        write(root, "/proc/2/status", status("kthreadd", 2, 0))
        write(root, "/proc/4000/status", status("containerd-shim", 4000, 1))
        write(root, f"/proc/{server}/status", status("gunicorn", server, 4000, container))
    elif container.joined_pid:
        write(root, "/proc/1/status", status("server.bin", 1, 0))
        write(root, "/proc/12/status", status("server.bin", 12, 1))
        write(root, f"/proc/{server}/status", status("gunicorn", server, 0, container))
    elif container.init or container.pod_shared_pid:
        write(root, "/proc/1/status", status("pause" if container.pod_shared_pid else "docker-init",
                                             1, 0))  # fmt: skip
        write(root, f"/proc/{server}/status", status("gunicorn", server, 1, container))
        if container.pod_shared_pid:
            write(root, "/proc/30/status", status("envoy", 30, 1))
    else:
        write(root, "/proc/1/status", status("gunicorn", 1, 0, container))
    # a worker, as gunicorn forks them: the process that answers /posture
    write(root, f"/proc/{server + 1}/status", status("gunicorn", server + 1, server, container))
    (root / "proc" / "self").unlink(missing_ok=True)
    (root / "proc" / "self").symlink_to(str(server + 1))
    if container.exec_process:
        write(root, "/proc/90/status", status("python", 90, 0))
    if container.sshd:
        write(root, "/proc/300/status", status("sshd", 300, 1))
    write(root, f"/proc/{server}/mountinfo", mountinfo(container))
    write(root, f"/proc/{server}/environ", "PATH=/opt/venv/bin:/usr/bin:/bin\0LANG=C.UTF-8\0")
    write(root, "/opt/venv/bin/python", "")
    namespaces(root, container)
    if container.shell:
        for path in ("/usr/bin/dash", "/usr/bin/apt-get", "/bin/sh", "/opt/venv/bin/pip"):
            write(root, path, "")
    write(root, f"/proc/{server}/attr/current", "docker-default (enforce)\n")


def namespaces(root: Path, container: Container) -> None:
    """The server's IPC and UTS namespace links, and the hostnames the kernel and the
    engine give."""
    folder = root / "proc" / str(container.server_pid) / "ns"
    folder.mkdir(parents=True, exist_ok=True)
    links = {
        "ipc": "ipc:[4026531839]" if container.host_ipc else "ipc:[4026532301]",
        "uts": "uts:[4026531838]" if container.host_uts else "uts:[4026532300]",
        "cgroup": "cgroup:[4026531835]" if container.host_cgroupns else "cgroup:[4026532302]",
    }
    for name, target in links.items():
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(target)
    write(root, "/etc/hostname", "0123abcd0123\n")
    write(root, "/proc/sys/kernel/hostname", "host-7\n" if container.host_uts else "0123abcd0123\n")


def network(root: Path, container: Container) -> None:
    names = ["lo", "eth0"] + (["docker0", "veth1a2b3c"] if container.host_network else [])
    rows = "".join(f"{name:>6}: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n" for name in names)
    write(root, "/proc/net/dev", "Inter-|   Receive\n face |bytes\n" + rows)
    listeners = "".join(
        f"   {index}: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000\n"
        for index, port in enumerate(container.listening)
    )
    write(root, "/proc/net/tcp", "  sl  local_address rem_address   st\n" + listeners)
    write(root, "/proc/net/tcp6", "  sl  local_address rem_address   st\n")


def build(root: Path, container: Container) -> Path:
    """Write `container`'s tree under `root`; return `root`."""
    processes(root, container)
    network(root, container)
    cgroups(root, container)
    write(root, "/proc/self/uid_map", "         0          0 4294967295\n")
    write(root, "/proc/sys/kernel/cap_last_cap", "40\n")
    # the kernel's host-wide interfaces, root's and mode 0644 (sysrq-trigger 0200)
    for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
                 "/sys/kernel/uevent_helper", "/proc/sysrq-trigger"):  # fmt: skip
        write(root, path, "")
    devices = DEFAULT_DEV + container.devices
    if container.privileged:
        devices += ["sda", "sda1", "nvme0n1", "kmsg", "mem"]
    for name in devices:
        write(root, f"/dev/{name}", "")
    return root
