"""The probes /posture asks the kernel by, run for real on this process."""

import errno
import json
import subprocess
import sys

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


def test_a_childs_exit_code_says_what_unshare_answered() -> None:
    assert self_probes.child_exit(0) == (True, "unshare(CLONE_NEWUSER) succeeded")
    assert self_probes.child_exit(100 + errno.EPERM) == (
        False,
        "unshare(CLONE_NEWUSER) failed with EPERM",
    )
    assert self_probes.child_exit(100 + errno.ENOSPC)[1].endswith("ENOSPC")


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
