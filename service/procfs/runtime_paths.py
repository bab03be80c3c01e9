"""The sockets and folders of container runtimes and orchestrators, by their names.

A socket is a runtime's by its file name (its usual paths differ between distributions
and Kubernetes flavours, and a bind may rename its folder); a folder is a runtime's
state by where it lies. On a host whose /run is a tmpfs, a bind of /run/containerd
shows the path within that tmpfs, `/containerd`: tmpfs paths are matched without /run.
"""

import re

# (the socket's file name, or its last two path parts, and whose it is)
RUNTIME_SOCKETS = (
    ("docker.sock", "Docker"),
    ("containerd.sock", "containerd"),
    ("containerd.sock.ttrpc", "containerd"),
    ("cri-containerd.sock", "containerd"),
    ("crio.sock", "CRI-O"),
    ("cri-dockerd.sock", "cri-dockerd"),
    ("dockershim.sock", "the kubelet's dockershim"),
    ("kubelet.sock", "the kubelet"),
    ("podman.sock", "Podman"),
    ("buildkitd.sock", "BuildKit"),
    ("isulad.sock", "iSulad"),
    ("frakti.sock", "frakti"),
    ("lxd/unix.socket", "LXD"),
    ("incus/unix.socket", "Incus"),
)
# where those sockets usually are, looked for even when no bind of their own shows them
# (a bind of /var/run or /run brings them along)
USUAL_SOCKET_PATHS = (
    "/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock",
    "/run/k0s/containerd.sock", "/var/snap/microk8s/common/run/containerd.sock",
    "/var/run/crio/crio.sock", "/run/crio/crio.sock", "/var/run/cri-dockerd.sock",
    "/run/podman/podman.sock", "/run/buildkit/buildkitd.sock",
    "/var/lib/kubelet/pod-resources/kubelet.sock", "/var/lib/kubelet/device-plugins/kubelet.sock",
)  # fmt: skip
# a runtime's or orchestrator's state, its credentials among them
RUNTIME_STATE = (
    (re.compile(r"^(/var)?/lib/kubelet(/|$)"),
     "the kubelet's state: every pod's tokens and secrets"),
    (re.compile(r"^/etc/kubernetes(/|$)"), "the node's Kubernetes configuration and PKI"),
    (re.compile(r"^(/var)?/lib/(docker|containerd|containers|crio|cri-dockerd)(/|$)"),
     "a container runtime's state"),
    (re.compile(r"^(/var)?/lib/(rancher|k0s|etcd)(/|$)|^/etc/rancher(/|$)"),
     "a Kubernetes distribution's state and credentials"),
    (re.compile(r"^/etc/(docker|containerd|crio)(/|$)"), "a container runtime's configuration"),
    (re.compile(r"^(/var)?/run/(docker|containerd|crio|k3s|podman|buildkit)(/|$)"),
     "a container runtime's sockets and state"),
)  # fmt: skip
# the same folders as a /run tmpfs shows them
RUN_TMPFS_STATE = re.compile(r"^/(docker|containerd|crio|k3s|podman|buildkit)(/|$)")


def runtime_of_socket(path: str) -> str | None:
    """Whose socket `path` is, by its name; None for a name no runtime uses."""
    for name, runtime in RUNTIME_SOCKETS:
        if path == name or path.endswith("/" + name):
            return runtime
    return None


def runtime_state(path: str, in_memory: bool) -> str | None:
    """What runtime state the host path `path` holds, or None. `in_memory`: the path is
    within a tmpfs, which on most hosts is /run."""
    if in_memory:
        return "a container runtime's sockets and state" if RUN_TMPFS_STATE.match(path) else None
    return next((what for pattern, what in RUNTIME_STATE if pattern.match(path)), None)
