"""Which mounts show a host path, and which the host brought along beneath a bind.

A mount is judged by where it lands and what it carries, not by the type of the
host's filesystem: a bind of a file from a host tmpfs (`/run/docker.sock` on a
systemd host) is a bind as much as one from ext4 or from an overlay.
"""

import re
from dataclasses import dataclass

from service.procfs.mounts import Mount

# the files the engine or the kubelet mount into every container, from their own folders
MANAGED_FILES = {
    "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/termination-log",
}  # fmt: skip
# the engine's folder for a container's files, wherever its data root lies (a nested
# engine's is often a volume of the outer one), and the kubelet's
MANAGED_ROOT = re.compile(r"(^|/)containers/[0-9a-f]{8,64}/[^/]+$|^/var/lib/kubelet/pods/")
# where the engine mounts its init (tini) for `docker run --init`, read-only
INIT_POINTS = {"/sbin/docker-init", "/usr/sbin/docker-init", "/dev/init"}
# where a container has a kernel filesystem of its own: not a host path
OWN_KERNEL_MOUNTS = {
    "proc": "/proc", "sysfs": "/sys", "devtmpfs": "/dev", "cgroup": "/sys/fs/cgroup",
    "cgroup2": "/sys/fs/cgroup",
}  # fmt: skip
# the kernel's own views, which hold no host path wherever they are mounted
KERNEL_VIEWS = {
    "devpts", "mqueue", "securityfs", "nsfs", "bpf", "debugfs", "tracefs", "fusectl",
    "pstore", "configfs", "hugetlbfs",
}  # fmt: skip
# gVisor's gofer: every file it passes from the host is a 9p mount whose root is "/",
# whatever host path it came from
GOFER_FILESYSTEM = "9p"
HIDDEN = "(a host path gVisor does not show)"
# filesystems in memory: one mounted whole is the container's own (a host tmpfs bound
# whole cannot be told from it: a known limit); a part of one is a bind
MEMORY_FILESYSTEMS = {"tmpfs", "shm", "ramfs"}


def whole_memory_devices(mounts: list[Mount]) -> frozenset[str]:
    """The devices of the memory filesystems mounted whole: the container's own."""
    return frozenset(mount.device for mount in mounts
                     if mount.filesystem in MEMORY_FILESYSTEMS and mount.root == "/")  # fmt: skip


def host_path(mount: Mount, own_devices: frozenset[str], gvisor: bool = False) -> str | None:
    """The host path `mount` shows, or None when it is the container's own; under
    gVisor, HIDDEN for what its gofer passes in, but for the engine's own files.

    That is the mount's root field: the path within its source filesystem, which
    is the host's path when the host folder lies on the host's root filesystem.
    A file bound from the container's own tmpfs (one of `own_devices`: Docker masks
    `/proc/kcore` with its `/dev/null`) is the container's own too.
    """
    if mount.point == "/" or mount.filesystem in KERNEL_VIEWS:
        return None
    if mount.filesystem in OWN_KERNEL_MOUNTS:
        own = OWN_KERNEL_MOUNTS[mount.filesystem]
        if mount.point == own or mount.point.startswith(own + "/"):
            return None
        return own + mount.root.rstrip("/") if mount.root != "/" else own
    if mount.filesystem in MEMORY_FILESYSTEMS and (
        mount.root == "/" or mount.device in own_devices
    ):
        return None
    if mount.point in MANAGED_FILES and MANAGED_ROOT.search(mount.root):
        return None
    if gvisor and mount.filesystem == GOFER_FILESYSTEM:
        return None if mount.point in MANAGED_FILES else HIDDEN
    if mount.point in INIT_POINTS and not mount.writable:
        return None
    return mount.root


@dataclass(frozen=True)
class OwnMounts:
    """The container's own mounts, the host path each bind shows, and for each bind
    the host mounts it carried."""

    own: list[Mount]
    binds: dict[str, str]
    carried: dict[str, list[Mount]]


def own_mounts(mounts: list[Mount], gvisor: bool = False) -> OwnMounts:
    """Split `mounts`: a bind mount of a host folder brings the host's mounts beneath it
    along (Docker binds recursively); those describe the host, and count as the bind's."""
    devices = whole_memory_devices(mounts)
    binds = {mount.point: path for mount in mounts
             if (path := host_path(mount, devices, gvisor)) is not None}  # fmt: skip
    own: list[Mount] = []
    carried: dict[str, list[Mount]] = {point: [] for point in binds}
    for mount in mounts:
        parent = next((point for point in binds
                       if mount.point.startswith(point.rstrip("/") + "/")), None)  # fmt: skip
        (carried[parent] if parent else own).append(mount)
    own_binds = {mount.point: binds[mount.point] for mount in own if mount.point in binds}
    return OwnMounts(own, own_binds, carried)
