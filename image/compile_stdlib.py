"""Compile the standard and dependency modules the server loads, in the shell-less runtime stage.

    /opt/venv/bin/python /mnt/compile_stdlib.py

The runtime's standard library comes without `__pycache__` (image/assemble_root.py,
as distroless ships it), and its root filesystem is read-only, so every process of the
server compiled each module it imported, at every start. Measured on the bench image
(docker run, read-only, five starts each): 0.73 s from start to the first 200 and
78 MiB idle, against 0.44 s and 64 MiB with the library compiled. All of it compiled
adds 10.4 MB to the image; what the server loads, about 4 MB. The dependencies are
installed without `.pyc` (image/install_wheels.py --no-compile) and get theirs here
too, for what the server loads: pip's, for every module, were 6.2 MB.

It runs after the dependencies are installed and before the project, so that a change
to service/ leaves this layer alone. It imports what a worker imports, gevent patched
first, and the few standard modules the project or a request adds (PROJECT_NEEDS;
tests/image/test_compile_stdlib.py holds that list whole). Then it writes an unchecked-hash
`.pyc` beside each standard and dependency module loaded: the image never changes, so nothing needs
to check the source again.
"""

import importlib
import py_compile
import sys
import sysconfig
from pathlib import Path

# what the server's processes import from its dependencies
DEPENDENCIES = (
    "gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.glogging",
    "gunicorn.workers.ggevent", "flask", "prometheus_client",
    "prometheus_client.multiprocess",
)  # fmt: skip
# standard modules that service/ or a request loads and the dependencies do not:
# IDNA for socket names, importlib's readers for the package's own files, and the
# metadata and resources adapters that Python 3.13 loads later than 3.11 does, and
# ctypes, through which /posture asks the kernel what gVisor's /proc leaves out
PROJECT_NEEDS = (
    "encodings.idna", "stringprep", "importlib.readers", "importlib.resources.readers",
    "importlib.metadata._adapters", "importlib.metadata._text",
    "importlib.resources._adapters", "ctypes",
)  # fmt: skip


def load() -> None:
    """Import what a worker imports; gevent patches first, as the worker does."""
    # imported here: its patching must come before the rest
    import gevent.monkey

    gevent.monkey.patch_all()
    for name in DEPENDENCIES + PROJECT_NEEDS:
        importlib.import_module(name)


def loaded_sources() -> list[Path]:
    """The source file of each module loaded (frozen and extension modules have none)."""
    sources = set()
    for module in list(sys.modules.values()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if origin and origin.endswith(".py"):
            sources.add(Path(origin))
    return sorted(sources)


def loaded_standard_modules() -> list[Path]:
    """The source file of each standard-library module loaded."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    installed = {"site-packages", "dist-packages"}
    return [
        path
        for path in loaded_sources()
        if path.is_relative_to(stdlib) and not installed & set(path.parts)
    ]


def loaded_dependency_modules() -> list[Path]:
    """The source file of each module loaded from this environment's site-packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    return [path for path in loaded_sources() if path.is_relative_to(site)]


def main() -> None:
    load()
    for source in loaded_standard_modules() + loaded_dependency_modules():
        py_compile.compile(
            str(source),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )


if __name__ == "__main__":
    main()
