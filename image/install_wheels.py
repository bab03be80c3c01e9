"""Install a folder's wheels into the runtime's environment, in the shell-less runtime
stage, where no shell can expand `*.whl` or run `find`.

    /mnt/bin/python /mnt/install_wheels.py [--no-compile] WHEELS

Run by the build stage's pip environment, bind-mounted read-only on /mnt: it makes
/opt/venv (with no pip) on first use, installs with `pip --python /opt/venv/bin/python`,
and then removes what no server runs: the dependencies' own test suites, C sources and
the venv's shell activation scripts. With --no-compile pip writes no `.pyc`: the
dependencies' are written afterwards for the modules the server loads alone
(image/compile_stdlib.py), where pip's for every module took 6.2 MB.
"""

import shutil
import subprocess
import sys
from pathlib import Path

VENV = Path("/opt/venv")
TEST_FOLDERS = {"tests", "testing"}
SOURCE_SUFFIXES = {".c", ".h", ".cpp", ".hpp", ".pyx", ".pxd"}


def install(wheels: Path, *options: str) -> None:
    if not (VENV / "pyvenv.cfg").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True)
    found = sorted(str(wheel) for wheel in wheels.glob("*.whl"))
    if not found:
        raise SystemExit(f"no wheel in {wheels}")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(VENV / "bin" / "python"),
                    "install", "--no-cache-dir", "--no-index", "--no-deps", *options, *found],
                   check=True)  # fmt: skip


def prune(venv: Path) -> None:
    for script in (venv / "bin").glob("[Aa]ctivate*"):
        script.unlink()
    for site in venv.glob("lib/python*/site-packages"):
        for path in sorted(site.rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink() and path.name in TEST_FOLDERS:
                shutil.rmtree(path)
            elif path.is_file() and path.suffix in SOURCE_SUFFIXES:
                path.unlink()


def main() -> None:
    *options, wheels = sys.argv[1:]
    install(Path(wheels), *options)
    prune(VENV)


if __name__ == "__main__":
    main()
