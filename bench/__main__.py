"""Benchmark ibdevserver against a minimal Flask app, a bare WSGI callable and the Go original.

    python -m bench                 the full run: writes docs/performance.md and .png
    python -m bench --smoke         seconds: checks that every part still works
    python -m bench --flood         only the connection flood, merged into docs/performance.md
    python -m bench --builds        the builds and layers alone, merged into docs/performance.md
    python -m bench --instructions  the instructions per request alone (valgrind), likewise
    python -m bench --start-memory  the cold start and idle memory alone, likewise
    python -m bench --image-bytes   what takes the image's bytes, written into docs/image.md

Everything it measures it starts itself, from the compose file and the bench's
overlays, on 127.0.0.1, and removes afterwards.
"""

import argparse
import sys
from pathlib import Path

from bench import containers, flood, image_bytes, images, instructions
from bench.containers import GO, GO_SERVICE, OTHER_BASE, OURS, ROOT, SETUPS
from bench.flood_report import merge
from bench.report import LEVERS, Results, merge_builds, merge_start, write
from bench.wrk import run_wrk

PEERS = ["server", "minimal-flask", "bare-wsgi"]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one short run of each part")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=5, help="length of one wrk run")
    parser.add_argument("--connections", default="1,32,128", help="comma-separated")
    parser.add_argument("--no-go", action="store_true", help="leave the Go original out")
    parser.add_argument("--compare-base", metavar="IMAGE",
                        help="also measure ours built on this base (say, Python 3.13)")  # fmt: skip
    parser.add_argument("--no-build-timing", action="store_true", help="skip the cold build")
    parser.add_argument("--flood", action="store_true", help="only the connection flood")
    parser.add_argument("--flood-counts", default="4000,10000", help="attacker connections")
    parser.add_argument("--flood-mixed-count", type=int, default=19000,
                        help="the mixed flood's connections (near the file limit)")  # fmt: skip
    parser.add_argument("--flood-seconds", type=float, default=20, help="honest client's run")
    parser.add_argument("--builds", action="store_true",
                        help="only the builds and layers, merged into performance.md")  # fmt: skip
    parser.add_argument("--image-bytes", action="store_true",
                        help="only what takes each image's bytes, into image.md")  # fmt: skip
    parser.add_argument("--instructions", action="store_true",
                        help="only the instructions per request (valgrind)")  # fmt: skip
    parser.add_argument("--start-memory", action="store_true",
                        help="only the cold start and idle memory")  # fmt: skip
    parser.add_argument("--compare-revision", metavar="REV",
                        help="also build the Dockerfile of this git revision")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    options = parser.parse_args()
    if options.smoke:
        options.runs, options.seconds, options.connections = 1, 1, "1,8"
        options.no_build_timing = True
        options.flood_counts, options.flood_seconds = "200", 2
        options.flood_mixed_count = 300
    options.connections = [int(part) for part in options.connections.split(",")]
    options.flood_counts = [int(part) for part in options.flood_counts.split(",")]
    return options


def measure_flood(targets: list[str], options: argparse.Namespace) -> list[flood.FloodRun]:
    """The connection flood against ours and the Go original (if built), server alone."""
    flooded = [name for name in targets if name in ("server", GO_SERVICE)]
    with containers.running("server alone", flooded) as stack:
        return flood.measure(stack, flooded, options.flood_counts, options.flood_seconds,
                             options.flood_mixed_count)  # fmt: skip


def measure_setup(setup: str, targets: list[str], options: argparse.Namespace,
                  results: Results) -> None:  # fmt: skip
    """Load every target in `setup`, interleaved; the levers too where they are decided."""
    levers = list(LEVERS) if setup == "server alone" else []
    with containers.running(setup, targets + levers) as stack:
        if setup == "server alone":
            for target in targets:
                results.memory_idle[target] = stack.idle_memory(target)
        # a warm-up for each, unmeasured: a fresh server's first second is slower
        for target in targets + levers:
            run_wrk(stack.url(target), max(options.connections), 1)
        # interleaved: each round measures every target once, so drift hits all alike
        for connections in options.connections:
            at_levers = connections == results.lever_connections
            for _ in range(options.runs):
                for target in targets + (levers if at_levers else []):
                    figures = run_wrk(stack.url(target), connections, options.seconds)
                    results.series(setup, target, connections).runs.append(figures)
        if setup != "server alone":
            return
        for target in targets:
            results.memory_loaded[target] = stack.memory(target)
        posture = stack.url("server") + "posture"
        for _ in range(options.runs):
            results.posture.runs.append(run_wrk(posture, 1, options.seconds))
        measure_cold_starts(stack, targets, options.runs, results)


def measure_cold_starts(stack: containers.Stack, targets: list[str], runs: int,
                        results: Results) -> None:  # fmt: skip
    """Stop and start each target `runs` times, interleaved."""
    for _ in range(runs):
        for target in targets:
            results.cold_start.setdefault(target, []).append(stack.cold_start(target))


def measure_start_memory(targets: list[str], options: argparse.Namespace,
                         results: Results) -> None:  # fmt: skip
    """The cold start and idle memory alone, server alone."""
    with containers.running("server alone", targets) as stack:
        for target in targets:
            results.memory_idle[target] = stack.idle_memory(target)
        measure_cold_starts(stack, targets, options.runs, results)


def measure_builds(options: argparse.Namespace, results: Results) -> None:
    results.build_base = images.base_image()
    results.builds["ours"] = images.build_figures()
    if options.compare_revision:
        results.builds[options.compare_revision] = images.build_figures(options.compare_revision)


def measure_image_bytes(options: argparse.Namespace) -> int:
    """Ours, the Go original and (with --compare-revision) an earlier Dockerfile's image."""
    images.build_ours()
    columns = {"ours": OURS}
    if options.compare_revision:
        images.build_revision(options.compare_revision, f"{OURS}-{options.compare_revision}")
        columns[options.compare_revision] = f"{OURS}-{options.compare_revision}"
    if not options.no_go:
        images.build_go()
        columns["Go original"] = GO
    page = image_bytes.merge(image_bytes.table(columns), options.out / "image.md")
    print(page.read_text())
    return 0


def build_other_base(base: str, results: Results) -> None:
    """Build ours on `base` too, and note its image's bytes and its name."""
    images.build_other_base(base)
    results.image_bytes["other-base"] = images.image_size(OTHER_BASE)
    results.other_base = base


def main() -> int:
    options = arguments()
    middle = 32 if 32 in options.connections else sorted(options.connections)[-1]
    results = Results(options.connections, middle, options.runs, options.seconds)
    if options.image_bytes:
        return measure_image_bytes(options)
    if options.instructions:
        table = options.out / "performance.md"
        instructions.merge(instructions.measure(), table)
        print(table.read_text())
        return 0
    if options.builds:
        measure_builds(options, results)
        table = merge_builds(results, options.out)
        print(table.read_text())
        return 0
    targets = list(PEERS)
    images.build_ours()
    results.image_bytes["server"] = images.image_size(OURS)
    if not options.no_go:
        # a peer that cannot be built fails the run: its rows never just drop out
        images.build_go()
        results.image_bytes[GO_SERVICE] = images.image_size(GO)
        targets.append(GO_SERVICE)
    if options.start_memory:
        if options.compare_base:
            build_other_base(options.compare_base, results)
            targets.append("other-base")
        measure_start_memory(targets, options, results)
        table = merge_start(results, options.out)
        print(table.read_text())
        return 0
    if options.flood:
        table = options.out / "performance.md"
        merge(measure_flood(targets, options), table)
        print(table.read_text())
        return 0
    if options.compare_base:
        build_other_base(options.compare_base, results)
    for setup in SETUPS:
        alone = setup == "server alone"
        measure_setup(setup, targets + (["other-base"] if alone and options.compare_base
                                        else []), options, results)  # fmt: skip
    results.flood = measure_flood(targets, options)
    if not options.no_build_timing:
        measure_builds(options, results)
    table, chart = write(results, options.out)
    # valgrind's minutes are left out of the smoke run
    if not options.smoke:
        instructions.merge(instructions.measure(), table)
    print(table.read_text())
    print(f"wrote {table} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
