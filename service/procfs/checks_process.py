"""Checks of the server's own process: its user, capabilities, privileges, PID namespace."""

from service.procfs.capabilities import CAPABILITY_NAMES, beyond_docker_default
from service.procfs.evidence import listed
from service.procfs.host import Host, Unreadable
from service.procfs.rules import CIS, OWASP_URL, PSS_URL, Remedy, Verdict, rule

CAPABILITY_SETS = ("CapEff", "CapPrm", "CapAmb", "CapBnd")
# what a container's own PID 1 may be besides the server: the inits people run
CONTAINER_INITS = frozenset(("docker-init", "tini", "dumb-init", "catatonit", "pause"))
# the /proc files the engine masks in a container that is not privileged
MASKED_PROC = ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
               "/proc/latency_stats", "/proc/timer_stats")  # fmt: skip
# the names the kernel gives disks: privileged mode brings the host's into /dev
DISK_PREFIXES = ("sd", "nvme", "vd", "xvd", "hd", "mmcblk", "dm-", "loop")


@rule(
    id="non-root-user",
    title="The server runs as a user other than root",
    reference=f"{CIS} 4.1; PSS restricted: Running as Non-root user",
    url=PSS_URL,
    remedy=Remedy(
        compose="user: 10001:10001 (or USER in the Dockerfile)",
        docker_run="--user 10001:10001",
        kubernetes="securityContext.runAsNonRoot: true, runAsUser: 10001",
    ),
)
def non_root_user(host: Host) -> Verdict:
    ids = host.server.ids("Uid")
    written = " ".join(str(ids[part]) for part in ("real", "effective", "saved", "filesystem"))
    return ids["effective"] != 0, f"{host.server.path} Uid {written}"


@rule(
    id="non-root-group",
    title="The server's group is not root's, nor any of its supplementary groups",
    reference=f"{CIS} 4.1; PSS restricted: runAsGroup",
    url=PSS_URL,
    remedy=Remedy(
        compose="user: 10001:10001 (a group as well as a user), no group_add: [0]",
        docker_run="--user 10001:10001, no --group-add 0",
        kubernetes="securityContext.runAsGroup: 10001, no 0 in supplementalGroups",
    ),
    required=False,
)
def non_root_group(host: Host) -> Verdict:
    # group 0 owns files root made for its group: /etc/shadow on some images, sockets
    ids = host.server.ids("Gid")
    groups = host.server.document.get("Groups", [])
    members = (
        [group for group in groups if isinstance(group, int)] if isinstance(groups, list) else []
    )
    written = " ".join(str(ids[part]) for part in ("real", "effective", "saved", "filesystem"))
    evidence = f"{host.server.path} Gid {written}; Groups {' '.join(map(str, members)) or '(none)'}"
    return 0 not in (ids["real"], ids["effective"], *members), evidence


def capability_masks(host: Host) -> dict[str, tuple[int, str]]:
    """Each set's value and how it was read. A kernel or sandbox that writes no CapAmb
    line (gVisor) still bounds it: an ambient capability must be permitted and
    inheritable (capabilities(7)), so CapPrm & CapInh holds every one there can be."""
    masks = {}
    for key in CAPABILITY_SETS:
        if key == "CapAmb" and "CapAmb" not in host.server.document:
            bound = host.server.mask("CapPrm")[0]
            if "CapInh" in host.server.document:
                bound &= host.server.mask("CapInh")[0]
            masks[key] = (bound, f"(no line; at most CapPrm & CapInh, {bound:016x})")
        else:
            masks[key] = host.server.mask(key)
    return masks


def capability_evidence(host: Host, beyond: dict[str, list[str]]) -> str:
    masks = [f"{key} {written}" for key, (_, written) in capability_masks(host).items()]
    extra = "; ".join(f"{key} beyond Docker's default: {', '.join(names)}"
                      for key, names in beyond.items() if names)  # fmt: skip
    return f"{host.server.path} {', '.join(masks)}" + (f"; {extra}" if extra else "")


@rule(
    id="no-capabilities-beyond-default",
    title="No capability beyond Docker's default set, in any set (the bounding set included)",
    reference=f"{CIS} 5.3; OWASP Docker rule #3",
    url=OWASP_URL,
    remedy=Remedy(
        compose="no cap_add beyond the default; better, cap_drop: [ALL]",
        docker_run="no --cap-add; better, --cap-drop ALL",
        kubernetes="securityContext.capabilities.drop: [ALL], and no add",
    ),
)
def capabilities_within_default(host: Host) -> Verdict:
    beyond = {key: beyond_docker_default(value)
              for key, (value, _) in capability_masks(host).items()}  # fmt: skip
    return not any(beyond.values()), capability_evidence(host, beyond)


@rule(
    id="no-capabilities",
    title="No capability at all, and an empty bounding set: none can be regained",
    reference=f"{CIS} 5.3; PSS restricted: Capabilities",
    url=PSS_URL,
    remedy=Remedy(
        compose="cap_drop: [ALL]",
        docker_run="--cap-drop ALL",
        kubernetes="securityContext.capabilities.drop: [ALL]",
    ),
)
def no_capabilities(host: Host) -> Verdict:
    empty = all(value == 0 for value, _ in capability_masks(host).values())
    return empty, capability_evidence(host, {})


@rule(
    id="no-new-privileges",
    title="Processes cannot gain privileges (no_new_privs)",
    reference=f"{CIS} 5.25; OWASP Docker rule #4",
    url=OWASP_URL,
    remedy=Remedy(
        compose="security_opt: [no-new-privileges=true]",
        docker_run="--security-opt no-new-privileges=true",
        kubernetes="securityContext.allowPrivilegeEscalation: false",
    ),
)
def no_new_privileges(host: Host) -> Verdict:
    if "NoNewPrivs" in host.server.document:
        value = host.server.flag("NoNewPrivs")
        return value, f"{host.server.path} NoNewPrivs {int(value)}"
    # gVisor writes no such line: the flag is asked of the kernel by the server's own
    # worker, which inherited it at fork (nothing here sets it)
    missing = f"{host.server.path} has no NoNewPrivs line"
    if not host.asked_by_server():
        raise Unreadable(f"{missing}, and this process is not the server's to ask")
    asked = host.probes.no_new_privs()
    if asked is None:
        raise Unreadable(f"{missing}, and prctl could not be called")
    return asked, f"{missing}; prctl(PR_GET_NO_NEW_PRIVS) in the server's worker: {int(asked)}"


@rule(
    id="seccomp-filter",
    title="A seccomp filter confines system calls",
    reference=f"{CIS} 5.21; PSS restricted: Seccomp",
    url=PSS_URL,
    remedy=Remedy(
        compose="no security_opt: [seccomp=unconfined] (Docker's default profile applies)",
        docker_run="no --security-opt seccomp=unconfined",
        kubernetes="securityContext.seccompProfile.type: RuntimeDefault",
    ),
)
def seccomp_filter(host: Host) -> Verdict:
    mode = host.server.seccomp()
    evidence = f"{host.server.path} Seccomp {mode}"
    if "Seccomp_filters" in host.server.document:
        evidence += f", Seccomp_filters {host.server.number('Seccomp_filters')}"
    if host.runtime.gvisor and mode != 2:
        # what a filter is for, gVisor does more strongly (docs/security.md): the host's
        # kernel sees only gVisor's own calls, under gVisor's own filter
        return True, (f"{evidence}: gVisor's kernel in user space serves the server's system "
                      "calls; the host's kernel sees only gVisor's, under gVisor's own seccomp "
                      "filter")  # fmt: skip
    return mode == 2, evidence


@rule(
    id="own-pid-namespace",
    title="The container has a PID namespace of its own",
    reference=f"{CIS} 5.15; PSS baseline: Host Namespaces",
    url=PSS_URL,
    remedy=Remedy(
        compose="no pid: host",
        docker_run="no --pid=host",
        kubernetes="hostPID: false (the default)",
    ),
)
def own_pid_namespace(host: Host) -> Verdict:
    first = host.status(1).text("Name")
    evidence = f"/proc/1/status Name {first}"
    parent = host.server.number("PPid")
    # the server is PID 1, or the child of the container's own init
    under_init = host.server_pid != 1 and parent == 1 and first in CONTAINER_INITS
    heads = host.server_pid == 1 or under_init
    foreign, entered = processes_outside(host, init=1 if under_init else None)
    if not heads:
        evidence += f"; the server (pid {host.server_pid}) is neither PID 1 nor its init's child"
        outside = [f"{process.text('Name')} (pid {process.pid})" for process in host.ancestry()[1:]
                   if process.text("Name") not in CONTAINER_INITS]  # fmt: skip
        if outside:
            evidence += f"; the server's ancestors: {listed(outside)}"
    # kernel threads are visible only in the host's PID namespace: kthreadd is PID 2 there
    if host.exists("/proc/2/status") and host.status(2).text("Name") == "kthreadd":
        evidence += "; /proc/2/status Name kthreadd (the host's kernel threads are visible)"
    if foreign:
        evidence += f"; {len(foreign)} processes outside the server's tree: {listed(foreign)}"
    if entered:
        evidence += f"; {entered} entered by exec"
    return heads and not foreign, evidence


def processes_outside(host: Host, init: int | None) -> tuple[list[str], int]:
    """The processes this PID namespace shows beyond the server's tree and `init`, by
    name, and how many were entered by exec (`docker exec`, a healthcheck: their
    PPid is 0, the parent being outside the namespace)."""
    processes = host.processes()
    parents = {process.pid: process.number("PPid") for process in processes}
    names = {process.pid: process.text("Name") for process in processes}
    foreign, entered = [], 0
    for pid in parents:
        top = pid
        # bounded: a malformed PPid chain must not loop
        for _ in range(len(parents)):
            if top == host.server_pid or parents.get(top, 0) not in parents:
                break
            top = parents[top]
        if top == host.server_pid or pid == init:
            continue
        # PID 1's other children, and the host's kernel threads, are not the server's
        if top == 1 or names.get(top) == "kthreadd":
            foreign.append(f"{names[pid]} ({pid})")
        else:
            entered += 1
    return foreign, entered


def privileged_signals(host: Host) -> list[tuple[bool, str]]:
    """What privileged mode changes, each as (whether it is so here, what was read)."""
    mounts = {mount.point: mount for mount in host.mounts}
    try:
        last = int(host.read("/proc/sys/kernel/cap_last_cap"))
    except Unreadable:
        # gVisor has no such file: every capability this table names
        last = len(CAPABILITY_NAMES) - 1
    bounding, written = host.server.mask("CapBnd")
    every = (1 << (last + 1)) - 1
    full = bounding & every == every
    sysfs, proc_sys = mounts.get("/sys"), mounts.get("/proc/sys")
    sysfs_writable = sysfs is not None and sysfs.writable
    proc_sys_writable = proc_sys is None or proc_sys.writable
    # Docker masks these with binds of /dev/null; a kernel may have only some of them
    masked = [path for path in MASKED_PROC if path in mounts]
    unmasked = not masked
    disks = [name for name in host.entries("/dev") if name.startswith(DISK_PREFIXES)]
    return [
        (sysfs_writable, f"/sys {'rw' if sysfs_writable else 'ro'}"),
        (proc_sys_writable, f"/proc/sys {'rw' if proc_sys_writable else 'ro'}"),
        (full, f"CapBnd {written}{' (every capability)' if full else ''}"),
        (unmasked, f"/proc masked: {', '.join(masked)}" if masked else "/proc unmasked"),
        (bool(disks), f"/dev: {listed(disks) if disks else 'no host block device'}"),
    ]


@rule(
    id="not-privileged",
    title="The container is not privileged",
    reference=f"{CIS} 5.4; PSS baseline: Privileged Containers",
    url=PSS_URL,
    remedy=Remedy(
        compose="no privileged: true",
        docker_run="no --privileged",
        kubernetes="securityContext.privileged: false (the default)",
    ),
)
def not_privileged(host: Host) -> Verdict:
    signals = privileged_signals(host)
    if host.runtime.gvisor:
        # its /sys and /proc/sys are its own kernel's, whatever their mount flags: what
        # privileged mode would still give is every capability
        full, bounding = signals[2]
        return not full, (f"gVisor: /sys and /proc/sys are its own kernel's, not the host's; "
                          f"{host.server.path} {bounding}")  # fmt: skip
    # the kernel's own interfaces writable: only privileged mode (or
    # systempaths=unconfined, as dangerous) does that to a container
    (sysfs_writable, _), (proc_sys_writable, _) = signals[:2]
    evidence = "; ".join(text for _, text in signals)
    unmasked = sysfs_writable or proc_sys_writable
    return not unmasked, f"/proc/{host.server_pid}/mountinfo {evidence}"
