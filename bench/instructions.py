"""Count the instructions a `GET /` costs the WSGI app, in-process, under valgrind's callgrind.

    python -m bench --instructions          this section alone, merged into docs/performance.md
    python -m bench.instructions TARGET N   the child valgrind runs: N requests after the warm ones

A wall clock on a shared machine moves by a fifth between runs; an instruction count
of the same requests repeats to well within 1%. Each target runs twice under callgrind,
with the warm requests alone and with the measured ones after them; the difference over
the measured count is what one request costs the app, its start and imports left out.
The WSGI environ is the one gunicorn builds for wrk's `GET / HTTP/1.1` with a Host.
"""

import importlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from bench.containers import ROOT

HEADING = "## Instructions per request"
WARM = 20
MEASURED = 200
GOAL = 1.15
# label: the app, as gunicorn names one (module:attribute, or module:factory())
TARGETS = {
    "ours": "service.web.app:create_app()",
    "minimal Flask app": "bench.minimal_flask:app",
}
COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.M)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def load(target: str) -> WSGIApp:
    module, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module), attribute.removesuffix("()"))
    return found() if attribute.endswith("()") else found  # type: ignore[no-any-return]


def environ() -> dict[str, Any]:
    """What gunicorn hands the app for `GET / HTTP/1.1` with a Host and nothing else."""
    return {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/", "QUERY_STRING": "",
        "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "9999", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:9999", "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
        "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.file_wrapper": None,
        "wsgi.input_terminated": True, "gunicorn.socket": None,
    }  # fmt: skip


def request(app: WSGIApp) -> None:
    """One `GET /`, answered and its body consumed, as the worker does."""
    statuses: list[str] = []
    body = app(environ(), lambda status, headers, *_: statuses.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    if statuses != ["200 OK"]:
        raise SystemExit(f"GET / answered {statuses}")


def drive(target: str, count: int) -> None:
    app = load(target)
    for _ in range(WARM + count):
        request(app)


def collected(target: str, count: int) -> int:
    """Instructions of a whole child run: start, warm requests, then `count` more."""
    with tempfile.TemporaryDirectory() as scratch:
        # as under gunicorn: the metrics in files of a multiprocess directory
        env = {**os.environ, "PYTHONHASHSEED": "0", "PROMETHEUS_MULTIPROC_DIR": scratch}
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out",
             sys.executable, "-m", "bench.instructions", target, str(count)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    found = COLLECTED.search(run.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{run.stderr}")
    return int(found.group(1))


def per_request(target: str, count: int = MEASURED) -> float:
    return (collected(target, count) - collected(target, 0)) / count


def measure() -> dict[str, float]:
    if shutil.which("valgrind") is None:
        raise SystemExit("python -m bench: valgrind is missing: apt-get install valgrind")
    return {label: per_request(target) for label, target in TARGETS.items()}


def lines(figures: dict[str, float]) -> list[str]:
    ratio = figures["ours"] / figures["minimal Flask app"]
    verdict = "met" if ratio <= GOAL else "**missed**"
    return [
        HEADING,
        "",
        f"Measured on {date.today().isoformat()} on {platform.machine()}, Python "
        f"{platform.python_version()}, the bench's own rather than the image's "
        "(bench/instructions.py). The instructions one `GET /` costs the WSGI app, called "
        "in-process as gunicorn calls it, under valgrind's callgrind: each app runs twice, with "
        f"{WARM} warm requests and with {MEASURED} more after them, and the difference over "
        f"{MEASURED} is one request. Two runs agree to within 1%, where wrk's req/s moves "
        "by a fifth on this machine. Neither counts gunicorn's parsing, writing or access log.",
        "",
        "| app | instructions per request |",
        "| --- | ---: |",
        *(f"| {label} | {figure:,.0f} |" for label, figure in figures.items()),
        "",
        f"Goal: ours at most {GOAL:.2f}x the minimal Flask app's: {ratio:.2f}x, {verdict}.",
        "",
    ]


def merge(figures: dict[str, float], table: Path) -> None:
    """Put this section into `table` before the chart, replacing the one it has."""
    section = "\n".join(lines(figures))
    text = table.read_text() if table.exists() else ""
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |^!\[|\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    elif "\n![" in text:
        head, _, tail = text.partition("\n![")
        text = f"{head.rstrip()}\n\n{section}\n![{tail}"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    table.write_text(text)


if __name__ == "__main__":
    drive(sys.argv[1], int(sys.argv[2]))
