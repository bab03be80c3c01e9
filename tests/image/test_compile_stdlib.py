"""image/compile_stdlib.py compiles every standard module the server loads.

It runs where service/ is not installed yet (the dependencies' layer), so it loads the
dependencies and a list of its own: a module the project starts to load would go
uncompiled, and each process would compile it again at every start, unless the list
grows. Here the server's modules are loaded as a worker loads them and the app
answers each kind of request, in one interpreter; the script loads its own in another.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.paths import SAMPLES

SCRIPT = Path(__file__).with_name("standard_modules.py")


def loaded(*arguments: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


def test_every_standard_module_the_server_loads_is_compiled() -> None:
    server = loaded("server", str(SAMPLES / "linux-6.6-container.txt"))
    compiled = loaded("compiled")
    # each request was served as it is in production, not failed early
    assert [status[:3] for status in server["statuses"]] == ["200"] * 8 + ["404", "405"]
    assert any(path.endswith("/json/decoder.py") for path in server["modules"])
    assert sorted(set(server["modules"]) - set(compiled["modules"])) == []
