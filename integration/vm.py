"""A Debian 13 VM under QEMU, made by scripts/build-vm-image: booted, reached as root over
ssh, and shut down with QEMU ended whatever fails (docs/vm-host.md).

`python -m integration.vm` (scripts/test-vm --shell) boots it as the tests do, with the
suite's image loaded, and opens a root shell in it.
"""

import ctypes
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

from integration.helpers import COMPOSE_FILES, ROOT, SOURCE_REVISION, TEST_IMAGE
from tests.servers import free_port

BUILD_IMAGE = ROOT / "scripts" / "build-vm-image"
MEMORY_MIB = 4096
CPUS = 2
# under TCG the guest answers ssh about a minute after QEMU starts
BOOT_WITHIN = 300
PR_SET_PDEATHSIG = 1
# what ssh exits with when it cannot reach the guest (a command's own status otherwise)
SSH_FAILED = 255
# where the guest mounts the 9p shares (scripts/build-vm-image makes both folders)
SHARES = {"repo": "/repo", "images": "/images"}
# read-only shares, so the guest may cache what it reads: the image (53 MB) is read in
# under a second, not 16
NINE_P = "trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro"
ENGINE_UP = "until docker info >/dev/null 2>&1; do sleep 1; done"


class GuestCommandFailed(Exception):
    """A command in the guest exited non-zero; the message holds its output."""


class GuestGone(RuntimeError):
    """QEMU has exited under a command: the guest's kernel panicked (it reboots a second
    after, and -no-reboot ends QEMU) or QEMU died. The message ends with its console."""


def accelerator() -> str:
    """KVM where the host has Intel's or AMD's, TCG (software emulation) otherwise: a PVM
    /dev/kvm (kvm_pvm, a guest's own KVM) kills a stock kernel in its decompressor.

    TCG on one host thread: with a thread for each virtual CPU (thread=multi, twice as
    fast here), QEMU 7.2's guest once died in CI of a double fault in kmalloc, its
    registers garbled, right after a cmpxchg16b; single-threaded TCG is the mode QEMU
    keeps exact. IBDEVSERVER_VM_ACCEL=tcg,thread=multi takes the risk for speed."""
    if chosen := os.environ.get("IBDEVSERVER_VM_ACCEL"):
        return chosen
    hardware = any(Path("/sys/module", name).exists() for name in ("kvm_intel", "kvm_amd"))
    if hardware and os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "kvm"
    return "tcg,thread=single"


def die_with_parent() -> None:
    """In QEMU's process before exec: the kernel kills it when its parent dies, even by
    SIGKILL, so no QEMU outlives the run that started it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Guest:
    """The booted VM: root over ssh on a forwarded loopback port, its host key checked."""

    def __init__(
        self, image: Path, port: int, control: Path, qemu: "subprocess.Popen[bytes]", logs: Path
    ) -> None:
        # each command goes over the master connection at `control` once there is one: a
        # new ssh handshake takes a second or more under TCG
        self.ssh = [
            "ssh", "-p", str(port), "-i", str(image / "id_ed25519"),
            "-o", f"UserKnownHostsFile={image / 'known_hosts'}",
            "-o", "HostKeyAlias=ibdevserver-vm", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            "-o", f"ControlPath={control}", "root@127.0.0.1",
        ]  # fmt: skip
        self.qemu = qemu
        self.logs = logs
        self.timings: dict[str, float] = {}

    def run(self, *args: str, input: str | None = None, timeout: float = 180) -> str:
        """Run `args` in the guest; its stdout, or GuestCommandFailed with all it said, or
        GuestGone when the guest is no more."""
        try:
            result = subprocess.run(
                [*self.ssh, shlex.join(args)],
                input=input or "", capture_output=True, text=True, timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            self.raise_if_gone()
            raise
        if result.returncode == SSH_FAILED:
            self.raise_if_gone()
        if result.returncode != 0:
            raise GuestCommandFailed(
                f"{shlex.join(args)} exited {result.returncode} in the VM:\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result.stdout

    def raise_if_gone(self) -> None:
        """GuestGone if QEMU has exited, or does within a second (ssh sees its connection
        drop as QEMU ends): every later command then fails at once, not at its timeout."""
        with suppress(subprocess.TimeoutExpired):
            self.qemu.wait(timeout=1)
        if self.qemu.returncode is not None:
            raise GuestGone(
                f"the VM is gone: QEMU exited {self.qemu.returncode}; "
                f"its output:\n{tail(self.logs / 'qemu.log')}\n"
                f"the guest's console ({self.logs / 'console.log'}) ends:\n"
                f"{tail(self.logs / 'console.log', 60)}"
            )


def tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_for_ssh(guest: Guest) -> None:
    """Until sshd answers; GuestGone if QEMU exits first."""
    deadline = time.monotonic() + BOOT_WITHIN
    while time.monotonic() < deadline:
        try:
            guest.run("true", timeout=20)
            return
        except (GuestCommandFailed, subprocess.TimeoutExpired):
            # a refused ssh has waited a second already, for QEMU's exit (raise_if_gone)
            time.sleep(1)
    raise RuntimeError(
        f"no ssh within {BOOT_WITHIN} s; the console ({guest.logs / 'console.log'}):\n"
        f"{tail(guest.logs / 'console.log')}"
    )


def shut_down(guest: Guest) -> None:
    """Power the guest off, then end QEMU for sure."""
    qemu = guest.qemu
    if qemu.poll() is None:
        # the connection drops as the guest goes down, or it is past answering
        with suppress(GuestCommandFailed, GuestGone, subprocess.TimeoutExpired):
            guest.run("systemctl", "poweroff", timeout=20)
        try:
            qemu.wait(timeout=60)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait(timeout=10)


@contextmanager
def booted(image: Path, shares: dict[str, Path], logs: Path) -> Iterator[Guest]:
    """Boot the VM in `image` with `shares` (9p tag: host folder, read-only); yield it
    once ssh answers. Its console and QEMU's own output are written into `logs`."""
    port = free_port()
    command = [
        "qemu-system-x86_64", "-nodefaults", "-display", "none", "-no-reboot",
        "-accel", accelerator(), "-m", str(MEMORY_MIB), "-smp", str(CPUS),
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"),
        # a kernel panic reboots, which -no-reboot turns into QEMU's exit: GuestGone
        "-append", "root=/dev/vda rw console=ttyS0 panic=1",
        # the guest's writes go to a temporary overlay: the cached image stays as made
        "-drive", f"file={image / 'disk.img'},format=raw,if=virtio,snapshot=on",
        # user-mode networking: no interface is made on the host, only this forward
        "-netdev", f"user,id=net,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=net", "-device", "virtio-rng-pci",
        "-serial", f"file:{logs / 'console.log'}",
    ]  # fmt: skip
    for tag, folder in shares.items():
        share = f"local,path={folder},mount_tag={tag},security_model=none,readonly=on"
        command += ["-virtfs", share]
    with open(logs / "qemu.log", "wb") as output:
        qemu = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
            preexec_fn=die_with_parent,
        )  # fmt: skip
    guest = Guest(image, port, logs / "ssh.sock", qemu, logs)
    master = None
    try:
        wait_for_ssh(guest)
        master = subprocess.Popen(
            [*guest.ssh[:-1], "-M", "-N", guest.ssh[-1]], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
        )  # fmt: skip
        yield guest
    finally:
        shut_down(guest)
        if master is not None:
            master.kill()
            master.wait()


def build_test_image() -> None:
    """Build the suite's image as its stacks do (a cache hit after the suite)."""
    files = [argument for name in COMPOSE_FILES for argument in ("-f", str(ROOT / name))]
    environment = dict(os.environ, IBDEVSERVER_IMAGE=TEST_IMAGE, SOURCE_REVISION=SOURCE_REVISION)
    subprocess.run(["docker", "compose", *files, "build", "server"], env=environment, check=True)


@contextmanager
def lab_guest(logs: Path) -> Iterator[Guest]:
    """The VM booted with this checkout mounted at /repo and the suite's image loaded;
    `guest.timings` says how long each step took."""
    started = time.monotonic()
    image = Path(subprocess.run([BUILD_IMAGE], stdout=subprocess.PIPE, text=True, check=True)
                 .stdout.strip())  # fmt: skip
    timings = {"image": time.monotonic() - started}
    started = time.monotonic()
    build_test_image()
    timings["build"] = time.monotonic() - started
    with tempfile.TemporaryDirectory() as images, ThreadPoolExecutor(1) as saver:
        # saved while the guest boots, which takes longer
        saved = saver.submit(subprocess.run, ["docker", "save", f"--output={images}/image.tar",
                                              TEST_IMAGE], check=True)  # fmt: skip
        started = time.monotonic()
        with booted(image, {"repo": ROOT, "images": Path(images)}, logs) as guest:
            timings["boot"] = time.monotonic() - started
            saved.result()
            started = time.monotonic()
            for tag, point in SHARES.items():
                guest.run("mount", "-t", "9p", "-o", NINE_P, tag, point)
            # the engine starts beside sshd: wait for it, within bounds
            guest.run("timeout", "120", "sh", "-c", ENGINE_UP)
            guest.run("docker", "load", "--input", "/images/image.tar", timeout=600)
            timings["load"] = time.monotonic() - started
            guest.timings = timings
            yield guest


def main() -> None:
    """Boot the VM as the tests do and open a root shell in it; power it off after."""
    with tempfile.TemporaryDirectory() as logs, lab_guest(Path(logs)) as guest:
        print(f"the VM is up: this checkout at /repo, {TEST_IMAGE} loaded; exit to power off")
        subprocess.run([*guest.ssh[:-1], "-t", guest.ssh[-1]], check=False)


if __name__ == "__main__":
    main()
