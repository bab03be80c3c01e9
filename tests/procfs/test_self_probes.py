"""The probes /posture asks the kernel by, run for real on this process."""

import errno
import json
import os
import subprocess
import sys
import time

import pytest

from service.procfs import self_probes


def test_no_new_privs_is_what_the_kernel_writes_in_proc() -> None:
    code = (
        "import ctypes, json\n"
        "from service.procfs.self_probes import no_new_privs\n"
        "if __import__('sys').argv[1] == 'set':\n"
        "    ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)\n"
        "line = [l for l in open('/proc/self/status') if l.startswith('NoNewPrivs:')]\n"
        "print(json.dumps([no_new_privs(), line[0].split()[1]]))\n"
    )
    for argument, expected in (("unset", '[false, "0"]'), ("set", '[true, "1"]')):
        answer = subprocess.run([sys.executable, "-c", code, argument], capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
        assert answer == expected


def test_the_childs_answer_says_what_unshare_answered() -> None:
    assert self_probes.child_answer(0) == (True, "unshare(CLONE_NEWUSER) succeeded")
    assert self_probes.child_answer(100 + errno.EPERM) == (
        False,
        "unshare(CLONE_NEWUSER) failed with EPERM",
    )
    assert self_probes.child_answer(100 + errno.ENOSPC)[1].endswith("ENOSPC")


def test_a_user_namespace_is_tried_once_a_process_by_a_child() -> None:
    code = (
        "import json, os\n"
        "from service.procfs.self_probes import user_namespace\n"
        "forks = []\n"
        "real = os.fork\n"
        "os.fork = lambda: forks.append(1) or real()\n"
        "first, second = user_namespace(), user_namespace()\n"
        "print(json.dumps([first, first == second, len(forks), os.getuid()]))\n"
    )
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    first, same, forks, uid = json.loads(answer)
    assert same
    assert forks == 1
    # root on a host that allows it, or an unprivileged user where the kernel lets one
    if uid == 0:
        assert first == [True, "unshare(CLONE_NEWUSER) succeeded"]
    else:
        assert first[1].startswith("unshare(CLONE_NEWUSER) ")


@pytest.mark.parametrize("exit_seen", ["never", "collected elsewhere"])
def test_the_answer_comes_whatever_becomes_of_the_childs_exit(
    monkeypatch: pytest.MonkeyPatch, exit_seen: str
) -> None:
    """Under gevent, os.waitpid may never report the child (its watcher started after
    it exited), or the event loop may collect the child first: the probe neither blocks
    on the exit nor goes without the answer."""
    real_waitpid = os.waitpid
    children: list[int] = []

    def waitpid(pid: int, options: int) -> tuple[int, int]:
        assert options == os.WNOHANG, "a blocking wait on the child"
        children.append(pid)
        if exit_seen == "never":
            return 0, 0
        raise ChildProcessError

    monkeypatch.setattr(os, "waitpid", waitpid)
    monkeypatch.setattr(self_probes, "REAP_WITHIN", 0.05)
    started = time.monotonic()
    answer = self_probes.user_namespace.__wrapped__()
    took = time.monotonic() - started
    real_waitpid(children[0], 0)
    assert answer is not None
    assert answer[1].startswith("unshare(CLONE_NEWUSER) ")
    assert took < 1
