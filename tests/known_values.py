"""Values the tests share."""

import re
from pathlib import Path

# the names of Docker's default capability set, in bit order
DOCKER_DEFAULT_NAMES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SYS_CHROOT",
    "CAP_MKNOD",
    "CAP_AUDIT_WRITE",
    "CAP_SETFCAP",
]


def dockerfile_user() -> tuple[int, int]:
    """The UID and GID of the Dockerfile's numeric `USER`: the one source of both."""
    dockerfile = (Path(__file__).parents[1] / "Dockerfile").read_text()
    (user,) = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    return int(user[0]), int(user[1])


IMAGE_UID, IMAGE_GID = dockerfile_user()
