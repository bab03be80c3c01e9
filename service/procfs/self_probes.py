"""What only a system call shows, asked by the process answering /posture: its
no_new_privs flag (prctl), and whether it may make a user namespace (tried by a child
that exits at once, so nothing here changes).

A sandbox may leave these out of /proc (gVisor writes no NoNewPrivs line); the
posture checks ask here only when the answering process is the server's own.
"""

import ctypes
import errno
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

PR_GET_NO_NEW_PRIVS = 39
CLONE_NEWUSER = 0x10000000
# the child's exit code when unshare succeeded; above it, 100 + errno
CREATED = 0
ERRNO_BASE = 100


@dataclass(frozen=True)
class Probes:
    """The answers: None where this process cannot ask (no libc through ctypes)."""

    no_new_privs: Callable[[], bool | None]
    # whether a user namespace was made, and what unshare answered
    user_namespace: Callable[[], tuple[bool, str] | None]


def libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def no_new_privs() -> bool | None:
    """prctl(PR_GET_NO_NEW_PRIVS) of this process: a flag fork passes on, never cleared."""
    library = libc()
    if library is None:
        return None
    answer = int(library.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
    return None if answer < 0 else bool(answer)


def child_exit(code: int) -> tuple[bool, str]:
    if code == CREATED:
        return True, "unshare(CLONE_NEWUSER) succeeded"
    number = code - ERRNO_BASE
    name = errno.errorcode.get(number, f"errno {number}")
    return False, f"unshare(CLONE_NEWUSER) failed with {name}"


@functools.cache
def user_namespace() -> tuple[bool, str] | None:
    """Try unshare(CLONE_NEWUSER) in a child, once a process: a fork per request would
    let a client spend the pids limit."""
    library = libc()
    if library is None:
        return None
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child: no return, no cleanup, no coverage)
        answer = library.unshare(CLONE_NEWUSER)
        os._exit(CREATED if answer == 0 else ERRNO_BASE + min(ctypes.get_errno(), 150))
    _, status = os.waitpid(pid, 0)
    return child_exit(os.waitstatus_to_exitcode(status))


LIVE = Probes(no_new_privs, user_namespace)
