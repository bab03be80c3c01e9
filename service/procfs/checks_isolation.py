"""Advisory checks of what else the container shares with the host or exposes."""

from service.procfs.evidence import listed
from service.procfs.host import Host, Unreadable
from service.procfs.rules import CIS, CIS_URL, OWASP_URL, PSS_URL, Remedy, Verdict, rule

SERVICE_ACCOUNT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105
# interfaces that exist in a host's network namespace, not in a container's own
HOST_INTERFACES = ("docker0", "veth", "cni", "br-", "virbr", "flannel", "cali", "cilium", "kube")
# the kernel's initial (the host's) IPC and UTS namespaces have fixed inode numbers
# (PROC_IPC_INIT_INO, PROC_UTS_INIT_INO in include/linux/proc_ns.h)
HOST_IPC_NAMESPACE = "ipc:[4026531839]"
HOST_UTS_NAMESPACE = "uts:[4026531838]"
HOST_CGROUP_NAMESPACE = "cgroup:[4026531835]"
GVISOR_OWN = "gVisor: its own kernel's, not the host's"
TCP_LISTEN = "0A"
# Docker's embedded DNS server listens in every container on a user-defined
# network, at 127.0.0.11 (written little-endian in /proc/net/tcp)
EMBEDDED_DNS = "0B00007F"


@rule(
    id="user-namespace",
    title="Root inside is not root outside (a user namespace)",
    reference="OWASP Docker rule #2",
    url=OWASP_URL,
    remedy=Remedy(
        compose='the engine\'s "userns-remap" (daemon.json)',
        docker_run='--userns=... with the engine\'s "userns-remap"',
        kubernetes="spec.hostUsers: false",
    ),
    required=False,
)
def user_namespace(host: Host) -> Verdict:
    first = host.read("/proc/self/uid_map").split()
    # "0 0 4294967295": UID 0 inside is UID 0 outside, no user namespace
    return first[:2] != ["0", "0"], f"/proc/self/uid_map {' '.join(first[:3])}"


@rule(
    id="security-module-profile",
    title="An AppArmor or SELinux profile confines the server",
    reference=f"{CIS} 5.1, 5.2",
    url=CIS_URL,
    remedy=Remedy(
        compose="no security_opt: [apparmor=unconfined] (on a host with AppArmor or SELinux)",
        docker_run="--security-opt apparmor=docker-default",
        kubernetes="securityContext.appArmorProfile.type: RuntimeDefault",
    ),
    required=False,
)
def security_module_profile(host: Host) -> Verdict:
    path = f"/proc/{host.server_pid}/attr/current"
    label = host.read(path).strip("\x00\n ")
    return bool(label) and label != "unconfined", f"{path} {label or '(empty)'}"


@rule(
    id="no-service-account-token",
    title="No Kubernetes service-account token is mounted",
    reference="PSS and Kubernetes: automountServiceAccountToken",
    url=PSS_URL,
    remedy=Remedy(
        compose="(compose mounts none)",
        docker_run="(docker run mounts none)",
        kubernetes="automountServiceAccountToken: false",
    ),
    required=False,
)
def no_service_account_token(host: Host) -> Verdict:
    if host.exists(SERVICE_ACCOUNT_TOKEN_PATH):
        return False, f"{SERVICE_ACCOUNT_TOKEN_PATH} exists"
    return True, f"{SERVICE_ACCOUNT_TOKEN_PATH} absent"


@rule(
    id="own-network-namespace",
    title="The container has a network namespace of its own",
    reference=f"{CIS} 5.9; PSS baseline: Host Namespaces",
    url=PSS_URL,
    remedy=Remedy(
        compose="no network_mode: host",
        docker_run="no --network host",
        kubernetes="hostNetwork: false (the default)",
    ),
    required=False,
)
def own_network_namespace(host: Host) -> Verdict:
    lines = host.read("/proc/net/dev").splitlines()[2:]
    names = [line.partition(":")[0].strip() for line in lines if ":" in line]
    seen = [name for name in names if name.startswith(HOST_INTERFACES)]
    if seen:
        return False, f"/proc/net/dev host interfaces: {listed(seen)}"
    return True, f"/proc/net/dev interfaces: {', '.join(names)}"


@rule(
    id="own-ipc-namespace",
    title="The container's IPC namespace is not the host's (it cannot tell one shared "
    "with another container)",
    reference=f"{CIS} 5.16; PSS baseline: Host Namespaces",
    url=PSS_URL,
    remedy=Remedy(
        compose="no ipc: host (and no ipc: service:... unless the peer is meant to share)",
        docker_run="no --ipc=host",
        kubernetes="hostIPC: false (the default)",
    ),
    required=False,
)
def own_ipc_namespace(host: Host) -> Verdict:
    if host.runtime.gvisor:
        return True, f"{GVISOR_OWN}: System V IPC and /dev/shm live in the sandbox"
    path = f"/proc/{host.server_pid}/ns/ipc"
    namespace = host.link(path)
    evidence = f"{path} {namespace}"
    shm = next((mount for mount in host.mounts if mount.point == "/dev/shm"), None)  # noqa: S108
    if shm is not None:
        # Docker's own /dev/shm has the source "shm"; the host's is a plain tmpfs
        evidence += f"; /dev/shm source {shm.source}"
    if namespace == HOST_IPC_NAMESPACE:
        return False, evidence + " (the host's)"
    return True, evidence


@rule(
    id="own-uts-namespace",
    title="The container's UTS namespace (its hostname) is not the host's (it cannot "
    "tell one shared with another container)",
    reference=f"{CIS} 5.20",
    url=CIS_URL,
    remedy=Remedy(
        compose="no uts: host",
        docker_run="no --uts=host",
        kubernetes="(a pod always has a UTS namespace of its own)",
    ),
    required=False,
)
def own_uts_namespace(host: Host) -> Verdict:
    if host.runtime.gvisor:
        return True, f"{GVISOR_OWN}: the hostname is the sandbox's"
    path = f"/proc/{host.server_pid}/ns/uts"
    namespace = host.link(path)
    evidence = f"{path} {namespace}"
    try:
        same = host.read("/proc/sys/kernel/hostname").strip() == host.read("/etc/hostname").strip()
        # the engine writes the container's hostname to /etc/hostname; under the host's
        # UTS namespace the kernel's differs from it
        evidence += (
            f"; /proc/sys/kernel/hostname {'equals' if same else 'differs from'} /etc/hostname"
        )
    except Unreadable:
        pass  # no /etc/hostname outside an engine: the namespace decides alone
    if namespace == HOST_UTS_NAMESPACE:
        return False, evidence + " (the host's)"
    return True, evidence


@rule(
    id="own-cgroup-namespace",
    title="The container has a cgroup namespace of its own: it sees its own cgroup, not "
    "the host's tree",
    reference="Kubernetes on cgroup v2 and Docker's cgroup v2 default; CVE-2022-0492",
    url=PSS_URL,
    remedy=Remedy(
        compose="cgroup: private",
        docker_run="--cgroupns=private",
        kubernetes="a cgroup v2 node (the runtime then gives each container its own)",
    ),
    required=False,
)
def own_cgroup_namespace(host: Host) -> Verdict:
    if host.runtime.gvisor:
        return True, f"{GVISOR_OWN}: the host's cgroups are not shown"
    path = f"/proc/{host.server_pid}/cgroup"
    # within a namespace of its own, every cgroup the server is in is that namespace's "/"
    shown = [line.split(":", 2)[2] for line in host.read(path).splitlines() if line.count(":") >= 2]
    deeper = sorted({cgroup for cgroup in shown if cgroup != "/"})
    evidence = f"{path} {listed(deeper) if deeper else '/'}"
    try:
        namespace = host.link(f"/proc/{host.server_pid}/ns/cgroup")
        evidence += f"; /proc/{host.server_pid}/ns/cgroup {namespace}"
    except Unreadable:
        namespace = ""
    if deeper or namespace == HOST_CGROUP_NAMESPACE:
        return False, evidence + " (the host's cgroup namespace: its whole tree is visible)"
    return True, evidence


def listening_ports(host: Host) -> set[int]:
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = host.read(path).splitlines()[1:]
        except Unreadable:
            if path.endswith("6"):
                continue  # a kernel without IPv6
            raise
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == TCP_LISTEN:
                address, _, port = fields[1].rpartition(":")
                if address != EMBEDDED_DNS:
                    ports.add(int(port, 16))
    return ports


@rule(
    id="only-expected-ports-listening",
    title="Nothing listens but the server",
    reference=f"{CIS} 5.8",
    url=CIS_URL,
    remedy=Remedy(
        compose="run one service a container; publish only its port",
        docker_run="one service a container",
        kubernetes="one service a container; a NetworkPolicy",
    ),
    required=False,
)
def only_expected_ports(host: Host) -> Verdict:
    ports = listening_ports(host)
    unexpected = sorted(ports - host.expected_ports)
    shown = ", ".join(str(port) for port in sorted(ports)) or "none"
    if unexpected:
        return False, f"/proc/net/tcp, tcp6 listening: {shown}; unexpected: {unexpected}"
    return True, f"/proc/net/tcp, tcp6 listening: {shown}"


@rule(
    id="no-ssh-daemon",
    title="No SSH daemon runs in the container",
    reference=f"{CIS} 5.6",
    url=CIS_URL,
    remedy=Remedy(
        compose="no sshd in the image: docker compose exec for a shell",
        docker_run="no sshd in the image: docker exec for a shell",
        kubernetes="no sshd in the image: kubectl exec for a shell",
    ),
    required=False,
)
def no_ssh_daemon(host: Host) -> Verdict:
    processes = host.processes()
    found = [str(process.pid) for process in processes if process.text("Name") == "sshd"]
    if found:
        return False, f"/proc/<pid>/status Name sshd: pids {listed(found)}"
    return True, f"/proc/<pid>/status: no sshd among {len(processes)} processes"
