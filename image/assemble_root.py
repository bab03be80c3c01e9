"""Assemble the runtime's root filesystem: the interpreter, its standard library and
the shared libraries that it and the given extension modules load, and nothing else.

    python3 -m image.assemble_root ROOT [FOLDER...]

Run by the base's own interpreter, in the Dockerfile's build stage. Where things are
comes from asking: the interpreter (`sys`, `sysconfig`) for its executable, prefix and
library, the loader (`ldd`) for the shared libraries, and the dpkg database for the
packages the copied files belong to, which it records as distroless does, one status
paragraph a package under /var/lib/dpkg/status.d/ (image/os_packages.py reads them).
Symbolic links are kept as links, their targets copied too, so `/lib` on a merged-/usr
base stays a link to `usr/lib`. No file keeps a set-user-ID or set-group-ID bit.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

# the standard library's parts no service loads: tests and the tools that run them
# (unittest, doctest), the IDE and Tk, pip's bootstrap, the 2to3 converter, the help
# texts, distutils (which pip brings its own of), and the pure-Python twins of C
# modules the interpreter has (_decimal, _datetime, _io), which load only without them.
# Every other module stays: a user's added import of it works (docs/image.md).
DROPPED_STDLIB = {
    "test", "unittest", "doctest.py", "idlelib", "tkinter", "turtledemo", "turtle.py",
    "ensurepip", "lib2to3", "pydoc_data", "distutils", "sqlite3", "curses",
    "_pydecimal.py", "_pydatetime.py", "_pyio.py", "__pycache__",
    # what pip installed beside the interpreter (python:3.11-slim's pip and setuptools)
    "site-packages", "dist-packages",
}  # fmt: skip
# extension modules left out: CPython's own tests, and those that would bring in a
# shared library the service never loads (ncurses, readline, Berkeley DB, SQLite,
# NIS, OSS audio)
DROPPED_EXTENSIONS = re.compile(
    r"^(_test\w*|_xxtestfuzz|xxlimited\w*|_ctypes_test|_curses\w*|readline|_dbm|_gdbm"
    r"|_sqlite3|_tkinter|nis|ossaudiodev)\."
)
LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")
DPKG = Path("/var/lib/dpkg")
UID, GID = 10001, 10001


def copy(path: Path, root: Path) -> None:
    """Copy `path` to the same place under `root`: links as links (and what they point
    to), folders whole but for the dropped parts."""
    target = root / path.relative_to("/")
    for parent in reversed(path.parents):
        if parent.is_symlink():
            # a linked folder (/lib -> usr/lib): the link, then the rest through it
            link(parent, root)
            copy(parent.resolve() / path.relative_to(parent), root)
            return
    if target.is_symlink() or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        link(path, root)
        copy(Path(os.path.normpath(path.parent / os.readlink(path))), root)
    elif path.is_dir():
        shutil.copytree(path, target, symlinks=True, ignore=lambda _, names: [
            name for name in names if name in DROPPED_STDLIB or DROPPED_EXTENSIONS.match(name)
        ])  # fmt: skip
    else:
        shutil.copy2(path, target)


def link(path: Path, root: Path) -> None:
    target = root / path.relative_to("/")
    if not target.is_symlink():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(os.readlink(path))


def shared_libraries(files: Iterable[Path]) -> set[Path]:
    """Every library the loader maps for `files` (the loader itself among them)."""
    found: set[Path] = set()
    for file in files:
        listing = subprocess.run(["ldd", str(file)], capture_output=True, text=True,
                                 check=False)  # fmt: skip
        if "not a dynamic executable" in listing.stdout + listing.stderr:
            continue
        if listing.returncode != 0 or "not found" in listing.stdout:
            raise SystemExit(f"ldd {file}:\n{listing.stdout}{listing.stderr}")
        found |= {Path(match) for match in LDD_PATH.findall(listing.stdout)}
    return found


def interpreter_files() -> tuple[list[Path], list[Path]]:
    """What the interpreter is: its executable (as invoked, and its real file) and
    library, then its standard library."""
    library = Path(sysconfig.get_config_var("LIBDIR") or "/", sysconfig.get_config_var(
        "INSTSONAME") or "")  # fmt: skip
    files = [Path(sys.executable), Path(sys.executable).resolve()]
    if library.is_file():
        files.append(library)
    stdlib = [Path(sysconfig.get_path(name)) for name in ("stdlib", "platstdlib")]
    return files, sorted(set(stdlib))


def extension_modules(folders: Iterable[Path]) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*.so*")
            if path.is_file() and not DROPPED_EXTENSIONS.match(path.name)]  # fmt: skip


def dpkg_owners() -> dict[str, str]:
    """Each path dpkg installed, and its package (`libc6`, `libc6:amd64`)."""
    owners: dict[str, str] = {}
    for listing in (DPKG / "info").glob("*.list"):
        for line in listing.read_text().splitlines():
            owners[line] = listing.stem
    return owners


def status_paragraphs() -> dict[str, str]:
    """The dpkg status paragraph of each installed package, by `name` and `name:arch`."""
    paragraphs: dict[str, str] = {}
    for paragraph in (DPKG / "status").read_text().split("\n\n"):
        fields = dict(re.findall(r"^(Package|Architecture): (\S+)$", paragraph, re.M))
        if "Package" in fields:
            name = fields["Package"]
            paragraphs[name] = paragraphs[f"{name}:{fields.get('Architecture')}"] = (
                paragraph.strip() + "\n"
            )
    return paragraphs


def record_packages(root: Path) -> list[str]:
    """Write the status paragraph of each package a file under `root` came from."""
    if not (DPKG / "status").exists():
        return []
    owners, paragraphs = dpkg_owners(), status_paragraphs()
    packages = set()
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        inside = "/" + str(path.relative_to(root))
        # merged /usr: dpkg may list /lib/... for what lies in /usr/lib/...
        for name in (inside, inside.removeprefix("/usr"), str(Path(inside).resolve())):
            if name in owners:
                packages.add(owners[name])
                break
    folder = root / "var/lib/dpkg/status.d"
    folder.mkdir(parents=True, exist_ok=True)
    for package in sorted(packages):
        name = package.partition(":")[0]
        (folder / name).write_text(paragraphs[package])
    return sorted(package.partition(":")[0] for package in packages)


def system_files(root: Path) -> None:
    """The server's user (numeric in the image, named here for `ps` and the debug
    shell), an empty /tmp, and the empty mount points the runtime stage binds on."""
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        f"root:x:0:0:root:/root:/sbin/nologin\nibdevserver:x:{UID}:{GID}::/nonexistent:"
        "/sbin/nologin\n"
    )
    (etc / "group").write_text(f"root:x:0:\nibdevserver:x:{GID}:\n")
    for name in ("tmp", "mnt", "srv"):
        (root / name).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)


def clear_set_id_bits(root: Path) -> None:
    for path in root.rglob("*"):
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
            path.chmod(stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID))


def assemble(root: Path, extra_site_packages: list[Path]) -> list[str]:
    """Fill `root`; return the Debian packages its files came from."""
    executables, stdlib = interpreter_files()
    # os-release: what a scanner reads to know the distribution
    for path in [*executables, *stdlib, Path("/etc/os-release")]:
        copy(path, root)
    modules = extension_modules([root / folder.relative_to("/") for folder in stdlib])
    for library in sorted(shared_libraries(executables + modules
                                           + extension_modules(extra_site_packages))):  # fmt: skip
        copy(library, root)
    system_files(root)
    clear_set_id_bits(root)
    return record_packages(root)


def main() -> None:
    root, *extra = sys.argv[1:]
    packages = assemble(Path(root), [Path(folder) for folder in extra])
    print(f"{root}: {len(packages)} Debian packages: {', '.join(packages) or 'none'}")


if __name__ == "__main__":
    main()
