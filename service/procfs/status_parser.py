"""Turn the text of /proc/<pid>/status into a typed document (see proc_pid_status(5))."""

import re
from collections.abc import Callable
from typing import TypedDict

from service.procfs.capabilities import beyond_docker_default, capability_names
from service.procfs.signals import signal_names


class IdSet(TypedDict):
    real: int
    effective: int
    saved: int
    filesystem: int


class Mask(TypedDict):
    mask: str
    names: list[str]


class EffectiveCapabilities(Mask):
    beyond_docker_default: list[str]


class SignalQueue(TypedDict):
    queued: int
    limit: int


class NumberList(TypedDict):
    written: str
    expanded: list[int]


class Mode(TypedDict):
    value: int
    mode: str


class State(TypedDict):
    code: str
    word: str


class Umask(TypedDict):
    octal: str
    value: int


Field = (
    str | int | bool | list[int] | IdSet | Mask | SignalQueue | NumberList | Mode | State | Umask
)

SECCOMP_MODES = ("disabled", "strict", "filter")
MEMORY_LINE = re.compile(r"(\d+)\s*kB", re.IGNORECASE)
HEX = re.compile(r"[0-9a-fA-F]+")
OCTAL = re.compile(r"[0-7]+")
STATE_LINE = re.compile(r"(\S)\s*\((.*)\)")
# more CPUs or memory nodes than any kernel supports (NR_CPUS is at most 8192)
MAX_LIST_LENGTH = 65536


def parse_int(value: str) -> int:
    return int(value, 10)


def parse_hex(value: str) -> int:
    """A mask as the kernel writes it: hex digits only (int() alone allows `0x`, `_`, signs)."""
    if HEX.fullmatch(value) is None:
        raise ValueError(value)
    return int(value, 16)


def parse_memory(value: str) -> int:
    """Bytes from a line such as `  1692 kB` (some kernels write `kb`)."""
    match = MEMORY_LINE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    return int(match[1]) * 1024


def parse_ids(value: str) -> IdSet:
    real, effective, saved, filesystem = (int(part) for part in value.split())
    return {"real": real, "effective": effective, "saved": saved, "filesystem": filesystem}


def parse_int_list(value: str) -> list[int]:
    return [int(part) for part in value.split()]


def parse_capabilities(value: str) -> Mask:
    return {"mask": value, "names": capability_names(parse_hex(value))}


def parse_effective_capabilities(value: str) -> EffectiveCapabilities:
    mask = parse_hex(value)
    return {
        "mask": value,
        "names": capability_names(mask),
        "beyond_docker_default": beyond_docker_default(mask),
    }


def parse_signals(value: str) -> Mask:
    return {"mask": value, "names": signal_names(parse_hex(value))}


def parse_signal_queue(value: str) -> SignalQueue:
    queued, limit = value.split("/")
    return {"queued": int(queued), "limit": int(limit)}


def expand_list(value: str) -> list[int]:
    """Expand a kernel list such as `0-3,8,10-11` into its numbers."""
    numbers: list[int] = []
    for part in filter(None, value.split(",")):
        first, _, last = part.partition("-")
        start, stop = int(first), int(last or first) + 1
        # checked before a range is made: len() of a huge range overflows
        if len(numbers) + max(stop - start, 0) > MAX_LIST_LENGTH:
            raise ValueError(value)
        numbers.extend(range(start, stop))
    return numbers


def parse_number_list(value: str) -> NumberList:
    return {"written": value, "expanded": expand_list(value)}


def parse_seccomp(value: str) -> Mode:
    number = int(value)
    if number not in range(len(SECCOMP_MODES)):
        raise ValueError(value)
    return {"value": number, "mode": SECCOMP_MODES[number]}


def parse_flag(value: str) -> bool:
    return {"0": False, "1": True}[value]


def parse_state(value: str) -> State:
    match = STATE_LINE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    return {"code": match[1], "word": match[2]}


def parse_umask(value: str) -> Umask:
    if OCTAL.fullmatch(value) is None:
        raise ValueError(value)
    return {"octal": value, "value": int(value, 8)}


MEMORY_KEYS = (
    "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem",
    "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmPMD", "VmSwap", "HugetlbPages",
)  # fmt: skip
INT_KEYS = (
    "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "FDSize", "Kthread", "Threads", "CoreDumping",
    "THP_enabled", "Seccomp_filters", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches",
)  # fmt: skip

PARSERS: dict[str, Callable[[str], Field]] = {
    "State": parse_state,
    "Umask": parse_umask,
    "Uid": parse_ids,
    "Gid": parse_ids,
    "Groups": parse_int_list,
    "NStgid": parse_int_list,
    "NSpid": parse_int_list,
    "NSpgid": parse_int_list,
    "NSsid": parse_int_list,
    "SigQ": parse_signal_queue,
    "CapInh": parse_capabilities,
    "CapPrm": parse_capabilities,
    "CapEff": parse_effective_capabilities,
    "CapBnd": parse_capabilities,
    "CapAmb": parse_capabilities,
    "NoNewPrivs": parse_flag,
    "Seccomp": parse_seccomp,
    "Cpus_allowed_list": parse_number_list,
    "Mems_allowed_list": parse_number_list,
    **{key: parse_signals for key in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")},
    **{key: parse_memory for key in MEMORY_KEYS},
    **{key: parse_int for key in INT_KEYS},
}


def parse_value(key: str, value: str) -> Field:
    """Parse one line's value by its key; keep it as written when unknown or malformed."""
    parser = PARSERS.get(key)
    if parser is None:
        return value
    try:
        return parser(value)
    except (ValueError, IndexError, KeyError, ArithmeticError):
        # kernels add and change fields: never fail on one
        return value


def parse_status(text: str) -> dict[str, Field]:
    """Parse every `Key:<tab>value` line, in order, under its kernel name."""
    document: dict[str, Field] = {}
    for line in text.split("\n"):
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        document[key.strip()] = parse_value(key.strip(), value.strip())
    return document
