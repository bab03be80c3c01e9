"""Parse /proc/<pid>/mountinfo (proc_pid_mountinfo(5)) into typed mounts."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: where, what of its source filesystem, and how."""

    # the path within the source filesystem that is mounted here: `/` for a whole
    # filesystem, the host's path for a bind mount of a host directory or file
    root: str
    point: str
    # major:minor of the filesystem: a bind of a file from the container's own /dev
    # (Docker's masks of /proc/kcore and the like) shares its device with /dev
    device: str
    options: frozenset[str]
    # "shared:N", "master:N", ...: empty for a private mount
    propagation: tuple[str, ...]
    filesystem: str
    source: str

    @property
    def writable(self) -> bool:
        return "rw" in self.options

    @property
    def executable(self) -> bool:
        return "noexec" not in self.options


def unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (`\\040`)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text: str) -> list[Mount]:
    """Every well-formed line, in order; a malformed line is left out, never guessed at."""
    mounts = []
    for line in text.splitlines():
        before, separator, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not separator or len(fields) < 6 or len(tail) < 2:
            continue
        mounts.append(
            Mount(
                device=fields[2],
                root=unescape(fields[3]),
                point=unescape(fields[4]),
                options=frozenset(fields[5].split(",")),
                propagation=tuple(fields[6:]),
                filesystem=tail[0],
                source=unescape(tail[1]),
            )
        )
    return mounts
