"""Run inside the image (`python - < this file`): import every extension module of the
standard library's lib-dynload and of site-packages, and every module of the service,
and print what failed, as JSON. A shared library the root lacks fails here."""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

failed: dict[str, str] = {}
names = []
for folder in (
    Path(entry) for entry in sys.path if entry.endswith(("lib-dynload", "site-packages"))
):
    for library in folder.rglob("*.so"):
        parts = library.relative_to(folder).parts
        names.append(".".join([*parts[:-1], parts[-1].split(".")[0]]))
service = importlib.import_module("service")
names += [module.name for module in pkgutil.walk_packages(service.__path__, "service.")]
for name in sorted(names):
    try:
        importlib.import_module(name)
    except Exception as error:  # every failure is reported
        failed[name] = f"{type(error).__name__}: {error}"
print(json.dumps({"imported": sorted(names), "failed": failed}))
