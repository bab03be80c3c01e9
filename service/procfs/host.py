"""The files the posture checks read, under a root that tests can move.

Every read goes through here, so that a check never opens anything else, never
writes, and turns a missing, unreadable or malformed file into `Unreadable` with
the path and the reason, never into an exception of its own.
"""

import functools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from service.procfs.host_paths import OwnMounts, own_mounts
from service.procfs.mounts import Mount, parse_mountinfo
from service.procfs.runtime import GVISOR_MARK, Runtime, identify
from service.procfs.self_probes import LIVE, Probes
from service.procfs.status_parser import Field, IdSet, Mask, Mode, parse_hex, parse_status

# a bound on the processes the checks read from /proc
PROCESSES_READ = 4096
# a bound on the entries of a bound folder looked at for sockets
SOCKETS_SEARCHED = 2048


def socket_file(path: str | Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


class Unreadable(Exception):
    """The evidence for a check could not be read; the message says which and why."""


@dataclass(frozen=True)
class ProcessStatus:
    """A process's /proc/<pid>/status, parsed once by the parser `GET /?format=json` uses."""

    pid: int
    document: dict[str, Field]

    @property
    def path(self) -> str:
        return f"/proc/{self.pid}/status"

    def _field(self, key: str) -> Field:
        if key not in self.document:
            raise Unreadable(f"{self.path} has no {key} line")
        return self.document[key]

    def _malformed(self, key: str) -> Unreadable:
        return Unreadable(f"{self.path} {key} is malformed")

    def text(self, key: str) -> str:
        value = self._field(key)
        if not isinstance(value, str):
            raise self._malformed(key)
        return value

    def number(self, key: str) -> int:
        value = self._field(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._malformed(key)
        return value

    def flag(self, key: str) -> bool:
        value = self._field(key)
        if not isinstance(value, bool):
            raise self._malformed(key)
        return value

    def _parsed(self, key: str, marker: str) -> dict[str, object]:
        """The field's parsed document, which the parser gives `marker`; else it was malformed."""
        value = self._field(key)
        if not isinstance(value, dict) or marker not in value:
            raise self._malformed(key)
        return dict(value)

    def ids(self, key: str) -> IdSet:
        return cast(IdSet, self._parsed(key, "effective"))

    def mask(self, key: str) -> tuple[int, str]:
        """A capability mask: its value, and its digits as the kernel wrote them."""
        written = cast(Mask, self._parsed(key, "names"))["mask"]
        return parse_hex(written), written

    def seccomp(self) -> int:
        return cast(Mode, self._parsed("Seccomp", "mode"))["value"]


@dataclass
class Host:
    """The container's files, read under `root` (`/` in production).

    `server_pid` is this server's own process (gunicorn's master) as this PID
    namespace numbers it: the checks about "the server" read it, not PID 1, which
    under a shared PID namespace is the host's init.
    """

    root: Path
    server_pid: int
    expected_ports: frozenset[int] = frozenset()
    probes: Probes = LIVE
    _statuses: dict[int, ProcessStatus] = field(default_factory=dict, repr=False)

    def path(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def read(self, path: str) -> str:
        try:
            return self.path(path).read_text()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise Unreadable(f"{path}: {reason}") from None

    def read_bytes(self, path: str) -> bytes:
        try:
            return self.path(path).read_bytes()
        except OSError as error:
            raise Unreadable(f"{path}: {error.strerror}") from None

    def link(self, path: str) -> str:
        """Where symbolic link `path` points (`ipc:[4026531839]` for a namespace)."""
        try:
            return os.readlink(self.path(path))
        except OSError as error:
            raise Unreadable(f"{path}: {error.strerror}") from None

    def exists(self, path: str) -> bool:
        """Whether `path` is there to see: a folder this process may not search hides it."""
        return os.path.exists(self.path(path))

    def entries(self, path: str) -> list[str]:
        """The names in directory `path`, sorted."""
        try:
            return sorted(os.listdir(self.path(path)))
        except OSError as error:
            raise Unreadable(f"{path}: {error.strerror}") from None

    def is_socket(self, path: str) -> bool:
        return socket_file(self.path(path))

    def owner_writable(self, path: str) -> bool:
        """Whether `path` belongs to the owner of `/` (root, here) and its mode lets that
        owner write it; opens nothing. Under a user namespace the host's files belong to
        nobody here, and so are no one's to write."""
        try:
            found, top = os.stat(self.path(path)), os.stat(self.root)
        except OSError:
            return False
        return found.st_uid == top.st_uid and bool(found.st_mode & stat.S_IWUSR)

    def sockets_in(self, path: str) -> list[str]:
        """The sockets directly in folder `path`, looking at no more than SOCKETS_SEARCHED
        entries (a bound host root holds thousands of files: a walk would be slow)."""
        try:
            with os.scandir(self.path(path)) as entries:
                found = []
                for count, entry in enumerate(entries):
                    if count >= SOCKETS_SEARCHED:
                        break
                    if socket_file(entry.path):
                        found.append(f"{path.rstrip('/')}/{entry.name}")
        except OSError:
            return []
        return sorted(found)

    def writable(self, path: str) -> bool:
        """Whether this process may write `path` (asks the kernel; opens nothing)."""
        return os.access(self.path(path), os.W_OK)

    def status(self, pid: int) -> ProcessStatus:
        if pid not in self._statuses:
            text = self.read(f"/proc/{pid}/status")
            self._statuses[pid] = ProcessStatus(pid, parse_status(text))
        return self._statuses[pid]

    def processes(self) -> list[ProcessStatus]:
        """The processes /proc shows, lowest PID first, at most PROCESSES_READ; one that
        ends while we look is left out."""
        pids = sorted(int(name) for name in self.entries("/proc") if name.isdigit())
        found = []
        for pid in pids[:PROCESSES_READ]:
            try:
                found.append(self.status(pid))
            except Unreadable:
                continue
        return found

    @property
    def server(self) -> ProcessStatus:
        return self.status(self.server_pid)

    @functools.cached_property
    def mounts(self) -> list[Mount]:
        """The server's mounts (its mount namespace: PID 1's may be the host's)."""
        path = f"/proc/{self.server_pid}/mountinfo"
        mounts = parse_mountinfo(self.read(path))
        if not mounts:
            raise Unreadable(f"{path} has no mount")
        return mounts

    @functools.cached_property
    def own_mounts(self) -> OwnMounts:
        """The server's mounts without those a bind of a host folder carried beneath it."""
        return own_mounts(self.mounts, gvisor=self.runtime.gvisor)

    def ancestry(self) -> list[ProcessStatus]:
        """The server and each parent up to the first one outside this PID namespace."""
        chain = [self.server]
        while (parent := chain[-1].number("PPid")) != 0 and len(chain) < 64:
            chain.append(self.status(parent))
        return chain

    def cgroup_v2(self) -> bool:
        return self.exists("/sys/fs/cgroup/cgroup.controllers")

    @functools.cached_property
    def runtime(self) -> Runtime:
        def text(path: str) -> str:
            try:
                return self.read(path)
            except Unreadable:
                return ""

        try:
            mounts = self.mounts
        except Unreadable:
            mounts = []
        return identify(text("/proc/version"), text("/proc/cmdline"), self.exists(GVISOR_MARK),
                        text("/proc/self/uid_map"), mounts)  # fmt: skip

    def mount_of(self, path: str) -> Mount:
        """The mount `path` lies on in the server's mount namespace: the deepest one."""
        covering = [mount for mount in self.mounts if path == mount.point
                    or path.startswith(mount.point.rstrip("/") + "/")]  # fmt: skip
        if not covering:
            raise Unreadable(f"/proc/{self.server_pid}/mountinfo has no mount for {path}")
        return max(covering, key=lambda mount: len(mount.point))

    def asked_by_server(self) -> bool:
        """Whether the process reading these files is the server or one of its own (a
        worker): then what it asks of the kernel about itself is the server's."""
        try:
            pid = self.status_of_self().number("Pid")
            for _ in range(64):
                if pid == self.server_pid:
                    return True
                if pid in (0, 1):
                    return False
                pid = self.status(pid).number("PPid")
        except Unreadable:
            return False
        return False

    def status_of_self(self) -> ProcessStatus:
        return ProcessStatus(0, parse_status(self.read("/proc/self/status")))
