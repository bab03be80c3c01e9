"""Benchmark ibdevserver against the Go original and against a bare WSGI callable.

    python -m bench                 the full run: writes docs/performance.md and .png
    python -m bench --smoke         seconds: checks that every part still works

Everything it measures it starts itself, on 127.0.0.1, and removes afterwards.
"""

import argparse
import statistics
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench import containers, images
from bench.containers import ROOT, Container
from bench.report import Results, write
from bench.wrk import run_wrk

# the bare WSGI callable runs in our image too
OURS, PEER = "ibdevserver-bench", "ibdevserver-bench-go-peer"
GO_SOURCE = ROOT.parent / "shared" / "seed" / "main.go"
JSON = {"Accept": "application/json"}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one short run of each part")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=5, help="length of one wrk run")
    parser.add_argument("--connections", default="1,32,128", help="comma-separated")
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--go-source", type=Path, default=GO_SOURCE, help="the Go original")
    peer.add_argument("--peer-image", help="an image serving on 9999 to compare with")
    peer.add_argument("--peer-url", help="a peer already running at http://127.0.0.1:PORT/")
    peer.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-build-timing", action="store_true", help="skip the cold build")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    options = parser.parse_args()
    if options.smoke:
        options.runs, options.seconds, options.connections = 1, 1, "1,8"
        options.no_build_timing = True
    options.connections = [int(part) for part in options.connections.split(",")]
    return options


@contextmanager
def running(image: str, results: Results, name: str, *args: str,
            command: list[str] | None = None) -> Iterator[Container]:  # fmt: skip
    """Start `image`, record its idle memory, and remove it afterwards."""
    container, _ = containers.start(image, *args, command=command)
    try:
        results.memory_idle.setdefault(name, container.memory())
        yield container
    finally:
        container.stop()


def cold_starts(images_by_name: dict[str, str], runs: int) -> dict[str, float]:
    """The median seconds from `docker run` to the first 200, starts interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in images_by_name}
    for _ in range(runs):
        for name, image in images_by_name.items():
            container, seconds = containers.start(image)
            container.stop()
            samples[name].append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    options = arguments()
    peer_image = options.peer_image
    if (
        not peer_image
        and not options.peer_url
        and not options.no_peer
        and options.go_source.exists()
    ):
        images.build_go_peer(options.go_source, PEER)
        peer_image = PEER
    results = Results(options.connections, options.runs, options.seconds, peer=None)
    images.build_ours(OURS)
    results.image_total["ours"] = images.image_size(OURS)
    results.image_added = results.image_total["ours"] - images.image_size(images.base_image())
    cold = {"ours": OURS, **({"peer": peer_image} if peer_image else {})}
    results.cold_start = cold_starts(cold, options.runs)

    bare = ["--volume", f"{ROOT / 'bench'}:/opt/bench:ro", "--env", "PYTHONPATH=/opt/bench"]
    bare_command = ["gunicorn", "-c", "python:service.gunicorn_conf", "bare_wsgi:app"]
    with ExitStack() as stack:
        targets: dict[str, tuple[Container, dict[str, str]]] = {
            "ours text": (stack.enter_context(running(OURS, results, "ours")), {}),
            "bare wsgi": (
                stack.enter_context(running(OURS, results, "bare", *bare, command=bare_command)),
                {},
            ),
        }
        targets["ours json"] = (targets["ours text"][0], JSON)
        if peer_image:
            results.peer = "the Go original" if peer_image == PEER else peer_image
            targets["peer text"] = (stack.enter_context(running(peer_image, results, "peer")), {})
            results.image_total["peer"] = images.image_size(peer_image)
        elif options.peer_url:
            results.peer = options.peer_url
            # started elsewhere: measured by load only
            targets["peer text"] = (Container(id="", url=options.peer_url), {})
        # interleaved: each round measures every target once, so drift hits all alike
        for connections in options.connections:
            for _ in range(options.runs):
                for name, (container, headers) in targets.items():
                    figures = run_wrk(container.url, connections, options.seconds, headers)
                    results.series(name, connections).runs.append(figures)
        for name, key in (("ours text", "ours"), ("peer text", "peer")):
            if name in targets and targets[name][0].id:
                results.memory_loaded[key] = targets[name][0].memory()

    if not options.no_build_timing:
        results.build_cold, results.build_rebuild = images.build_times(OURS)
    table, chart = write(results, options.out)
    print(table.read_text())
    print(f"wrote {table} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
