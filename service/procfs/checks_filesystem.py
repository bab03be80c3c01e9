"""Checks of what the server's mount namespace and /dev hold."""

from service.procfs.evidence import listed
from service.procfs.host import Host, Unreadable
from service.procfs.host_paths import HIDDEN, MANAGED_FILES, MEMORY_FILESYSTEMS
from service.procfs.rules import CIS, CIS_URL, OWASP_URL, PSS_URL, Remedy, Verdict, rule
from service.procfs.runtime_paths import runtime_of_socket, runtime_state

# host paths whose mount gives a container the host (CIS 5.5)
SENSITIVE_HOST_PATHS = (
    "/", "/etc", "/root", "/home", "/var/run", "/run", "/var/lib/docker", "/proc", "/sys",
    "/dev", "/boot", "/usr",
)  # fmt: skip
# the devices gVisor emulates itself: its FUSE and its TUN, not the host's
GVISOR_DEV = {"fuse", "net"}
# the /dev a container gets by default (runc's default devices and links), and the
# kubelet's termination log
DEFAULT_DEV = {
    "console", "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm",
    "stderr", "stdin", "stdout", "tty", "urandom", "zero", "termination-log",
}  # fmt: skip
# what a person types and an attacker runs once in: shells, busybox, package managers
SHELLS_AND_PACKAGE_MANAGERS = (
    "sh", "bash", "dash", "ash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox",
    "apt", "apt-get", "dpkg", "rpm", "yum", "dnf", "microdnf", "apk", "pip", "pip3",
)  # fmt: skip
# searched whatever the server's PATH says: a shell there is one `exec` away
STANDARD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# the tmpfs mounts the engine makes itself, writable and executable by its design
DOCKER_TMPFS = {"/dev", "/dev/shm", "/sys/fs/cgroup"}  # noqa: S108


@rule(
    id="read-only-root",
    title="The root filesystem is mounted read-only",
    reference=f"{CIS} 5.12; OWASP Docker rule #8",
    url=OWASP_URL,
    remedy=Remedy(
        compose="read_only: true",
        docker_run="--read-only",
        kubernetes="securityContext.readOnlyRootFilesystem: true",
    ),
)
def read_only_root(host: Host) -> Verdict:
    for mount in host.mounts:
        if mount.point == "/":
            options = ",".join(sorted(mount.options))
            return not mount.writable, f"/proc/{host.server_pid}/mountinfo / {options}"
    raise Unreadable(f"/proc/{host.server_pid}/mountinfo has no / mount")


def sensitive(path: str) -> bool:
    """`path` is a sensitive folder or lies inside one (every path lies inside `/`)."""
    return path == "/" or any(path == top or path.startswith(top + "/")
                              for top in SENSITIVE_HOST_PATHS[1:])  # fmt: skip


@rule(
    id="no-sensitive-host-mounts",
    title="No sensitive host path is mounted, read-only or not",
    reference=f"{CIS} 5.5",
    url=CIS_URL,
    remedy=Remedy(
        compose="no bind mount of /, /etc, /proc, /sys, /dev, /var/run, ...: named volumes instead",
        docker_run="no -v HOSTPATH:... of a system folder",
        kubernetes="no hostPath volume (PSS baseline forbids them)",
    ),
)
def no_sensitive_host_mounts(host: Host) -> Verdict:
    found, hidden = [], []
    own, binds, carried = host.own_mounts.own, host.own_mounts.binds, host.own_mounts.carried
    # a runtime's socket is no-runtime-socket's: on a host whose /run is a tmpfs it
    # shows only its path within that tmpfs, so this check leaves it out everywhere alike
    for mount in (mount for mount in own if not runtime_of_socket(mount.point)):
        path = binds.get(mount.point)
        if path == HIDDEN:
            hidden.append(mount.point)
            continue
        if path is None or path.startswith("/var/lib/docker/volumes/"):
            continue
        state = runtime_state(path, mount.filesystem in MEMORY_FILESYSTEMS)
        if runtime_of_socket(path) or not (state or sensitive(path)):
            continue
        beneath = carried.get(mount.point, [])
        writable = sum(inner.writable for inner in beneath)
        more = f", {len(beneath)} host mounts beneath, {writable} writable" if beneath else ""
        what = f": {state}" if state else ""
        found.append(f"{mount.point} (host {path}, {'rw' if mount.writable else 'ro'}{more}{what})")
    if found:
        return False, f"/proc/{host.server_pid}/mountinfo host paths: {', '.join(found)}"
    if hidden:
        raise Unreadable(f"gVisor: /proc/{host.server_pid}/mountinfo does not show the host path "
                         f"of {listed(hidden)}")  # fmt: skip
    return True, f"/proc/{host.server_pid}/mountinfo: no host system path mounted"


@rule(
    id="no-host-devices",
    title="No device beyond the container's default set",
    reference=f"{CIS} 5.17",
    url=CIS_URL,
    remedy=Remedy(
        compose="no devices: and no privileged: true",
        docker_run="no --device and no --privileged",
        kubernetes="no hostPath volume of /dev, securityContext.privileged: false",
    ),
)
def no_host_devices(host: Host) -> Verdict:
    default = (DEFAULT_DEV | GVISOR_DEV) if host.runtime.gvisor else DEFAULT_DEV
    extra = [name for name in host.entries("/dev") if name not in default]
    if extra:
        shown = listed([f"/dev/{name}" for name in extra], 8)
        return False, f"/dev beyond the default set: {shown}"
    if host.runtime.gvisor:
        return True, "/dev: only the default devices and gVisor's own (fuse, net/tun)"
    return True, "/dev: only the default devices"


@rule(
    id="no-other-writable-mounts",
    title="No writable mount beyond Docker's own",
    reference=f"{CIS} 5.5, 5.12",
    url=CIS_URL,
    remedy=Remedy(
        compose="volumes :ro where the server only reads them; tmpfs with noexec; no socket",
        docker_run="-v SOURCE:TARGET:ro, --tmpfs PATH:noexec; no socket",
        kubernetes="volumeMounts[].readOnly: true; no hostPath socket",
    ),
    required=False,
)
def no_other_writable_mounts(host: Host) -> Verdict:
    own, binds, carried = host.own_mounts.own, host.own_mounts.binds, host.own_mounts.carried
    found = []
    for mount in (mount for mount in own if mount.writable and mount.point not in MANAGED_FILES):
        if mount.point in binds:
            found.append(mount.point)
        elif (mount.filesystem in MEMORY_FILESYSTEMS and mount.root == "/"
              and mount.executable and mount.point not in DOCKER_TMPFS):  # fmt: skip
            found.append(f"{mount.point} (tmpfs, exec)")
    for point, beneath in carried.items():
        if writable := sum(inner.writable for inner in beneath):
            found.append(f"{writable} beneath {point}")
    if found:
        return False, f"/proc/{host.server_pid}/mountinfo writable: {listed(found)}"
    return True, f"/proc/{host.server_pid}/mountinfo: no writable mount beyond / and Docker's own"


@rule(
    id="mount-propagation-private",
    title="No mount propagates to or from the host (shared propagation)",
    reference=f"{CIS} 5.19",
    url=CIS_URL,
    remedy=Remedy(
        compose="no bind propagation: shared or rshared",
        docker_run="no -v ...:shared or --mount bind-propagation=shared",
        kubernetes="no mountPropagation: Bidirectional",
    ),
    required=False,
)
def mount_propagation_private(host: Host) -> Verdict:
    shared = [mount.point for mount in host.own_mounts.own
              if any(tag.startswith("shared:") for tag in mount.propagation)]  # fmt: skip
    if shared:
        return False, f"/proc/{host.server_pid}/mountinfo shared: {', '.join(shared)}"
    return True, f"/proc/{host.server_pid}/mountinfo: no shared mount"


@rule(
    id="cgroup-read-only",
    title="The cgroup filesystem is read-only (the release_agent escape needs it writable)",
    reference="CVE-2022-0492; the release_agent escape",
    url=PSS_URL,
    remedy=Remedy(
        compose="no privileged: true and no SYS_ADMIN in cap_add",
        docker_run="no --privileged and no --cap-add SYS_ADMIN",
        kubernetes="securityContext.privileged: false, no SYS_ADMIN",
    ),
    required=False,
)
def cgroup_read_only(host: Host) -> Verdict:
    cgroups = [mount for mount in host.own_mounts.own
               if mount.filesystem in ("cgroup", "cgroup2")]  # fmt: skip
    if not cgroups:
        return True, f"/proc/{host.server_pid}/mountinfo: no cgroup filesystem mounted"
    writable = [mount.point for mount in cgroups if mount.writable]
    if writable:
        return False, f"/proc/{host.server_pid}/mountinfo cgroup rw: {listed(writable)}"
    return True, f"/proc/{host.server_pid}/mountinfo: {len(cgroups)} cgroup mounts, all ro"


def path_folders(host: Host) -> list[str]:
    """The folders of the server's PATH (read from its environment, never reported),
    then the standard ones."""
    try:
        environment = host.read_bytes(f"/proc/{host.server_pid}/environ").split(b"\0")
    except Unreadable:
        environment = []
    path = next((item[5:].decode(errors="replace") for item in environment
                 if item.startswith(b"PATH=")), "")  # fmt: skip
    folders = [folder for folder in path.split(":") if folder.startswith("/")]
    return list(dict.fromkeys([*folders, *STANDARD_PATH]))


@rule(
    id="no-shell",
    title="No shell or package manager in the image",
    reference=f"{CIS} 4.3",
    url=CIS_URL,
    remedy=Remedy(
        compose="build the shell-less runtime (the Dockerfile's default target, not debug)",
        docker_run="docker build . (the shell-less runtime), not --target debug",
        kubernetes="the shell-less runtime image; kubectl debug for a shell when one is needed",
    ),
    required=False,
)
def no_shell(host: Host) -> Verdict:
    folders = path_folders(host)
    found = [f"{folder}/{name}" for folder in folders for name in SHELLS_AND_PACKAGE_MANAGERS
             if host.exists(f"{folder}/{name}")]  # fmt: skip
    if found:
        return False, f"shells or package managers: {listed(found)}"
    return (
        True,
        f"none of {len(SHELLS_AND_PACKAGE_MANAGERS)} shells and package managers in "
        f"{len(folders)} PATH folders or at /bin/sh",
    )
