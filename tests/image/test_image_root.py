"""image/assemble_root.py on this machine's own interpreter: the root it makes runs
Python alone (in a chroot), with the extension modules the service needs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from image.assemble_root import DROPPED_EXTENSIONS
from tests.paths import ROOT

# the base interpreter, not this venv's link to it, as the Dockerfile runs it
PYTHON = Path(sys.executable).resolve()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root assembled for this machine's interpreter, wherever its prefix is."""
    folder = tmp_path_factory.mktemp("rootfs")
    subprocess.run([str(PYTHON), "-m", "image.assemble_root", str(folder)], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    return folder


def run_in_root(root: Path, code: str) -> str:
    """`code` run by the root's interpreter with the root as `/`."""
    enter = [str(shutil.which("chroot")), str(root)] if os.geteuid() == 0 else [
        str(shutil.which("unshare")), "--map-root-user", f"--root={root}"]  # fmt: skip
    command = [*enter, str(PYTHON), "-I", "-c", code]
    environment = {"LANG": "C.UTF-8"}
    return subprocess.run(command, check=True, capture_output=True, text=True,
                          env=environment).stdout  # fmt: skip


def test_the_root_runs_python_with_ssl_hashlib_ctypes_and_json(root: Path) -> None:
    code = "import ssl, hashlib, ctypes, json, zlib, uuid; print(ssl.OPENSSL_VERSION.split()[0])"
    assert run_in_root(root, code).strip() == "OpenSSL"


# where the standard library's line is drawn (docs/image.md): a user's added import of
# a common module works, tests and the pure-Python twins of C modules are left out
COMMON_MODULES = (
    "argparse", "asyncio", "bz2", "concurrent.futures", "csv", "dataclasses", "datetime",
    "decimal", "email.message", "hashlib", "http.client", "logging.handlers", "lzma",
    "multiprocessing", "pydoc", "secrets", "statistics", "subprocess", "tarfile",
    "urllib.request", "xml.etree.ElementTree", "xmlrpc.server", "zipfile", "zoneinfo",
)  # fmt: skip
LEFT_OUT = ("unittest", "doctest", "_pydecimal", "_pydatetime", "_pyio", "sqlite3", "tkinter")


def test_a_common_module_imports_and_what_is_left_out_does_not(root: Path) -> None:
    code = (
        "import importlib, importlib.util\n"
        f"for name in {COMMON_MODULES!r}: importlib.import_module(name)\n"
        f"print(*[name for name in {LEFT_OUT!r} if importlib.util.find_spec(name)])"
    )
    assert run_in_root(root, code).strip() == ""


def test_the_root_holds_no_shell_tests_or_pip(root: Path) -> None:
    names = {path.name for path in root.rglob("*")}
    files = {path.name for path in root.rglob("*") if not path.is_dir()}
    assert not files & {"sh", "bash", "dash", "busybox", "apt-get", "dpkg", "ldconfig", "pip"}
    assert not names & {"test", "idlelib", "tkinter", "ensurepip", "lib2to3", "site-packages"}
    assert not [name for name in names if DROPPED_EXTENSIONS.match(name)]


def test_the_loader_and_the_c_library_come_as_the_loader_names_them(root: Path) -> None:
    listing = subprocess.run(["ldd", str(PYTHON)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    named = [line.split()[-2] if "=>" in line else line.split()[0]
             for line in listing.splitlines() if "/" in line]  # fmt: skip
    assert named
    for path in named:
        assert (root / path.lstrip("/")).exists(), path


def test_no_file_keeps_a_set_user_id_bit_and_the_server_user_is_named(root: Path) -> None:
    assert not [path for path in root.rglob("*")
                if not path.is_symlink() and path.stat().st_mode & 0o6000]  # fmt: skip
    assert "ibdevserver:x:10001:10001:" in (root / "etc/passwd").read_text()
