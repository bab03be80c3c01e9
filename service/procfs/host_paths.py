"""Which mounts show a host path, and which the host brought along beneath a bind."""

from dataclasses import dataclass

from service.procfs.mounts import Mount

# the files the engine or the kubelet mount into every container, from their own folders
MANAGED_FILES = {
    "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/termination-log",
}  # fmt: skip
MANAGED_FOLDERS = ("/var/lib/docker/containers/", "/var/lib/kubelet/pods/")
# where the engine mounts its init (tini) for `docker run --init`, read-only
INIT_POINTS = {"/sbin/docker-init", "/usr/sbin/docker-init", "/dev/init"}
# where a container has a kernel filesystem of its own: not a host path
OWN_KERNEL_MOUNTS = {"proc": "/proc", "sysfs": "/sys", "devtmpfs": "/dev"}
# filesystems that hold no host path: memory and the kernel's own views (a host's
# tmpfs, such as /run, cannot be told from the container's own: a known limit)
NO_HOST_PATH = {
    "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "securityfs", "shm",
    "nsfs", "bpf", "debugfs", "tracefs", "fusectl", "pstore", "configfs", "hugetlbfs",
}  # fmt: skip


def host_path(mount: Mount) -> str | None:
    """The host path `mount` shows, or None when it is the container's own.

    That is the mount's root field: the path within its source filesystem, which
    is the host's path when the host folder lies on the host's root filesystem.
    """
    if mount.filesystem in NO_HOST_PATH or mount.point == "/":
        return None
    if mount.filesystem in OWN_KERNEL_MOUNTS:
        own = OWN_KERNEL_MOUNTS[mount.filesystem]
        if mount.point == own or mount.point.startswith(own + "/"):
            return None
        return own + mount.root.rstrip("/") if mount.root != "/" else own
    if mount.point in MANAGED_FILES and mount.root.startswith(MANAGED_FOLDERS):
        return None
    if mount.point in INIT_POINTS and not mount.writable:
        return None
    return mount.root


@dataclass(frozen=True)
class OwnMounts:
    """The container's own mounts, and for each host-path mount the host mounts it carried."""

    own: list[Mount]
    carried: dict[str, list[Mount]]


def own_mounts(mounts: list[Mount]) -> OwnMounts:
    """Split `mounts`: a bind mount of a host folder brings the host's mounts beneath it
    along (Docker binds recursively); those describe the host, and count as the bind's."""
    roots = [mount.point for mount in mounts if host_path(mount) is not None]
    own: list[Mount] = []
    carried: dict[str, list[Mount]] = {root: [] for root in roots}
    for mount in mounts:
        parent = next((root for root in roots if mount.point.startswith(root.rstrip("/") + "/")),
                      None)  # fmt: skip
        (carried[parent] if parent else own).append(mount)
    return OwnMounts(own, carried)
