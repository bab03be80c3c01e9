"""bench/instructions.py: what valgrind counts is each app answering `GET /`, and the
section it writes lands in performance.md before the chart, replaced on a later run."""

from pathlib import Path

import pytest

from bench import instructions


@pytest.mark.parametrize("target", instructions.TARGETS.values())
def test_each_app_answers_get_as_gunicorn_calls_it(
    target: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    # request() fails unless the app answered 200
    instructions.request(instructions.load(target))


def test_the_section_goes_before_the_chart_and_replaces_its_earlier_self(tmp_path: Path) -> None:
    table = tmp_path / "performance.md"
    table.write_text("# Performance\n\n## Load\n\nrows\n\n![chart](performance.png)\n\n## Flood\n")
    instructions.merge({"ours": 400_000, "minimal Flask app": 350_000}, table)
    instructions.merge({"ours": 420_000, "minimal Flask app": 350_000}, table)
    text = table.read_text()
    assert text.count(instructions.HEADING) == 1
    assert text.index("## Load") < text.index(instructions.HEADING) < text.index("![chart]")
    assert "| ours | 420,000 |" in text
    assert "1.20x, **missed**" in text


def test_the_goal_is_met_at_or_below_its_ratio() -> None:
    lines = instructions.lines({"ours": 115_000, "minimal Flask app": 100_000})
    assert any(line.endswith("1.15x, met.") for line in lines)
