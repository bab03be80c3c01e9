"""The connection flood's section of docs/performance.md, and its merge into a written file."""

import os
import platform
import re
from datetime import date
from pathlib import Path

from bench.flood import HONEST_EVERY, HONEST_TIMEOUT, SOURCES, FloodRun

HEADING = "## Connection flood"
MIB = 2**20
NAMES = {"server": "ours", "go-original": "Go original"}
ANSWERED_GOAL, P99_GOAL = 0.99, 0.1
# answers a second: what the client asks for with no flood, less the share it may miss
RATE_GOAL = ANSWERED_GOAL / HONEST_EVERY


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def run_row(run: FloodRun) -> str:
    memory = f"{run.peak_memory / MIB:.0f} of {run.memory_limit / MIB:.0f} MiB"
    fate = "**OOM-killed**" if run.oom_killed else f"{run.restarts} restarts"
    return (
        f"| {NAMES.get(run.target, run.target)} | {run.kind} | {run.count:,} | "
        f"{run.answered} of {run.sent} | {ms(run.p99)} | {memory} | {fate} | "
        f"{run.reopened:,} |"
    )


def goal_rows(runs: list[FloodRun]) -> list[str]:
    rows = ["| goal (ours) | flood | N | figure | target |", "| --- | --- | ---: | ---: | --- |"]
    for run in (run for run in runs if run.target == "server"):
        share = run.answered / run.sent if run.sent else 0.0
        p99 = run.p99
        memory_ok = run.peak_memory < run.memory_limit and not run.oom_killed
        # the client sends one every HONEST_EVERY whatever the answers take
        rate = run.answered / run.seconds if run.seconds else 0.0
        rows += [
            f"| honest answered | {run.kind} | {run.count:,} | {share:.1%} | "
            f"≥ 99%: {verdict(share >= ANSWERED_GOAL)} |",
            f"| honest answers a second | {run.kind} | {run.count:,} | {rate:.1f} | "
            f"{1 / HONEST_EVERY:g}, as with no flood: {verdict(rate >= RATE_GOAL)} |",
            f"| honest p99 | {run.kind} | {run.count:,} | {ms(p99)} | "
            f"≤ 100 ms: {verdict(p99 is not None and p99 <= P99_GOAL)} |",
            f"| peak memory, never OOM-killed | {run.kind} | {run.count:,} | "
            f"{run.peak_memory / MIB:.0f} MiB | below the limit: {verdict(memory_ok)} |",
        ]
    return rows


def flood_lines(runs: list[FloodRun]) -> list[str]:
    seconds = max((run.seconds for run in runs), default=0)
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    return [
        HEADING,
        "",
        f"Measured on {date.today().isoformat()} on {machine}, server alone (the host's "
        "network namespace, the compose limits), each target in turn (bench/flood.py). One "
        f"attacker process keeps N connections open to 127.0.0.1, from {len(SOURCES)} other "
        "loopback addresses (from one, its connects wait on the kernel's search for a "
        "free port), and opens again at once any "
        "the server closes: **slow**, each has sent part of a request head and sends one "
        "more header byte a second; **idle**, each is opened and left silent; **body** "
        "(R.U.D.Y.), each has sent a whole `POST /` head declaring a 100,000-byte body and "
        "sends one byte of it a second, reading and dropping any answer, opening again only "
        "when the server closes; **mixed**, a third of each at once. Once every "
        "connection is open (and each slow body has had its answer), an "
        f"honest client sends one `GET /` every {HONEST_EVERY * 1000:.0f} ms on a new "
        f"connection with a {HONEST_TIMEOUT:g} s timeout, for {seconds:g} s. Memory is the "
        "container's cgroup (page cache excluded) at its highest, sampled every 0.2 s. "
        "*Cut* counts the flood's connections the server closed. A target a flood "
        "killed has no rows after that one.",
        "",
        *goal_rows(runs),
        "",
        "| server | flood | N | honest answered | honest p99 | peak memory | restarts | cut |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
        *(run_row(run) for run in runs),
        "",
    ]


def merge(runs: list[FloodRun], table: Path) -> None:
    """Put the flood section into `table`, replacing the one it has, or at its end."""
    section = "\n".join(flood_lines(runs))
    text = table.read_text() if table.exists() else ""
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    table.write_text(text)
