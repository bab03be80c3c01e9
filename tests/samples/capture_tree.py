"""Copy what the posture checks read into a tar on stdout: run as PID 1 of a container.

    docker run --rm [RUN OPTIONS] IMAGE python3 -c "$(cat capture_tree.py)" | tar -x -C OUT

Nothing is mounted for it, so the mounts it records are the run's own. The files are
read by a child, as a gunicorn worker reads them for the master (PID 1); device nodes
become empty files of the same name. How tests/samples/gvisor-* were made.
"""

import os
import sys
import tarfile

FILES = (
    "/proc/version", "/proc/cmdline", "/proc/meminfo", "/proc/sentry-meminfo",
    "/proc/self/uid_map", "/proc/self/status", "/proc/1/status", "/proc/1/mountinfo",
    "/proc/1/cgroup", "/proc/net/dev", "/proc/net/tcp", "/proc/net/tcp6",
    "/proc/sys/kernel/hostname", "/proc/sys/kernel/cap_last_cap", "/etc/hostname",
    "/sys/devices/system/cpu/online", "/proc/sys/user/max_user_namespaces",
)  # fmt: skip


def capture(out: str) -> None:
    for path in FILES:
        try:
            with open(path, "rb") as source:
                data = source.read()
        except OSError:
            continue
        name = path.replace("/proc/self/", f"/proc/{os.getpid()}/")
        target = out + name
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as copy:
            copy.write(data)
    for name in os.listdir("/dev"):
        target = f"{out}/dev/{name}"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.isdir(f"/dev/{name}"):
            open(target, "wb").close()
        else:
            os.makedirs(target, exist_ok=True)
    with open(f"{out}/self-pid", "w") as note:
        note.write(f"{os.getpid()}\n")


if __name__ == "__main__":
    # the container's own tmpfs, gone with it
    out = "/dev/shm/tree"
    child = os.fork()
    if child == 0:
        capture(out)
        os._exit(0)
    os.waitpid(child, 0)
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as tar:
        tar.add(out, arcname=".")
