"""What only a system call shows, asked by the process answering /posture: its
no_new_privs flag (prctl), and whether it may make a user namespace (tried by a child
that says what unshare answered and exits, so nothing here changes).

A sandbox may leave these out of /proc (gVisor writes no NoNewPrivs line); the
posture checks ask here only when the answering process is the server's own.
"""

import ctypes
import errno
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

PR_GET_NO_NEW_PRIVS = 39
CLONE_NEWUSER = 0x10000000
# what the child says when unshare succeeded; above it, 100 + errno
CREATED = 0
ERRNO_BASE = 100
# how long the child's exit is waited for once it has answered
REAP_WITHIN = 1.0


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


def child_answer(code: int) -> tuple[bool, str]:
    if code == CREATED:
        return True, "unshare(CLONE_NEWUSER) succeeded"
    number = code - ERRNO_BASE
    name = errno.errorcode.get(number, f"errno {number}")
    return False, f"unshare(CLONE_NEWUSER) failed with {name}"


def reap(pid: int) -> None:
    """Collect the child's exit, without ever blocking on it: under gevent, os.waitpid
    waits for an event that a child exiting before its watcher starts never sends (seen
    to hang 1 run in 2 under load), and the event loop may have collected it already."""
    deadline = time.monotonic() + REAP_WITHIN
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] != 0:
                return
        except ChildProcessError:
            return
        time.sleep(0.005)


@functools.cache
def user_namespace() -> tuple[bool, str] | None:
    """Try unshare(CLONE_NEWUSER) in a child, once a process: a fork per request would
    let a client spend the pids limit. The child writes what unshare answered into a
    pipe, so the answer never waits on how its exit is collected."""
    library = libc()
    if library is None:
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child: no return, no cleanup, no coverage)
        answer = library.unshare(CLONE_NEWUSER)
        code = CREATED if answer == 0 else ERRNO_BASE + min(ctypes.get_errno(), 150)
        os.write(write_end, bytes([code]))
        os._exit(0)
    os.close(write_end)
    try:
        # the child writes at once and exits: the read ends within its lifetime
        written = os.read(read_end, 1)
    finally:
        os.close(read_end)
        reap(pid)
    # nothing written: the child died before it could say
    return child_answer(written[0]) if written else None


LIVE = Probes(no_new_privs, user_namespace)
