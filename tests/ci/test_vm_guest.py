"""The VM harness (integration/vm.py) tells a guest that is gone from a command that
failed: once QEMU has exited, every command fails at once with the guest's console,
not at its timeout (a guest kernel's panic once cost a CI run 15 minutes of timeouts)."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.vm import Guest, GuestCommandFailed, GuestGone
from tests.servers import free_port

PANIC = "Kernel panic - not syncing: Fatal exception in interrupt"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "console.log").write_text(f"[  199.98] traps: PANIC: double fault\n{PANIC}\n")
    (tmp_path / "qemu.log").write_text("")
    return tmp_path


@pytest.fixture
def running() -> Iterator["subprocess.Popen[bytes]"]:
    """A process standing for a QEMU that still runs."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def guest_on_a_closed_port(logs: Path, qemu: "subprocess.Popen[bytes]") -> Guest:
    # nothing listens on the port: ssh fails at once, as it does when QEMU has gone
    return Guest(logs, free_port(), logs / "ssh.sock", qemu, logs)


def test_a_command_in_a_guest_whose_qemu_has_exited_fails_at_once_with_its_console(
    logs: Path,
) -> None:
    exited = subprocess.Popen(["false"])
    exited.wait()
    started = time.monotonic()
    with pytest.raises(GuestGone, match="QEMU exited 1") as gone:
        guest_on_a_closed_port(logs, exited).run("true", timeout=60)
    assert PANIC in str(gone.value)
    assert time.monotonic() - started < 10


def test_a_guest_whose_qemu_runs_is_not_gone_when_ssh_fails(
    logs: Path, running: "subprocess.Popen[bytes]"
) -> None:
    with pytest.raises(GuestCommandFailed, match="exited 255 in the VM"):
        guest_on_a_closed_port(logs, running).run("true", timeout=60)
