"""python -m bench --start-memory: its section, its goals, and when it reads the memory."""

import time
from pathlib import Path

import pytest

from bench import report
from bench.containers import IDLE_SECONDS, Stack
from bench.report import MIB, Results

PAGE = """# Performance

## Load

a table

## Start, memory, image

| figure | ours |
| --- | ---: |
| memory, idle | 65.5 MiB |

## Builds and layers

kept
"""


def measured(start: float, memory: float) -> Results:
    results = Results([1, 32], 32, 3, 5)
    results.cold_start = {"server": [start, start + 1, start - 0.01], "bare-wsgi": [0.2]}
    results.memory_idle = {"server": round(memory * MIB), "bare-wsgi": 30 * MIB}
    results.image_bytes = {"server": 51_700_000}
    return results


def test_the_section_replaces_its_earlier_self_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "performance.md").write_text(PAGE)
    text = report.merge_start(measured(0.3, 44.4), tmp_path).read_text()
    assert "65.5 MiB" not in text
    assert "| memory, 10 s after start | 44.4 MiB | 30.0 MiB |" in text
    assert "| cold start: `docker start` to first 200 (median) | 0.30 s | 0.20 s |" in text
    assert "## Load\n\na table" in text
    assert text.endswith("## Builds and layers\n\nkept\n")
    # a row nothing measured is left out, not a row of n/a
    assert "connection run" not in text


def test_the_section_names_the_other_base() -> None:
    results = measured(0.3, 44.4)
    results.other_base = "ibdevserver-python:3.11-bookworm"
    assert (
        "The other base is `ibdevserver-python:3.11-bookworm`."
        in report.start_lines(results, "a run")[2]
    )


@pytest.mark.parametrize(
    ("start", "memory", "verdicts"),
    [(0.25, 45.0, ["met", "met"]), (0.26, 45.1, ["**missed**", "**missed**"])],
)
def test_the_goals_are_met_at_or_below_their_figures(
    start: float, memory: float, verdicts: list[str]
) -> None:
    lines = report.start_lines(measured(start, memory), "a run")
    goals = [line for line in lines if line.startswith("Goal")]
    assert [line.rpartition(", ")[2].rstrip(".") for line in goals] == verdicts


def test_memory_is_read_once_the_container_has_idled(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "monotonic", lambda: 103.0)
    monkeypatch.setattr(time, "sleep", slept.append)
    monkeypatch.setattr(Stack, "memory", lambda self, service: 7)
    stack = Stack("server alone", started=100.0)
    assert stack.idle_memory("server") == 7
    assert slept == [IDLE_SECONDS - 3.0]
