"""Profile one gunicorn worker of our image under load, and write where its time goes.

    python -m bench.profile        writes docs/profile.md (needs root, for py-spy)

py-spy samples the worker from the host while wrk holds 32 keep-alive connections.
"""

import argparse
import collections
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

from bench import containers, images
from bench.containers import OURS, ROOT, docker
from bench.wrk import run_wrk

SECONDS = 8
# installed with the test extra, beside this Python
PY_SPY = Path(sysconfig.get_path("scripts")) / "py-spy"
# the layers a request passes through, each named by the frames that mark it (never
# nested in one another, so their shares add up)
LAYERS: dict[str, str | tuple[str, ...]] = {
    "gunicorn: parse the request": "Parser.__next__ (gunicorn/http/parser.py)",
    "gunicorn: send the response": "Response.write (gunicorn/http/wsgi.py)",
    "gunicorn: access log (buffered)": "BufferedAccessLogger.access (service/server/access_log.py)",
    "Flask: the whole app": "Flask.wsgi_app (flask/app.py)",
    "Flask: request context": "Flask.request_context (flask/app.py)",
    "Flask: after_request hooks": "Flask.process_response (flask/app.py)",
    "app: metrics": (
        "children (service/web/metrics.py)",
        "Counter.inc (prometheus_client/metrics.py)",
        "Histogram.observe (prometheus_client/metrics.py)",
    ),
    "app: read /proc/1/status": "read_status (service/web/status.py)",
    "fairness: the yield after each request": "Worker.yield_to_others (service/server/worker.py)",
}


def frame_name(frame: str) -> str:
    """`func (/opt/venv/lib/python3.11/site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py)`."""
    return re.sub(r"\(.*?site-packages/", "(", re.sub(r":\d+\)$", ")", frame))


def shares(raw: str) -> tuple[int, collections.Counter[str]]:
    """Samples in all, and the samples in which each frame is on the stack."""
    total, inclusive = 0, collections.Counter[str]()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in {frame_name(frame) for frame in stack.split(";")}:
            inclusive[frame] += int(count)
    return total, inclusive


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "profile.md")
    out = parser.parse_args().out
    images.build_ours()
    with containers.running("server alone", ["server"]) as stack:
        # master, then workers
        worker = docker("top", stack.container("server"), "-eo", "pid").split()[2]
        load = threading.Thread(target=run_wrk, args=(stack.url("server"), 32, SECONDS + 4))
        load.start()
        with tempfile.NamedTemporaryFile(suffix=".txt") as raw:
            record = [str(PY_SPY), "record", "--rate", "250", "--duration", str(SECONDS)]
            record += ["--format", "raw", "--output", raw.name, "--pid", worker]
            subprocess.run(
                record,
                check=True,
                capture_output=True,
            )
            total, inclusive = shares(Path(raw.name).read_text())
        load.join()
    lines = [
        f"Where one gunicorn worker of `{OURS}` spends its time serving `GET /` at 32 "
        f"keep-alive connections: py-spy, {total} samples over {SECONDS} s. A frame's "
        "share counts every sample it is on the stack in, so the rows overlap.",
        "",
        "| layer | share of the worker's samples |",
        "| --- | ---: |",
    ]
    for layer, frames in LAYERS.items():
        marked = sum(
            inclusive[frame] for frame in ([frames] if isinstance(frames, str) else frames)
        )
        lines.append(f"| {layer} | {marked / total:.0%} |")
    lines += [
        "",
        "The 25 frames most often on the stack:",
        "",
        "| frame | share |",
        "| --- | ---: |",
    ]
    lines += [f"| `{frame}` | {count / total:.0%} |" for frame, count in inclusive.most_common(25)]
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
