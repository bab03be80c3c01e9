"""Write the benchmark's figures as a Markdown table and a PNG chart."""

import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write files only
import matplotlib.pyplot as plt

from bench.wrk import WrkResult

MIB = 2**20


@dataclass
class Series:
    """Every wrk run of one target and view at one connection count."""

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
    runs: int
    seconds: float
    peer: str | None
    load: dict[tuple[str, int], Series] = field(default_factory=dict)
    cold_start: dict[str, float] = field(default_factory=dict)
    memory_idle: dict[str, int] = field(default_factory=dict)
    memory_loaded: dict[str, int] = field(default_factory=dict)
    image_total: dict[str, int] = field(default_factory=dict)
    image_added: int | None = None
    build_cold: float | None = None
    build_rebuild: float | None = None

    def series(self, name: str, connections: int) -> Series:
        return self.load.setdefault((name, connections), Series())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def load_table(results: Results) -> list[str]:
    names = [name for name in ("ours text", "ours json", "bare wsgi", "peer text")
             if any(key[0] == name for key in results.load)]  # fmt: skip
    lines = [
        "| target | connections | req/s | p50 | p99 | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        for connections in results.connections:
            series = results.load[(name, connections)]
            lines.append(
                f"| {name} | {connections} | {series.rps:,.0f} | {ms(series.p50)} | "
                f"{ms(series.p99)} | {series.failures} |"
            )
    return lines


def target_row(figure: str, value: str, target: str, met: bool) -> str:
    return f"| {figure} | {value} | {target}: {verdict(met)} |"


def ratio_lines(results: Results) -> list[str]:
    """Each target of the performance issue, with the figure that decides it."""
    lines = ["| figure | value | target |", "| --- | ---: | --- |"]
    middle = sorted(results.connections)[len(results.connections) // 2]
    ours = results.load[("ours text", middle)]
    bare = results.load[("bare wsgi", middle)]
    at = f"at {middle} connections"
    lines.append(target_row(f"ours ÷ bare WSGI, req/s {at}", ratio(ours.rps, bare.rps),
                            "≥ 0.80x", ours.rps >= 0.8 * bare.rps))  # fmt: skip
    if ("peer text", middle) in results.load:
        peer = results.load[("peer text", middle)]
        lines.append(target_row(f"ours ÷ Go original, req/s {at}", ratio(ours.rps, peer.rps),
                                "≥ 0.25x", ours.rps >= 0.25 * peer.rps))  # fmt: skip
        lines.append(target_row(f"ours ÷ Go original, p99 {at}", ratio(ours.p99, peer.p99),
                                "≤ 2x", ours.p99 <= 2 * peer.p99))  # fmt: skip
    cold = results.cold_start
    if "peer" in cold:
        lines.append(target_row("cold start, ours ÷ Go original", ratio(cold["ours"], cold["peer"]),
                                "≤ 1.3x", cold["ours"] <= 1.3 * cold["peer"]))  # fmt: skip
    idle = results.memory_idle["ours"]
    lines.append(target_row("idle memory, ours", f"{idle / MIB:.1f} MiB", "≤ 64 MiB",
                            idle <= 64 * MIB))  # fmt: skip
    if results.image_added is not None:
        added = results.image_added
        lines.append(target_row("bytes the runtime stage adds to its base",
                                f"{added / 1e6:.1f} MB", "≤ 15 MB", added <= 15e6))  # fmt: skip
    if results.build_cold and results.build_rebuild is not None:
        share = results.build_rebuild / results.build_cold
        lines.append(target_row("rebuild after a one-file change ÷ cold build", f"{share:.0%}",
                                "≤ 30%", share <= 0.3))  # fmt: skip
    return lines


def other_lines(results: Results) -> list[str]:
    lines = ["| figure | ours | Go original |", "| --- | ---: | ---: |"]

    def row(label: str, values: dict[str, float], show: str) -> None:
        cells = [show.format(values[key]) if key in values else "n/a" for key in ("ours", "peer")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")

    row("cold start: `docker run` to first 200", results.cold_start, "{:.2f} s")
    row("memory, idle", {k: v / MIB for k, v in results.memory_idle.items()}, "{:.1f} MiB")
    row(
        f"memory, after the {max(results.connections)}-connection run",
        {k: v / MIB for k, v in results.memory_loaded.items()},
        "{:.1f} MiB",
    )
    row("image, total", {k: v / 1e6 for k, v in results.image_total.items()}, "{:.1f} MB")
    if results.build_cold is not None and results.build_rebuild is not None:
        lines.append(f"| build, cold (no cache) | {results.build_cold:.1f} s | |")
        lines.append(f"| rebuild after a change to one file in service/ | "
                     f"{results.build_rebuild:.1f} s | |")  # fmt: skip
    return lines


def markdown(results: Results) -> str:
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    peer = results.peer or "none"
    header = [
        f"Measured on {date.today().isoformat()} on {machine} ({platform.system()} "
        f"{platform.release()}); peer: {peer}. Medians of {results.runs} runs of "
        f"{results.seconds:g} s each, targets interleaved; wrk on 127.0.0.1, keep-alive.",
        "",
    ]
    return (
        "\n".join(
            header + load_table(results) + [""] + ratio_lines(results) + [""] + other_lines(results)
        )
        + "\n"
    )


def chart(results: Results, path: Path) -> None:
    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(10, 4))
    for name in sorted({key[0] for key in results.load}):
        series = [results.load[(name, c)] for c in results.connections]
        throughput.plot(results.connections, [s.rps for s in series], marker="o", label=name)
        latency.plot(results.connections, [s.p99 * 1000 for s in series], marker="o", label=name)
    throughput.set(xlabel="connections", ylabel="requests/s", title="Throughput", xscale="log")
    latency.set(xlabel="connections", ylabel="p99 latency (ms)", title="p99 latency",
                xscale="log", yscale="log")  # fmt: skip
    throughput.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(results: Results, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    table, picture = directory / "performance.md", directory / "performance.png"
    table.write_text(markdown(results))
    chart(results, picture)
    return table, picture
