"""What isolates the server: the host's kernel behind namespaces (runc and its kin), or
gVisor's kernel in user space, and whether a user namespace maps root elsewhere.

Told from files only the runtime makes: gVisor's /proc has `sentry-meminfo` (its
Sentry's own memory), which no Linux /proc has, and its /proc/version and
/proc/cmdline are fixed strings of gVisor's (runsc/boot's LinuxRelease and friends).
"""

from dataclasses import dataclass

from service.procfs.mounts import Mount

GVISOR_MARK = "/proc/sentry-meminfo"
SANDBOX_GVISOR = "gVisor"
HOST_KERNEL = "the host's kernel, behind namespaces"


@dataclass(frozen=True)
class Runtime:
    """What the server's system calls reach, and how that was told."""

    # the kernel that serves the server's system calls
    kernel: str
    evidence: str
    # UID 0 inside is another UID outside
    user_namespace: bool

    @property
    def gvisor(self) -> bool:
        return self.kernel == SANDBOX_GVISOR

    @property
    def name(self) -> str:
        suffix = ", in a user namespace" if self.user_namespace else ""
        if self.gvisor:
            return f"gVisor (runsc): a kernel in user space between the server and the host{suffix}"
        return f"{HOST_KERNEL} (runc or another OCI runtime){suffix}"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "(empty)"


def identify(
    version: str, cmdline: str, gvisor_mark: bool, uid_map: str, mounts: list[Mount]
) -> Runtime:
    """The runtime these files show. `gvisor_mark`: /proc/sentry-meminfo exists; a mount
    placed there by hand would show in `mounts` and does not count."""
    marked = gvisor_mark and all(mount.point != GVISOR_MARK for mount in mounts)
    first = uid_map.split()[:3]
    user_namespace = bool(first) and first[:2] != ["0", "0"]
    evidence = [f"/proc/version {first_line(version)}"]
    if marked:
        evidence += [f"/proc/cmdline {first_line(cmdline)}", f"{GVISOR_MARK} present"]
    if first:
        evidence.append(f"/proc/self/uid_map {' '.join(first)}")
    return Runtime(SANDBOX_GVISOR if marked else HOST_KERNEL, "; ".join(evidence), user_namespace)
