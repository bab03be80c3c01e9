"""Linux capability numbers and names (include/uapi/linux/capability.h)."""

CAPABILITY_NAMES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

# the set Docker grants a container unless told otherwise (moby's oci/caps/defaults.go)
DOCKER_DEFAULT_MASK = 0x00000000A80425FB


def capability_name(bit: int) -> str:
    """Name capability number `bit`; one newer than this table is CAP_<bit>, never dropped."""
    return CAPABILITY_NAMES[bit] if bit < len(CAPABILITY_NAMES) else f"CAP_{bit}"


def set_bits(mask: int) -> list[int]:
    """List the numbers of the bits set in `mask`, lowest first."""
    return [bit for bit in range(mask.bit_length()) if mask >> bit & 1]


def capability_names(mask: int) -> list[str]:
    """Name every capability in `mask`, in bit order."""
    return [capability_name(bit) for bit in set_bits(mask)]


def beyond_docker_default(mask: int) -> list[str]:
    """Name the capabilities in `mask` that Docker's default set does not grant."""
    return capability_names(mask & ~DOCKER_DEFAULT_MASK)
