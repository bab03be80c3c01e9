import shutil
import subprocess

import pytest

from service.procfs.capabilities import (
    CAPABILITY_NAMES,
    DOCKER_DEFAULT_MASK,
    beyond_docker_default,
    capability_names,
)
from tests.known_values import DOCKER_DEFAULT_NAMES

FULL_MASK = (1 << 41) - 1


def test_no_capabilities() -> None:
    assert capability_names(0) == []


def test_docker_default_set() -> None:
    assert capability_names(DOCKER_DEFAULT_MASK) == DOCKER_DEFAULT_NAMES
    assert beyond_docker_default(DOCKER_DEFAULT_MASK) == []


def test_full_mask_names_all_41_in_bit_order() -> None:
    names = capability_names(FULL_MASK)
    assert len(names) == 41
    assert names[0] == "CAP_CHOWN"
    assert names[21] == "CAP_SYS_ADMIN"
    assert names[40] == "CAP_CHECKPOINT_RESTORE"
    assert "CAP_SYS_ADMIN" in beyond_docker_default(FULL_MASK)
    assert len(beyond_docker_default(FULL_MASK)) == 41 - 14


def test_unknown_bits_are_named_not_dropped() -> None:
    assert capability_names(1 << 41 | 1 << 63) == ["CAP_41", "CAP_63"]


@pytest.mark.parametrize("mask", [0, DOCKER_DEFAULT_MASK, FULL_MASK, 0x000001FFFEFFFFFF, 1 << 21])
def test_names_match_capsh_decode(mask: int) -> None:
    capsh = shutil.which("capsh")
    assert capsh, "capsh is missing: apt-get install libcap2-bin (scripts/test needs it)"
    out = subprocess.run(
        [capsh, f"--decode={mask:016x}"], capture_output=True, text=True, check=True
    ).stdout
    decoded = out.strip().partition("=")[2]
    expected = [name.upper() for name in decoded.split(",")] if decoded else []
    assert capability_names(mask) == expected
    assert len(CAPABILITY_NAMES) == 41
