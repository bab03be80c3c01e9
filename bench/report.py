"""Write the benchmark's figures as docs/performance.md and docs/performance.png."""

import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.containers import IDLE_SECONDS
from bench.flood import FloodRun
from bench.flood_report import flood_lines
from bench.images import BuildFigures
from bench.wrk import WrkResult

MIB = 2**20
START_HEADING = "## Start, memory, image"
# issue 36's goals: docker start to the first 200, and the container's memory once idle
START_GOAL = 0.25
MEMORY_GOAL = 45 * MIB
BUILDS_HEADING = "## Builds and layers"
# rows an earlier report wrote in another table, now in the builds section
RETIRED_ROWS = ("| build, cold (no cache) |", "| rebuild after a change to one file in service/ |")
# the goal for what one changed file in service/ makes a pull ship again
CHANGED_BYTES_GOAL = 1e6
LEVERS = {
    "no-fairness-yield": "the fairness yield (`IBDEVSERVER_FAIRNESS_YIELD`)",
    "no-access-log": "the access log (`IBDEVSERVER_ACCESS_LOG`)",
    "no-metrics": "the metrics (`IBDEVSERVER_METRICS`)",
}
TARGETS = {
    "server": "ours",
    "minimal-flask": "minimal Flask app",
    "bare-wsgi": "bare WSGI callable",
    "go-original": "Go original",
    "other-base": "ours, other base",
}


@dataclass
class Series:
    """Every wrk run of one target in one setup at one connection count."""

    runs: list[WrkResult] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(run.requests_per_second for run in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(run.p50 for run in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(run.p99 for run in self.runs)

    @property
    def failures(self) -> int:
        return sum(run.failures for run in self.runs)


@dataclass
class Results:
    connections: list[int]
    lever_connections: int
    runs: int
    seconds: float
    other_base: str | None = None
    # (setup, target, connections)
    load: dict[tuple[str, str, int], Series] = field(default_factory=dict)
    posture: Series = field(default_factory=Series)
    cold_start: dict[str, list[float]] = field(default_factory=dict)
    memory_idle: dict[str, int] = field(default_factory=dict)
    memory_loaded: dict[str, int] = field(default_factory=dict)
    image_bytes: dict[str, int] = field(default_factory=dict)
    flood: list[FloodRun] = field(default_factory=list)
    # a Dockerfile's label (ours, or an earlier revision's) -> its builds, measured
    builds: dict[str, BuildFigures] = field(default_factory=dict)
    build_base: str = ""

    def series(self, setup: str, target: str, connections: int) -> Series:
        return self.load.setdefault((setup, target, connections), Series())

    def get(self, target: str, setup: str = "server alone") -> Series | None:
        return self.load.get((setup, target, self.lever_connections))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def load_table(results: Results, setup: str) -> list[str]:
    lines = [
        f"### {setup}",
        "",
        "| target | connections | req/s | p50 | p99 | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target, label in TARGETS.items():
        for connections in results.connections:
            series = results.load.get((setup, target, connections))
            if series is not None:
                lines.append(
                    f"| {label} | {connections} | {series.rps:,.0f} | {ms(series.p50)} | "
                    f"{ms(series.p99)} | {series.failures} |"
                )
    return [*lines, ""]


def cost(ours: Series, without: Series) -> float:
    """The share of req/s a lever takes: 1 - ours ÷ ours-without-it."""
    return 1 - ours.rps / without.rps


def goal_lines(results: Results) -> list[str]:
    """The performance goals, each with the figure that decides it (server alone)."""
    at = results.lever_connections
    lines = ["| goal | figure | target |", "| --- | ---: | --- |"]

    def row(goal: str, value: str, target: str, met: bool) -> None:
        lines.append(f"| {goal} | {value} | {target}: {verdict(met)} |")

    ours, flask, go = (
        results.get("server"),
        results.get("minimal-flask"),
        results.get("go-original"),
    )
    assert ours is not None
    if flask:
        ratio = ours.rps / flask.rps
        row(f"ours ÷ minimal Flask app, req/s at {at}", f"{ratio:.2f}x", "≥ 0.90x", ratio >= 0.9)
    if go:
        ratio = ours.rps / go.rps
        row(f"ours ÷ Go original, req/s at {at}", f"{ratio:.3f}x", "≥ 0.11x", ratio >= 0.11)
        tail = ours.p99 / go.p99
        row(f"ours ÷ Go original, p99 at {at}", f"{tail:.2f}x", "≤ 2x", tail <= 2)
    spread = ours.p99 / ours.p50
    row(f"fairness: ours p99 ÷ p50 at {at}", f"{spread:.2f}x", "≤ 2x", spread <= 2)
    if fairness := results.get("no-fairness-yield"):
        share = cost(ours, fairness)
        row("fairness yield, cost in req/s", f"{share:.1%}", "< 5%", share < 0.05)
    if logless := results.get("no-access-log"):
        share = cost(ours, logless)
        row("access log, cost in req/s", f"{share:.1%}", "≤ 5%", share <= 0.05)
    if results.posture.runs:
        p99 = results.posture.p99
        row("`/posture` p99, one connection, no other load", ms(p99), "≤ 20 ms", p99 <= 0.02)
    return [
        *lines,
        "",
        "What each mechanism costs is in the lever table below. Where a goal is missed, "
        "[decisions.md](decisions.md) says what stands in the way and what was tried, and "
        "[profile.md](profile.md) where a worker's time goes.",
        "",
    ]


def lever_lines(results: Results) -> list[str]:
    ours = results.get("server")
    assert ours is not None
    lines = [
        f"Each lever off in turn, ours, server alone, {results.lever_connections} connections:",
        "",
        "| lever | req/s with it | req/s without | cost | p99 with | p99 without |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target, lever in LEVERS.items():
        if without := results.get(target):
            lines.append(
                f"| {lever} | {ours.rps:,.0f} | {without.rps:,.0f} | {cost(ours, without):.1%} | "
                f"{ms(ours.p99)} | {ms(without.p99)} |"
            )
    return [*lines, ""]


def other_lines(results: Results) -> list[str]:
    measured = {**results.image_bytes, **results.cold_start, **results.memory_idle}
    names = [name for name in TARGETS if name in measured]
    lines = [
        "| figure | " + " | ".join(TARGETS[name] for name in names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]

    def row(label: str, values: dict[str, str]) -> None:
        if values:
            lines.append(f"| {label} | " + " | ".join(values.get(n, "n/a") for n in names) + " |")

    row("cold start: `docker start` to first 200 (median)",
        {n: f"{statistics.median(v):.2f} s" for n, v in results.cold_start.items()})  # fmt: skip
    row(f"memory, {IDLE_SECONDS:g} s after start",
        {n: f"{v / MIB:.1f} MiB" for n, v in results.memory_idle.items()})  # fmt: skip
    row(f"memory, after the {max(results.connections)}-connection run",
        {n: f"{v / MIB:.1f} MiB" for n, v in results.memory_loaded.items()})  # fmt: skip
    row("image bytes", {n: f"{v / 1e6:.1f} MB" for n, v in results.image_bytes.items()})
    return [*lines, ""]


def start_lines(results: Results, how: str) -> list[str]:
    """The start, memory and image section; `how` says which run measured it."""
    lines = [
        START_HEADING,
        "",
        f"Measured on {date.today().isoformat()} by {how}, server alone, the compose limits. "
        "Cold start: the container stopped, then `docker start` to its first 200, median of "
        f"{results.runs}, targets interleaved. Memory: the container's cgroup usage less its "
        f"inactive file cache, as `docker stats` shows it, {IDLE_SECONDS:g} s after start."
        + (f" The other base is `{results.other_base}`." if results.other_base else ""),
        "",
    ]
    start = results.cold_start.get("server")
    idle = results.memory_idle.get("server")
    if start:
        median = statistics.median(start)
        lines.append(f"Goal: `docker start` to the first 200 at most {START_GOAL:g} s: "
                     f"{median:.2f} s, {verdict(median <= START_GOAL)}.")  # fmt: skip
    if idle:
        lines.append(f"Goal: memory {IDLE_SECONDS:g} s after start at most "
                     f"{MEMORY_GOAL / MIB:g} MiB: {idle / MIB:.1f} MiB, "
                     f"{verdict(idle <= MEMORY_GOAL)}.")  # fmt: skip
    return [*lines, "", *other_lines(results)]


def section_bounds(lines: list[str], heading: str) -> tuple[int, int]:
    """Where the section under `heading` begins and ends: at the next section or the chart."""
    start = lines.index(heading)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "![")))
    return start, end


def merge_start(results: Results, directory: Path) -> Path:
    """Write the start, memory and image section into an existing performance.md."""
    table = directory / "performance.md"
    lines = table.read_text().split("\n")
    start, end = section_bounds(lines, START_HEADING)
    lines[start:end] = start_lines(results, "`python -m bench --start-memory`")
    table.write_text("\n".join(lines))
    return table


def build_lines(results: Results) -> list[str]:
    """The builds section: each Dockerfile built cold, then rebuilt after a code change."""
    names = list(results.builds)
    ours = results.builds["ours"]
    lines = [
        BUILDS_HEADING,
        "",
        f"Measured on {date.today().isoformat()} by `python -m bench` (alone: `--builds`). "
        "Each Dockerfile is built with BuildKit (`docker buildx build`) in a copy of its build "
        "context, with no layer cache (BuildKit keeps its pip cache mount even so), then built "
        "again after a comment is appended to `service/__init__.py`. The bytes are those of "
        "the layer tarballs `docker save` writes that the rebuilt image has and the first "
        f"lacks: what a pull ships again. Base `{results.build_base}`.",
        "",
        "| figure | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    figures = list(results.builds.values())
    row("image bytes", [f"{f.image_bytes / 1e6:.1f} MB" for f in figures])
    row("layers a change to one file in service/ adds", [str(f.changed_layers) for f in figures])
    row("bytes of those layers", [f"{f.changed_bytes / 1e6:.2f} MB" for f in figures])
    row("build, cold (no layer cache)", [f"{f.cold:.1f} s" for f in figures])
    row("rebuild after that change", [f"{f.rebuild:.1f} s" for f in figures])
    met = ours.changed_bytes <= CHANGED_BYTES_GOAL
    return [
        *lines,
        "",
        f"Goal: a change to one file in service/ re-ships at most 1 MB: "
        f"{ours.changed_bytes / 1e6:.2f} MB, {verdict(met)}.",
        "",
    ]


def merge_builds(results: Results, directory: Path) -> Path:
    """Write the builds section into an existing performance.md, in place of its own."""
    table = directory / "performance.md"
    lines = [line for line in table.read_text().split("\n") if not line.startswith(RETIRED_ROWS)]
    if BUILDS_HEADING in lines:
        start, end = section_bounds(lines, BUILDS_HEADING)
    else:
        start = end = next(i for i, line in enumerate(lines) if line.startswith("!["))
    lines[start:end] = build_lines(results)
    table.write_text("\n".join(lines))
    return table


def markdown(results: Results) -> str:
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    other = f" The other base is `{results.other_base}`." if results.other_base else ""
    header = [
        "# Performance",
        "",
        "Written by `python -m bench`; do not edit by hand.",
        "",
        f"Measured on {date.today().isoformat()} on {machine} ({platform.system()} "
        f"{platform.release()}). Medians of {results.runs} wrk runs of {results.seconds:g} s "
        "each, keep-alive, targets interleaved. Every target is the compose stack's server "
        "service with one change (bench/compose.bench.yml): the same image, gunicorn config, "
        "worker and limits. **Server alone**: each in the host's network namespace, wrk on "
        "127.0.0.1 straight to it (bench/compose.alone.yml); this setup decides the goals. "
        "**As users run it**: through the published port, that is docker-proxy, as "
        f"`docker compose up` gives it.{other}",
        "",
        "## Goals",
        "",
    ]
    body = [*goal_lines(results), "## Levers", "", *lever_lines(results), "## Load", ""]
    for setup in ("server alone", "as users run it"):
        if any(key[0] == setup for key in results.load):
            body += load_table(results, setup)
    body += start_lines(results, "this run")
    if results.builds:
        body += build_lines(results)
    body += ["![throughput and p99 latency against connections](performance.png)", ""]
    if results.flood:
        body += flood_lines(results.flood)
    return "\n".join(header + body)


def chart(results: Results, path: Path) -> None:
    # imported here: the parts of the bench that draw nothing run without matplotlib
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4.5))
    for setup, style in (("server alone", "-"), ("as users run it", "--")):
        # one colour a target, one line style a setup
        for index, (target, label) in enumerate(TARGETS.items()):
            series = [results.load.get((setup, target, c)) for c in results.connections]
            if any(s is None for s in series):
                continue
            look = {"linestyle": style, "marker": "o", "color": f"C{index}"}
            rps = [s.rps for s in series if s]
            p99 = [s.p99 * 1000 for s in series if s]
            throughput.plot(results.connections, rps, label=f"{label} ({setup})", **look)
            latency.plot(results.connections, p99, **look)
    throughput.set(xlabel="connections", ylabel="requests/s", title="Throughput",
                   xscale="log", yscale="log")  # fmt: skip
    latency.set(xlabel="connections", ylabel="p99 latency (ms)", title="p99 latency",
                xscale="log", yscale="log")  # fmt: skip
    throughput.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(results: Results, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    table, picture = directory / "performance.md", directory / "performance.png"
    table.write_text(markdown(results))
    chart(results, picture)
    return table, picture
