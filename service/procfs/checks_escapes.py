"""Checks of the ways out that the peer tools (linpeas, CDK, amicontained) try from
inside: a runtime's socket, the kernel's host-wide interfaces, a user namespace.

None of them writes a byte: a file is judged by its mount's flags and its mode, and a
user namespace is tried by a child that exits at once.
"""

from service.procfs.evidence import listed
from service.procfs.host import Host, Unreadable
from service.procfs.host_paths import HIDDEN
from service.procfs.rules import CIS, OWASP_URL, PSS_URL, Remedy, Verdict, rule
from service.procfs.runtime_paths import USUAL_SOCKET_PATHS, runtime_of_socket

# each interface, and what writing it gives: a program the host's kernel runs as root,
# or the host itself (linpeas' checkProcSysBreakouts)
KERNEL_INTERFACES = {
    "/proc/sys/kernel/core_pattern": "a program the host runs as root at any crash",
    "/proc/sys/kernel/modprobe": "a program the host runs as root to load a module",
    "/sys/kernel/uevent_helper": "a program the host runs as root at a device event",
    "/proc/sys/fs/binfmt_misc/register": "an interpreter for the host's executables",
    "/proc/sysrq-trigger": "the host rebooted or crashed at will",
}
# the kernel's own switches for unprivileged user namespaces (the latter Debian's)
USER_NAMESPACE_SETTINGS = (
    "/proc/sys/user/max_user_namespaces",
    "/proc/sys/kernel/unprivileged_userns_clone",
)
MITRE_ESCAPE = "MITRE ATT&CK T1611 (Escape to Host)"
MITRE_URL = "https://attack.mitre.org/techniques/T1611/"


def within(host: Host, folder: str) -> list[str]:
    """The runtimes' usual socket paths beneath `folder`, whatever host folder it shows:
    each path's tail after each of its folders (/var/run/docker.sock: run/docker.sock,
    docker.sock)."""
    tails = {usual.split("/", cut + 1)[-1] for usual in USUAL_SOCKET_PATHS
             for cut in range(usual.count("/"))}  # fmt: skip
    found = [f"{folder.rstrip('/')}/{tail}" for tail in sorted(tails)]
    return [path for path in found if host.exists(path)]


# a socket found: whose it is (None where its name is no runtime's), and how it came
Found = tuple[str | None, str]


def bound_sockets(host: Host) -> dict[str, Found]:
    """Every socket the host gave the container, by its path here."""
    found: dict[str, Found] = {}
    for mount in host.own_mounts.own:
        path = host.own_mounts.binds.get(mount.point)
        if path is None:
            continue
        named = runtime_of_socket(mount.point) or runtime_of_socket(path)
        if named or host.is_socket(mount.point):
            access = "rw" if mount.writable else "ro"
            origin = "" if path in (HIDDEN, mount.point) else f", host {path}"
            found[mount.point] = (named, f"bound from the host ({access}{origin})")
        elif path != HIDDEN:
            # a socket directly in the bound folder, or where a runtime keeps its own
            # beneath it (a bound /run, /var or / brings them along)
            inner = [*host.sockets_in(mount.point), *within(host, mount.point)]
            for socket_path in dict.fromkeys(inner):
                found[socket_path] = (runtime_of_socket(socket_path),
                                      f"in {mount.point}, bound from the host")  # fmt: skip
    # a bind of a host folder brings the host's own mounts beneath it along: a socket
    # bound there on the host is within reach here
    for point, beneath in host.own_mounts.carried.items():
        for inner_mount in beneath:
            if named := runtime_of_socket(inner_mount.point) or runtime_of_socket(inner_mount.root):
                found[inner_mount.point] = (named, f"beneath {point}, bound from the host")
    for usual in USUAL_SOCKET_PATHS:
        if usual not in found and host.exists(usual):
            found[usual] = (runtime_of_socket(usual), "present")
    return found


def runtime_sockets(host: Host) -> list[str]:
    return [f"{runtime}'s socket at {path} ({how})"
            for path, (runtime, how) in bound_sockets(host).items() if runtime]  # fmt: skip


@rule(
    id="no-runtime-socket",
    title="No container runtime's socket is mounted (Docker's, containerd's, CRI-O's, ...)",
    reference=f"{CIS} 5.31; OWASP Docker rule #1; {MITRE_ESCAPE}",
    url=OWASP_URL,
    remedy=Remedy(
        compose="no volume of a runtime's socket (docker.sock, containerd.sock, crio.sock, ...; "
        ":ro does not help: remove it)",
        docker_run="no -v of a runtime's socket (:ro does not help: remove it)",
        kubernetes="no hostPath volume of the container runtime's socket, read-only or not",
    ),
)
def no_runtime_socket(host: Host) -> Verdict:
    found = runtime_sockets(host)
    if not found:
        return True, (f"/proc/{host.server_pid}/mountinfo: no runtime's socket; none at "
                      f"{len(USUAL_SOCKET_PATHS)} usual paths")  # fmt: skip
    runtimes = sorted({item.partition("'s socket")[0] for item in found})
    named = ", ".join(runtimes)
    remedy = Remedy(
        compose=f"remove the volume of {named}'s socket (:ro does not help: connect() "
        "works through a read-only bind)",
        docker_run=f"no -v of {named}'s socket, read-only or not",
        kubernetes=f"no hostPath volume of {named}'s socket, read-only or not",
    )
    return False, f"/proc/{host.server_pid}/mountinfo: {listed(found)}", remedy


@rule(
    id="no-other-host-sockets",
    title="No other socket is bound in from the host",
    reference=f"{CIS} 5.5; {MITRE_ESCAPE}",
    url=MITRE_URL,
    remedy=Remedy(
        compose="no volume of a host socket; a proxy that allows only what is needed",
        docker_run="no -v of a host socket",
        kubernetes="no hostPath volume of a socket",
    ),
    required=False,
)
def no_other_host_sockets(host: Host) -> Verdict:
    others = [f"{path} ({how})" for path, (runtime, how) in bound_sockets(host).items()
              if not runtime]  # fmt: skip
    if others:
        return False, f"/proc/{host.server_pid}/mountinfo sockets: {listed(others)}"
    return True, f"/proc/{host.server_pid}/mountinfo: no socket bound from the host"


def writable_interfaces(host: Host) -> list[str]:
    """The interfaces root here could write: on a read-write mount, root's and writable by
    root (its mode). A cgroup v1 release_agent counts where one shows."""
    paths = dict(KERNEL_INTERFACES)
    for mount in host.own_mounts.own:
        if mount.filesystem == "cgroup":
            paths[f"{mount.point}/release_agent"] = "a program the host runs as root when a "\
                "cgroup empties (CVE-2022-0492)"  # fmt: skip
    found = []
    for path, gain in paths.items():
        if host.exists(path) and host.mount_of(path).writable and host.owner_writable(path):
            found.append(f"{path} ({gain})")
    return found


@rule(
    id="no-writable-kernel-interfaces",
    title="The host kernel's own interfaces cannot be written: core_pattern, modprobe, "
    "uevent_helper, binfmt_misc, sysrq-trigger, a cgroup's release_agent",
    reference=f"{CIS} 5.4; PSS baseline: Privileged Containers; {MITRE_ESCAPE}",
    url=MITRE_URL,
    remedy=Remedy(
        compose="no privileged: true, no security_opt: [systempaths=unconfined]",
        docker_run="no --privileged, no --security-opt systempaths=unconfined",
        kubernetes="securityContext.privileged: false, procMount: Default",
    ),
)
def no_writable_kernel_interfaces(host: Host) -> Verdict:
    if host.runtime.gvisor:
        return True, "gVisor: /proc and /sys are its own kernel's; the host's are not reached"
    found = writable_interfaces(host)
    if found:
        return False, f"/proc/{host.server_pid}/mountinfo read-write, root's: {listed(found)}"
    present = [path for path in KERNEL_INTERFACES if host.exists(path)]
    shown = f"{len(present)} of {len(KERNEL_INTERFACES)}"
    return True, (f"/proc/{host.server_pid}/mountinfo: {shown} interfaces present, none on a "
                  "read-write mount and writable by root")  # fmt: skip


@rule(
    id="no-user-namespaces",
    title="The server's processes cannot make a user namespace",
    reference="PSS and Kubernetes: seccompProfile RuntimeDefault; CVE-2022-0492",
    url=PSS_URL,
    remedy=Remedy(
        compose="no security_opt: [seccomp=unconfined] (Docker's profile refuses it)",
        docker_run="no --security-opt seccomp=unconfined",
        kubernetes="securityContext.seccompProfile.type: RuntimeDefault",
    ),
    required=False,
)
def no_user_namespaces(host: Host) -> Verdict:
    settings = []
    for path in (
        "/proc/sys/user/max_user_namespaces",
        "/proc/sys/kernel/unprivileged_userns_clone",
    ):
        try:
            settings.append(f"{path} {host.read(path).strip()}")
        except Unreadable:
            continue
    if not host.asked_by_server():
        raise Unreadable("a user namespace can only be tried by the server's own process")
    answer = host.probes.user_namespace()
    if answer is None:
        raise Unreadable("unshare could not be called")
    made, how = answer
    evidence = "; ".join([f"a child of the server's worker: {how}", *settings])
    if made and host.runtime.gvisor:
        return True, f"{evidence} (gVisor's own kernel's namespace: the host's is not reached)"
    return not made, evidence
